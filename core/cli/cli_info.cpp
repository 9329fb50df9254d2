// gguf-squash info FILE... [--json]: each file's header, metadata and tensors, as text or as one
// JSON object per file (one per line). Exit 0 when every file read, 1 when any was invalid or
// unreadable (one line on stderr each), 2 for a usage error.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#include "estimate/gguf_info_text.h"
#include "format/gguf_json.h"
#include "format/gguf_reader.h"
#include "hf_folder.h"
#include "hf_repo.h"
#include "http_client.h"
#include "io/gguf_file.h"

namespace gguf_squash::cli {
namespace {

void print_info_usage(FILE* out) {
    std::fprintf(out,
                 "usage: gguf-squash info FILE... [--json]\n"
                 "  Shows each GGUF file's version, alignment, metadata and tensors.\n"
                 "  --json  one JSON object per file, one per line\n");
}

}  // namespace

int run_info(int argc, char** argv) {
    bool json = false;
    std::vector<std::string> files;
    bool options_done = false;
    for (int i = 1; i < argc; ++i) {
        const char* a = argv[i];
        if (!options_done && a[0] == '-' && a[1] != '\0') {
            if (!std::strcmp(a, "--json")) {
                json = true;
            } else if (!std::strcmp(a, "-h") || !std::strcmp(a, "--help")) {
                print_info_usage(stdout);
                return 0;
            } else if (!std::strcmp(a, "--")) {
                options_done = true;
            } else {
                std::fprintf(stderr, "gguf-squash info: unknown option '%s'\n", a);
                print_info_usage(stderr);
                return 2;
            }
            continue;
        }
        files.emplace_back(a);
    }
    if (files.empty()) {
        std::fprintf(stderr, "gguf-squash info: no input file\n");
        print_info_usage(stderr);
        return 2;
    }

    int exit_status = 0;
    for (size_t i = 0; i < files.size(); ++i) {
        const std::string& path = files[i];
        // A checkpoint folder: the GGUF `convert` would write for it (hf_folder.h).
        result<gguf_header> h = is_checkpoint_input(path)
                                    ? read_checkpoint_gguf_header(path, hf_token(""))
                                    : read_gguf_header_file(path);
        if (!h.ok()) {
            std::fflush(stdout);
            std::fprintf(stderr, "gguf-squash info: %s: %s\n", path.c_str(),
                         single_line(h.error().message()).c_str());
            exit_status = 1;
            continue;
        }
        std::string out;
        if (json) {
            out = gguf_header_to_json(*h);
            out += '\n';
        } else {
            if (i) out += '\n';
            out += path + ":\n";
            out += gguf_header_to_text(*h);
        }
        std::fwrite(out.data(), 1, out.size(), stdout);
    }
    if (std::fflush(stdout) != 0) return 1;
    return exit_status;
}

}  // namespace gguf_squash::cli
