// Reading GGUF headers over HTTP(S) with Range requests (libcurl). Only the header is fetched:
// a small first read, then reads that grow geometrically (at least what the parser asks for), so
// a header of any size arrives in a few requests and at most one read's worth past its end.
// Split models named PREFIX-00001-of-0000N.gguf are followed shard by shard.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/gguf_split.h"
#include "http_client.h"
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

// One shard as the header read left it: its resource (ETag, size: later reads must match) and the
// last range's bytes, which run past the header into the tensor data.
struct url_shard_source {
    http_resource resource;
    uint64_t tail_offset = 0;
    std::vector<uint8_t> tail;
};

// Reads the model's header(s) from `url`; the model is merged as read_gguf_model_file does.
// `token` goes as Authorization: Bearer to url's origin only; `sources` receives each shard's.
result<gguf_model> read_gguf_model_url(const std::string& url, http_read_stats* stats,
                                       const std::string& token = hf_token(""),
                                       std::vector<url_shard_source>* sources = nullptr);

}  // namespace gguf_squash::cli
