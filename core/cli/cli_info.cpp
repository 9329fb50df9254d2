// gguf-squash info: being written.
#include <cstdio>

#include "commands.h"

namespace gguf_squash::cli {

int run_info(int argc, char** argv) {
    std::fprintf(stderr, "gguf-squash info: not implemented yet\n");
    return 2;
}

}  // namespace gguf_squash::cli
