// Range reads over HTTP(S) (libcurl) that survive a flaky network and refuse a changed file.
//
// - Redirects are followed by hand so that the token (Authorization: Bearer) goes only to the
//   origin the user named, never to the CDN the Hub redirects to.
// - A dropped connection, a stall (no byte for kStallSeconds, GGUF_SQUASH_HTTP_STALL_SECONDS
//   overrides it for tests) or a 5xx resumes from the last byte received, with backoff, up to
//   kMaxTries per range: no byte is lost or delivered twice.
// - The first response's ETag, Last-Modified and total size are remembered; a later response
//   that differs stops the read with an error (the file changed on the server).
// - 404, 401/403, a server that ignores Range and an HTML page each give their own message.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "status.h"

namespace gguf_squash::cli {

constexpr int kMaxTries = 5;
constexpr long kStallSeconds = 30;

struct http_counters {
    std::mutex mutex;
    int requests = 0;
    uint64_t bytes = 0;  // body bytes received
};

// One remote file, as named by the user, and what its first response said about it.
struct http_resource {
    std::string url;
    std::string token;  // sent as Authorization: Bearer to url's origin only
    std::optional<uint64_t> size;
    std::string etag;
    std::string last_modified;
    std::string content_type;
    bool validated = false;  // the fields above hold the first response's
};

// The token from --hf-token or, if empty, HF_TOKEN.
std::string hf_token(const std::string& from_flag);

// scheme://host[:port] of a URL, lower-cased.
std::string url_origin(const std::string& url);

// The URL path's last segment without the query string ("m.imatrix" of .../m.imatrix?x=1).
std::string url_file_name(const std::string& url);

// Receives bytes in order; returns false to stop (the read then returns status cancelled).
using http_sink = std::function<bool(const uint8_t* data, size_t size)>;

// Reads bytes [offset, offset + length) of `res` into `sink`; length UINT64_MAX reads to the end.
// Returns the count delivered (less than length only at the end of the file).
result<uint64_t> http_read_range(http_resource& res, uint64_t offset, uint64_t length,
                                 const http_sink& sink, http_counters* counters);

// The whole file (an imatrix: small next to a model).
result<std::vector<uint8_t>> http_read_all(http_resource& res, http_counters* counters);

}  // namespace gguf_squash::cli
