#include "whole_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace gguf_squash {

result<std::vector<uint8_t>> read_whole_file(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return make_error(status_code::io_error, path + ": " + std::strerror(errno));
    std::vector<uint8_t> bytes;
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.insert(bytes.end(), buf, buf + n);
    const bool bad = std::ferror(f);
    std::fclose(f);
    if (bad) return make_error(status_code::io_error, path + ": read error");
    return bytes;
}

}  // namespace gguf_squash
