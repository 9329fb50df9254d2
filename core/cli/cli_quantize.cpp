// gguf-squash quantize: being written.
#include <cstdio>

#include "commands.h"

namespace gguf_squash::cli {

int run_quantize(int argc, char** argv) {
    std::fprintf(stderr, "gguf-squash quantize: not implemented yet\n");
    return 2;
}

}  // namespace gguf_squash::cli
