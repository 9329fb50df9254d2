// Reading GGUF headers over HTTP(S) with Range requests (libcurl). Only the header is fetched:
// a small first read, then reads that grow geometrically (at least what the parser asks for), so
// a header of any size arrives in a few requests and at most one read's worth past its end.
// Split models named PREFIX-00001-of-0000N.gguf are followed shard by shard.
#pragma once

#include <cstdint>
#include <string>

#include "format/gguf_split.h"
#include "status.h"

namespace gguf_squash::cli {

bool is_http_url(const std::string& s);

struct http_read_stats {
    int requests = 0;
    uint64_t bytes = 0;            // body bytes received
    uint64_t header_bytes = 0;     // the GGUF headers' sizes (data_offset), summed over shards
    uint64_t largest_request = 0;  // bytes asked for in the largest single request
};

// The first read's size; later reads double (up to 64 MiB) or take what the parser wants.
constexpr uint64_t kFirstRangeRead = 256 * 1024;

// Reads the model's header(s) from `url`; the model is merged as read_gguf_model_file does.
result<gguf_model> read_gguf_model_url(const std::string& url, http_read_stats* stats);

}  // namespace gguf_squash::cli
