// What the subcommands share: their error lines ("gguf-squash CMD: message" on one line, exit 1;
// usage errors also print the usage, exit 2) and loading an --imatrix file.
#pragma once

#include <cstdio>
#include <string>

#include "plan/imatrix.h"
#include "status.h"

namespace gguf_squash::cli {

// Replaces line breaks, so that a message quoting names from a file stays on one line.
std::string single_line(std::string s);

// Prints "gguf-squash COMMAND: MESSAGE" and the command's usage to stderr; returns 2.
int usage_error(const char* command, const std::string& message, void (*print_usage)(FILE*));

// Prints "gguf-squash COMMAND: MESSAGE" (on one line) to stderr; returns 1.
int report_error(const char* command, const std::string& message);

// Reads and parses an imatrix file (.gguf or legacy .dat); errors name the file.
result<imatrix_data> load_imatrix_file(const std::string& path);

// Loads `path` (when given) into `storage` and points the options at it, with the name recorded
// as typed, as llama-quantize does. Returns 0, or 1 after reporting the error.
template <class Options>
int apply_imatrix_option(const char* command, const std::string& path, imatrix_data& storage,
                         Options& opts) {
    if (path.empty()) return 0;
    result<imatrix_data> im = load_imatrix_file(path);
    if (!im.ok()) return report_error(command, im.error().message());
    storage = std::move(*im);
    opts.imatrix = &storage;
    opts.imatrix_name = path;
    return 0;
}

}  // namespace gguf_squash::cli
