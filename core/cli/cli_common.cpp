#include "cli_common.h"

#include <vector>

#include "io/whole_file.h"

namespace gguf_squash::cli {

std::string single_line(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}

int usage_error(const char* command, const std::string& message, void (*print_usage)(FILE*)) {
    std::fprintf(stderr, "gguf-squash %s: %s\n", command, message.c_str());
    print_usage(stderr);
    return 2;
}

int report_error(const char* command, const std::string& message) {
    std::fprintf(stderr, "gguf-squash %s: %s\n", command, single_line(message).c_str());
    return 1;
}

result<imatrix_data> load_imatrix_file(const std::string& path) {
    result<std::vector<uint8_t>> bytes = read_whole_file(path);
    if (!bytes.ok()) return bytes.error();
    result<imatrix_data> im = parse_imatrix(bytes->data(), bytes->size());
    if (!im.ok()) return make_error(im.error().code(), path + ": " + im.error().message());
    return im;
}

}  // namespace gguf_squash::cli
