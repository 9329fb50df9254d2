#include "http_client.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#ifdef GGUF_SQUASH_HAVE_CURL
#include <curl/curl.h>
#endif

namespace gguf_squash::cli {

std::string hf_token(const std::string& from_flag) {
    if (!from_flag.empty()) return from_flag;
    const char* env = std::getenv("HF_TOKEN");
    return env ? env : "";
}

std::string url_origin(const std::string& url) {
    const size_t scheme = url.find("://");
    if (scheme == std::string::npos) return "";
    size_t end = url.find_first_of("/?#", scheme + 3);
    if (end == std::string::npos) end = url.size();
    std::string o = url.substr(0, end);
    for (char& c : o) c = char(std::tolower(static_cast<unsigned char>(c)));
    // Userinfo is not part of the origin.
    const size_t at = o.find('@', scheme + 3);
    if (at != std::string::npos) o = o.substr(0, scheme + 3) + o.substr(at + 1);
    return o;
}

std::string url_file_name(const std::string& url) {
    std::string path = url.substr(0, url.find_first_of("?#"));
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

#ifdef GGUF_SQUASH_HAVE_CURL

namespace {

struct curl_global {
    bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
};

bool curl_ready() {
    static const curl_global g;
    return g.ok;
}

long stall_seconds() {
    const char* env = std::getenv("GGUF_SQUASH_HTTP_STALL_SECONDS");
    const long v = env ? std::strtol(env, nullptr, 10) : 0;
    return v > 0 ? v : kStallSeconds;
}

std::string lower(std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string trim(const std::string& s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}

// One HTTP exchange (one hop of a redirect chain).
struct exchange {
    long code = 0;
    std::string location;
    std::string etag, last_modified, content_type;
    std::optional<uint64_t> content_length;
    std::optional<uint64_t> range_start, range_total;  // Content-Range: bytes a-b/total
    bool headers_done = false;
    // Set once the headers are checked: what to do with the body.
    bool deliver = false;
    std::optional<status> refusal;  // the headers said stop (changed file, ignored Range)
    const http_sink* sink = nullptr;
    uint64_t want = 0;       // bytes still wanted
    uint64_t delivered = 0;  // bytes given to the sink
    bool sink_stopped = false;
    std::function<void(exchange&)> on_headers;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* x = static_cast<exchange*>(user);
    const size_t bytes = size * n;
    const std::string line(data, bytes);
    const std::string l = lower(line);
    if (l.rfind("http/", 0) == 0) {
        const size_t sp = l.find(' ');
        x->code = sp == std::string::npos ? 0 : std::strtol(l.c_str() + sp + 1, nullptr, 10);
        return bytes;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos) {
        if (trim(line).empty() && !x->headers_done) {
            x->headers_done = true;
            if (x->on_headers) x->on_headers(*x);
        }
        return bytes;
    }
    const std::string key = l.substr(0, colon);
    const std::string value = trim(line.substr(colon + 1));
    if (key == "location") {
        x->location = value;
    } else if (key == "etag") {
        x->etag = value;
    } else if (key == "last-modified") {
        x->last_modified = value;
    } else if (key == "content-type") {
        x->content_type = lower(value);
    } else if (key == "content-length") {
        x->content_length = std::strtoull(value.c_str(), nullptr, 10);
    } else if (key == "content-range") {
        // bytes a-b/total
        const size_t sp = value.find(' ');
        const size_t slash = value.find('/');
        if (sp != std::string::npos)
            x->range_start = std::strtoull(value.c_str() + sp + 1, nullptr, 10);
        if (slash != std::string::npos && value[slash + 1] != '*')
            x->range_total = std::strtoull(value.c_str() + slash + 1, nullptr, 10);
    }
    return bytes;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto* x = static_cast<exchange*>(user);
    const size_t bytes = size * n;
    if (!x->headers_done) {
        x->headers_done = true;
        if (x->on_headers) x->on_headers(*x);
    }
    if (x->refusal) return 0;
    if (!x->deliver) return bytes;  // a redirect's or an error's body: not the file
    const size_t take = size_t(std::min<uint64_t>(bytes, x->want));
    if (take > 0) {
        if (!(*x->sink)(reinterpret_cast<const uint8_t*>(data), take)) {
            x->sink_stopped = true;
            return 0;
        }
        x->want -= take;
        x->delivered += take;
    }
    // Past what was asked for (a server sending more): stop, that is not an error.
    return take == bytes ? bytes : 0;
}

struct curl_handle {
    CURL* curl = curl_easy_init();
    ~curl_handle() {
        if (curl) curl_easy_cleanup(curl);
    }
};

// One resolved HTTP error turned into the user's words.
status http_error(const http_resource& res, long code) {
    if (code == 404 || code == 410) {
        return make_error(status_code::io_error, res.url + ": not found (HTTP " +
                                                     std::to_string(code) + "): check the URL");
    }
    if (code == 401 || code == 403) {
        const std::string why =
            res.token.empty()
                ? "the repository is gated or private: accept its terms on its page and give an "
                  "access token with --hf-token TOKEN or HF_TOKEN"
                : "the token was refused or has no access to this repository (gated or private: "
                  "accept its terms on its page, or check the token)";
        return make_error(status_code::io_error,
                          res.url + ": access denied (HTTP " + std::to_string(code) + "): " + why);
    }
    if (code == 416) {
        return make_error(status_code::io_error,
                          res.url + ": the server refused the byte range asked for (HTTP 416)");
    }
    return make_error(status_code::io_error, res.url + ": HTTP " + std::to_string(code));
}

bool retryable_status(long code) {
    return code >= 500 || code == 429 || code == 408;
}

enum class attempt_kind { done, retry, fail };

struct attempt {
    attempt_kind kind = attempt_kind::done;
    status error;
};

// One try: follows redirects by hand (the token only to the user's origin), reads what it can.
attempt try_range(CURL* curl, http_resource& res, uint64_t offset, uint64_t length,
                  const http_sink& sink, uint64_t& delivered, http_counters* counters) {
    const std::string origin = url_origin(res.url);
    std::string url = res.url;
    const bool to_end = length == UINT64_MAX;
    for (int hop = 0; hop <= 10; ++hop) {
        exchange x;
        x.sink = &sink;
        x.want = length;
        x.on_headers = [&](exchange& e) {
            if (e.code >= 300 && e.code < 400) return;
            if (e.code != 200 && e.code != 206) return;
            // An HTML page is never a model: a login wall, a repo page, a "blob" URL.
            if (e.content_type.rfind("text/html", 0) == 0) {
                e.refusal = make_error(
                    status_code::invalid_file,
                    res.url + ": not a GGUF file: the server sent an HTML page (Content-Type " +
                        e.content_type +
                        "); give the file's download URL (on the Hub: .../resolve/main/FILE.gguf)");
                return;
            }
            std::optional<uint64_t> total;
            if (e.code == 206) {
                total = e.range_total;
                if (!e.range_start || *e.range_start != offset) {
                    e.refusal = make_error(status_code::io_error,
                                           res.url +
                                               ": the server answered another byte range "
                                               "than the one asked for");
                    return;
                }
            } else {
                total = e.content_length;
                // 200 is the whole file: acceptable only when that is what was asked for.
                const bool whole = offset == 0 && (to_end || (total && *total <= length));
                if (!whole) {
                    e.refusal = make_error(
                        status_code::io_error,
                        res.url +
                            ": the server ignores Range requests (it answered 200 with the "
                            "whole file instead of 206): the file cannot be streamed from it; "
                            "download it and give the local path");
                    return;
                }
            }
            if (!res.validated) {
                res.size = total;
                res.etag = e.etag;
                res.last_modified = e.last_modified;
                res.content_type = e.content_type;
                res.validated = true;
            } else {
                std::string what;
                if (res.etag != e.etag)
                    what = "ETag " + res.etag + " became " + e.etag;
                else if (res.size && total && *res.size != *total)
                    what =
                        "size " + std::to_string(*res.size) + " became " + std::to_string(*total);
                else if (res.last_modified != e.last_modified)
                    what = "Last-Modified " + res.last_modified + " became " + e.last_modified;
                if (!what.empty()) {
                    e.refusal = make_error(status_code::io_error,
                                           res.url +
                                               ": the file changed on the server while it "
                                               "was being read (" +
                                               what + "); nothing was written, start again");
                    return;
                }
            }
            e.deliver = true;
        };
        const uint64_t pos = offset;
        const std::string range =
            to_end ? std::to_string(pos) + "-"
                   : std::to_string(pos) + "-" + std::to_string(pos + length - 1);
        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
        curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, stall_seconds());
        curl_easy_setopt(curl, CURLOPT_USERAGENT, "gguf-squash");
        curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "identity");
        // Bodies handed over in pieces of up to 512 KiB instead of 16 KiB: fewer callbacks, each
        // of which takes the stream's lock (core/cli/url_input.cpp).
        curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, &x);
        curl_slist* headers = nullptr;
        if (!res.token.empty() && url_origin(url) == origin) {
            headers = curl_slist_append(headers, ("Authorization: Bearer " + res.token).c_str());
        }
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        const CURLcode rc = curl_easy_perform(curl);
        curl_slist_free_all(headers);
        delivered += x.delivered;
        if (counters) {
            std::lock_guard<std::mutex> lock(counters->mutex);
            ++counters->requests;
            counters->bytes += x.delivered;
        }
        if (x.refusal) return {attempt_kind::fail, *x.refusal};
        if (x.sink_stopped)
            return {attempt_kind::fail, make_error(status_code::cancelled, "cancelled")};
        if (x.code >= 300 && x.code < 400 && rc == CURLE_OK) {
            char* next = nullptr;
            curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &next);
            if (!next || !*next) {
                return {
                    attempt_kind::fail,
                    make_error(status_code::io_error, res.url + ": HTTP " + std::to_string(x.code) +
                                                          " redirect without a Location")};
            }
            url = next;
            continue;
        }
        if (x.code >= 400) {
            if (retryable_status(x.code)) {
                return {attempt_kind::retry,
                        make_error(status_code::io_error,
                                   res.url + ": HTTP " + std::to_string(x.code))};
            }
            return {attempt_kind::fail, http_error(res, x.code)};
        }
        // Stopped on purpose after the wanted bytes: done.
        if (rc == CURLE_WRITE_ERROR && x.want == 0) return {};
        if (rc == CURLE_OK) {
            if (x.want == 0 || to_end) return {};
            // The server ended the body early: at the end of the file that is the file's end.
            if (res.size && offset + x.delivered >= *res.size) return {};
            return {attempt_kind::retry,
                    make_error(status_code::io_error, res.url + ": the response ended early")};
        }
        std::string msg = res.url + ": " + curl_easy_strerror(rc);
        if (rc == CURLE_OPERATION_TIMEDOUT) {
            msg += " (no data for " + std::to_string(stall_seconds()) + " s)";
        }
        // Name resolution and refused connections are worth a retry too: the same 5 tries.
        return {attempt_kind::retry, make_error(status_code::io_error, msg)};
    }
    return {attempt_kind::fail,
            make_error(status_code::io_error, res.url + ": too many redirects")};
}

}  // namespace

result<uint64_t> http_read_range(http_resource& res, uint64_t offset, uint64_t length,
                                 const http_sink& sink, http_counters* counters) {
    if (!curl_ready()) return make_error(status_code::io_error, "cannot initialise libcurl");
    // One handle per thread, kept: its connections stay open for the thread's next range (a
    // stream's download thread reads a shard range after range from the same hosts).
    thread_local curl_handle h;
    if (!h.curl) return make_error(status_code::io_error, "cannot initialise libcurl");
    uint64_t done = 0;
    if (res.size && offset >= *res.size) return uint64_t(0);
    if (res.size && length != UINT64_MAX) length = std::min(length, *res.size - offset);
    if (length == 0) return uint64_t(0);
    status last;
    for (int tries = 0; tries < kMaxTries; ++tries) {
        if (tries > 0) {
            // Backoff: 0.25, 0.5, 1, 2 s.
            std::this_thread::sleep_for(std::chrono::milliseconds(250 << (tries - 1)));
        }
        uint64_t got = 0;
        const uint64_t left = length == UINT64_MAX ? UINT64_MAX : length - done;
        attempt a = try_range(h.curl, res, offset + done, left, sink, got, counters);
        done += got;
        if (a.kind == attempt_kind::done) return done;
        if (a.kind == attempt_kind::fail) return a.error;
        last = a.error;
        if (length != UINT64_MAX && done >= length) return done;
    }
    return make_error(status_code::io_error,
                      last.message() + " (gave up after " + std::to_string(kMaxTries) + " tries)");
}

result<std::vector<uint8_t>> http_read_all(http_resource& res, http_counters* counters) {
    std::vector<uint8_t> bytes;
    constexpr uint64_t kMaxAll = 4ull << 30;
    result<uint64_t> n = http_read_range(
        res, 0, UINT64_MAX,
        [&](const uint8_t* d, size_t size) {
            if (bytes.size() + size > kMaxAll) return false;
            bytes.insert(bytes.end(), d, d + size);
            return true;
        },
        counters);
    if (!n.ok()) return n.error();
    return bytes;
}

#else

result<uint64_t> http_read_range(http_resource& res, uint64_t, uint64_t, const http_sink&,
                                 http_counters*) {
    return make_error(status_code::unsupported,
                      "this build has no HTTP client (libcurl was not found): " + res.url);
}

result<std::vector<uint8_t>> http_read_all(http_resource& res, http_counters*) {
    return make_error(status_code::unsupported,
                      "this build has no HTTP client (libcurl was not found): " + res.url);
}

#endif

}  // namespace gguf_squash::cli
