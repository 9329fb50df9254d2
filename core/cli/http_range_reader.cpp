#include "http_range_reader.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "format/gguf_reader.h"

#ifdef GGUF_SQUASH_HAVE_CURL
#include <curl/curl.h>
#endif

namespace gguf_squash::cli {

bool is_http_url(const std::string& s) {
    return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0;
}

#ifdef GGUF_SQUASH_HAVE_CURL

namespace {

constexpr uint64_t kMaxRangeRead = 64ull << 20;

struct range_response {
    std::vector<uint8_t> body;
    uint64_t want = 0;
    std::optional<uint64_t> total;  // from Content-Range: bytes a-b/TOTAL
    bool partial = false;           // 206
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto* r = static_cast<range_response*>(user);
    const size_t bytes = size * n;
    // A server that ignores Range sends the whole file: keep what was asked for, then stop.
    const size_t room = r->want > r->body.size() ? size_t(r->want - r->body.size()) : 0;
    r->body.insert(r->body.end(), data, data + std::min(bytes, room));
    return bytes <= room ? bytes : 0;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* r = static_cast<range_response*>(user);
    const size_t bytes = size * n;
    std::string line(data, bytes);
    std::string lower = line;
    for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (lower.rfind("http/", 0) == 0) {
        // A new response (after a redirect): forget the previous one's headers.
        r->partial = lower.find(" 206") != std::string::npos;
        r->total.reset();
    } else if (lower.rfind("content-range:", 0) == 0) {
        const size_t slash = line.find('/');
        if (slash != std::string::npos) {
            const std::string total = line.substr(slash + 1);
            char* end = nullptr;
            const unsigned long long v = std::strtoull(total.c_str(), &end, 10);
            if (end != total.c_str()) r->total = v;
        }
    } else if (lower.rfind("content-length:", 0) == 0 && !r->partial) {
        r->total = std::strtoull(line.c_str() + 15, nullptr, 10);
    }
    return bytes;
}

struct curl_handle {
    CURL* curl = nullptr;
    curl_handle() : curl(curl_easy_init()) {}
    ~curl_handle() {
        if (curl) curl_easy_cleanup(curl);
    }
};

// GET bytes [offset, offset + length) of `url`.
result<range_response> get_range(CURL* curl, const std::string& url, uint64_t offset,
                                 uint64_t length, http_read_stats* stats) {
    range_response r;
    r.want = length;
    r.body.reserve(size_t(std::min<uint64_t>(length, 1 << 20)));
    const std::string range = std::to_string(offset) + "-" + std::to_string(offset + length - 1);
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "gguf-squash");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
    const CURLcode rc = curl_easy_perform(curl);
    if (stats) {
        ++stats->requests;
        stats->bytes += r.body.size();
        stats->largest_request = std::max(stats->largest_request, length);
    }
    // A write error after the wanted bytes is our own early stop.
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && r.body.size() == r.want)) {
        long code = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        std::string msg = url + ": " + curl_easy_strerror(rc);
        if (code >= 400) msg += " (HTTP " + std::to_string(code) + ")";
        return make_error(status_code::io_error, msg);
    }
    if (!r.partial && offset != 0) {
        return make_error(status_code::io_error,
                          url + ": the server does not answer Range requests (no 206)");
    }
    return r;
}

result<gguf_header> read_header_url(CURL* curl, const std::string& url, http_read_stats* stats) {
    uint64_t want = kFirstRangeRead;
    result<range_response> first = get_range(curl, url, 0, want, stats);
    if (!first.ok()) return first.error();
    gguf_reader_options opts;
    opts.file_size = first->total;
    gguf_reader reader(opts);
    uint64_t pos = 0;
    std::vector<uint8_t> body = std::move(first->body);
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
        result<range_response> next = get_range(curl, url, pos, want, stats);
        if (!next.ok()) return next.error();
        body = std::move(next->body);
    }
    if (stats) stats->header_bytes += reader.position();
    return reader.take_header();
}

}  // namespace

result<gguf_model> read_gguf_model_url(const std::string& url, http_read_stats* stats) {
    static const bool global_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    if (!global_ok) return make_error(status_code::io_error, "cannot initialise libcurl");
    curl_handle h;
    if (!h.curl) return make_error(status_code::io_error, "cannot initialise libcurl");
    result<gguf_header> first = read_header_url(h.curl, url, stats);
    if (!first.ok()) return first.error();
    result<std::optional<gguf_split_info>> info = read_split_info(*first);
    if (!info.ok()) return info.error();
    std::vector<gguf_header> shards;
    if (!*info || (*info)->count == 1) {
        shards.push_back(std::move(first.value()));
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
            continue;
        }
        result<gguf_header> s =
            read_header_url(h.curl, gguf_split_path(*prefix, i, me.count) + query, stats);
        if (!s.ok()) return s.error();
        shards.push_back(std::move(s.value()));
    }
    return merge_gguf_shards(std::move(shards));
}

#else

result<gguf_model> read_gguf_model_url(const std::string& url, http_read_stats*) {
    return make_error(status_code::unsupported,
                      "this build has no HTTP client (libcurl was not found): " + url);
}

#endif

}  // namespace gguf_squash::cli
