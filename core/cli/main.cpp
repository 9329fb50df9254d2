// gguf-squash: inspect, estimate and quantize GGUF models, byte-identical to llama-quantize.
#include <cstdio>
#include <cstring>

#include "commands.h"
#include "quant/quantize.h"

namespace {

void print_usage(FILE* out) {
    std::fprintf(
        out,
        "usage: gguf-squash <command> [args]\n"
        "\n"
        "commands:\n"
        "  info FILE... [--json]          show a GGUF file's header, metadata and tensors\n"
        "                                 (a checkpoint folder: the GGUF convert would write)\n"
        "  quantize [options] IN [OUT] TYPE [NTHREADS]\n"
        "                                 quantize like llama-quantize (see quantize --help);\n"
        "                                 IN may be a checkpoint folder (converted on the way)\n"
        "  estimate [options] FILE|URL|MODEL_DIR\n"
        "                                 exact output sizes and memory for every type\n"
        "  quality [options] MODEL        measured weight error of every type\n"
        "  fit (--target-size S|--target-bpw X|--memory S) [options] MODEL [-o TYPES.txt]\n"
        "                                 per-tensor types for a size, for llama-quantize\n"
        "  convert [--outtype T] [--outfile OUT] MODEL_DIR\n"
        "                                 safetensors checkpoint to GGUF (docs/CONVERT.md)\n");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const char* cmd = argv[1];
    if (!std::strcmp(cmd, "-h") || !std::strcmp(cmd, "--help") || !std::strcmp(cmd, "help")) {
        print_usage(stdout);
        return 0;
    }
    if (!std::strcmp(cmd, "info")) return gguf_squash::cli::run_info(argc - 1, argv + 1);
    if (!std::strcmp(cmd, "quantize")) {
        // A mistyped or unavailable GGUF_SQUASH_KERNELS is a usage error, not a hint to ignore.
        const gguf_squash::status kernels = gguf_squash::kernel_selection_status();
        if (!kernels.ok()) {
            std::fprintf(stderr, "gguf-squash: %s\n", kernels.message().c_str());
            return 2;
        }
        return gguf_squash::cli::run_quantize(argc - 1, argv + 1);
    }
    if (!std::strcmp(cmd, "estimate")) return gguf_squash::cli::run_estimate(argc - 1, argv + 1);
    if (!std::strcmp(cmd, "quality") || !std::strcmp(cmd, "fit")) {
        const gguf_squash::status kernels = gguf_squash::kernel_selection_status();
        if (!kernels.ok()) {
            std::fprintf(stderr, "gguf-squash: %s\n", kernels.message().c_str());
            return 2;
        }
        return !std::strcmp(cmd, "quality") ? gguf_squash::cli::run_quality(argc - 1, argv + 1)
                                            : gguf_squash::cli::run_fit(argc - 1, argv + 1);
    }
    if (!std::strcmp(cmd, "convert")) return gguf_squash::cli::run_convert(argc - 1, argv + 1);
    std::fprintf(stderr, "gguf-squash: unknown command '%s'\n", cmd);
    print_usage(stderr);
    return 2;
}
