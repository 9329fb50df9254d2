#include "http_range_reader.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "format/gguf_reader.h"

namespace gguf_squash::cli {

bool is_http_url(const std::string& s) {
    return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0;
}

namespace {

constexpr uint64_t kMaxRangeRead = 64ull << 20;

// GET bytes [offset, offset + length) of `res` (fewer only at the end of the file).
result<std::vector<uint8_t>> get_range(http_resource& res, uint64_t offset, uint64_t length,
                                       http_read_stats* stats) {
    std::vector<uint8_t> body;
    body.reserve(size_t(std::min<uint64_t>(length, 1 << 20)));
    http_counters counters;
    result<uint64_t> n = http_read_range(
        res, offset, length,
        [&](const uint8_t* d, size_t size) {
            body.insert(body.end(), d, d + size);
            return true;
        },
        &counters);
    if (stats) {
        stats->requests += counters.requests;
        stats->bytes += counters.bytes;
        stats->largest_request = std::max(stats->largest_request, length);
    }
    if (!n.ok()) return n.error();
    return body;
}

result<gguf_header> read_header_url(http_resource& res, http_read_stats* stats,
                                    url_shard_source* source) {
    const std::string& url = res.url;
    uint64_t want = kFirstRangeRead;
    result<std::vector<uint8_t>> first = get_range(res, 0, want, stats);
    if (!first.ok()) return first.error();
    static const char kMagic[4] = {'G', 'G', 'U', 'F'};
    if (first->size() >= 4 && std::memcmp(first->data(), kMagic, 4) != 0) {
        const bool html = !first->empty() && (*first)[0] == '<';
        return make_error(status_code::invalid_file,
                          url + ": not a GGUF file (" +
                              (html ? std::string("the server sent an HTML page")
                                    : std::string("no GGUF magic at byte 0")) +
                              "); give the file's download URL (on the Hub: "
                              ".../resolve/main/FILE.gguf)");
    }
    gguf_reader_options opts;
    opts.file_size = res.size;
    gguf_reader reader(opts);
    uint64_t pos = 0;
    std::vector<uint8_t> body = std::move(first.value());
    for (;;) {
        input_span in{body.data(), body.size(), 0};
        result<size_t> wanted = reader.feed(in);
        if (!wanted.ok())
            return status(wanted.error().code(), url + ": " + wanted.error().message());
        if (reader.finished()) break;
        pos += body.size();
        if (body.size() < want || (opts.file_size && pos >= *opts.file_size)) {
            const status s = reader.end_of_input();
            return status(s.code(), url + ": " + s.message());
        }
        want = std::min(kMaxRangeRead, std::max<uint64_t>(want * 2, *wanted));
        if (opts.file_size) want = std::min(want, *opts.file_size - pos);
        result<std::vector<uint8_t>> next = get_range(res, pos, want, stats);
        if (!next.ok()) return next.error();
        body = std::move(next.value());
    }
    if (stats) stats->header_bytes += reader.position();
    if (source) {
        // The last read's bytes past the header start the data: the stream need not fetch them
        // again.
        source->resource = res;
        source->tail_offset = pos;
        source->tail = std::move(body);
    }
    return reader.take_header();
}

}  // namespace

result<gguf_model> read_gguf_model_url(const std::string& url, http_read_stats* stats,
                                       const std::string& token,
                                       std::vector<url_shard_source>* sources) {
    http_resource first_res;
    first_res.url = url;
    first_res.token = token;
    url_shard_source first_src;
    result<gguf_header> first = read_header_url(first_res, stats, sources ? &first_src : nullptr);
    if (!first.ok()) return first.error();
    result<std::optional<gguf_split_info>> info = read_split_info(*first);
    if (!info.ok()) return info.error();
    std::vector<gguf_header> shards;
    if (sources) sources->clear();
    if (!*info || (*info)->count == 1) {
        shards.push_back(std::move(first.value()));
        if (sources) sources->push_back(std::move(first_src));
        return merge_gguf_shards(std::move(shards));
    }
    const gguf_split_info& me = **info;
    // Query strings (signed URLs) stay after the shard name.
    const size_t q = url.find('?');
    const std::string path = url.substr(0, q);
    const std::string query = q == std::string::npos ? "" : url.substr(q);
    const std::optional<std::string> prefix = gguf_split_prefix(path, me.no, me.count);
    if (!prefix) {
        return make_error(status_code::invalid_file,
                          url + " is shard " + std::to_string(me.no + 1) + " of " +
                              std::to_string(me.count) + " but is not named " +
                              gguf_split_path("PREFIX", me.no, me.count));
    }
    for (uint32_t i = 0; i < me.count; ++i) {
        if (i == me.no) {
            shards.push_back(std::move(first.value()));
            if (sources) sources->push_back(std::move(first_src));
            continue;
        }
        http_resource r;
        r.url = gguf_split_path(*prefix, i, me.count) + query;
        r.token = token;
        url_shard_source src;
        result<gguf_header> s = read_header_url(r, stats, sources ? &src : nullptr);
        if (!s.ok()) return s.error();
        shards.push_back(std::move(s.value()));
        if (sources) sources->push_back(std::move(src));
    }
    return merge_gguf_shards(std::move(shards));
}

}  // namespace gguf_squash::cli
