// gguf-squash estimate: being written.
#include <cstdio>

#include "commands.h"

namespace gguf_squash::cli {

int run_estimate(int argc, char** argv) {
    std::fprintf(stderr, "gguf-squash estimate: not implemented yet\n");
    return 2;
}

}  // namespace gguf_squash::cli
