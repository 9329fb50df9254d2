#include "gguf_file.h"

#include <cstdio>
#include <memory>
#include <vector>

#include "format/gguf_reader.h"

namespace gguf_squash {

result<gguf_header> read_gguf_header_file(const std::string& path) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f) return make_error(status_code::io_error, "cannot open '" + path + "'");
    // fseeko/ftello: off_t is 64-bit on both targets, long is 32-bit in wasm.
    if (::fseeko(f.get(), 0, SEEK_END) != 0)
        return make_error(status_code::io_error, "cannot seek in '" + path + "'");
    const long long end = ::ftello(f.get());
    if (end < 0) return make_error(status_code::io_error, "cannot size '" + path + "'");
    ::fseeko(f.get(), 0, SEEK_SET);
    gguf_reader_options opts;
    opts.file_size = uint64_t(end);
    gguf_reader reader(opts);
    std::vector<uint8_t> buf(1 << 16);
    while (!reader.finished()) {
        const size_t n = std::fread(buf.data(), 1, buf.size(), f.get());
        if (n == 0) return reader.end_of_input();
        input_span in{buf.data(), n, 0};
        result<size_t> r = reader.feed(in);
        if (!r.ok()) return r.error();
    }
    return reader.take_header();
}

result<gguf_model> read_gguf_model_file(const std::string& path) {
    result<gguf_header> first = read_gguf_header_file(path);
    if (!first.ok()) return first.error();
    result<std::optional<gguf_split_info>> info = read_split_info(*first);
    if (!info.ok()) return info.error();
    std::vector<gguf_header> shards;
    if (!*info || (*info)->count == 1) {
        shards.push_back(std::move(first.value()));
        return merge_gguf_shards(std::move(shards));
    }
    const gguf_split_info& me = **info;
    const std::optional<std::string> prefix = gguf_split_prefix(path, me.no, me.count);
    if (!prefix)
        return make_error(status_code::invalid_file,
                          "split model: '" + path + "' is shard " + std::to_string(me.no + 1) +
                              " of " + std::to_string(me.count) + " but is not named " +
                              gguf_split_path("PREFIX", me.no, me.count));
    for (uint32_t i = 0; i < me.count; ++i) {
        if (i == me.no) {
            shards.push_back(std::move(first.value()));
            continue;
        }
        const std::string shard_path = gguf_split_path(*prefix, i, me.count);
        result<gguf_header> h = read_gguf_header_file(shard_path);
        if (!h.ok()) return status(h.error().code(), shard_path + ": " + h.error().message());
        shards.push_back(std::move(h.value()));
    }
    return merge_gguf_shards(std::move(shards));
}

}  // namespace gguf_squash
