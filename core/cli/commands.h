// The gguf-squash subcommands. Each returns the process exit status: 0 success, 1 invalid input
// or failure, 2 usage error.
#pragma once

namespace gguf_squash::cli {

int run_info(int argc, char** argv);      // gguf-squash info FILE... [--json]
int run_quantize(int argc, char** argv);  // gguf-squash quantize [options] IN [OUT] TYPE [NTHREADS]
int run_estimate(int argc, char** argv);  // gguf-squash estimate [options] FILE|URL
int run_quality(int argc, char** argv);   // gguf-squash quality [options] MODEL
int run_fit(int argc, char** argv);       // gguf-squash fit TARGET [options] MODEL [-o FILE]
int run_convert(int argc, char** argv);   // gguf-squash convert [options] MODEL_DIR

}  // namespace gguf_squash::cli
