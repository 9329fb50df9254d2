// libFuzzer target for the streaming GGUF reader. The first bytes of the input choose the chunk
// sizes the file is fed in, so that bugs that depend on where a field is split surface too. The
// same bytes are also parsed in one piece, and both parses must agree. Accepted headers go through
// the writer, the JSON and text formatters of `info`, and the split-key reader.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "estimate/gguf_info_text.h"
#include "format/gguf_json.h"
#include "format/gguf_reader.h"
#include "format/gguf_split.h"
#include "format/gguf_writer.h"

using namespace gguf_squash;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const uint8_t chunk_seed = data[0];
    const bool known_size = data[1] & 1;
    data += 2;
    size -= 2;

    // Whole-buffer parse.
    result<gguf_header> whole = read_gguf_header(data, size);

    // Chunked parse with sizes drawn from the seed (1..64 bytes, or large).
    gguf_reader_options opts;
    if (known_size) opts.file_size = size;
    gguf_reader reader(opts);
    uint32_t state = chunk_seed * 2654435761u + 1;
    size_t pos = 0;
    bool failed = false;
    while (pos < size && !reader.finished()) {
        state = state * 1103515245u + 12345u;
        size_t n = (state >> 16) % 8 == 0 ? 4096 : 1 + (state >> 16) % 64;
        if (n > size - pos) n = size - pos;
        input_span in{data + pos, n, 0};
        result<size_t> r = reader.feed(in);
        pos += in.pos;
        if (!r.ok()) {
            failed = true;
            break;
        }
        if (in.pos < n && !reader.finished()) std::abort();  // must consume everything it is given
    }
    if (known_size) {
        // With the file size known, both parses see the same facts and must agree.
        const bool chunked_ok = !failed && reader.finished();
        if (chunked_ok != whole.ok()) std::abort();
        if (chunked_ok) {
            const gguf_header& a = reader.header();
            const gguf_header& b = whole.value();
            if (a.kv.size() != b.kv.size() || a.tensors.size() != b.tensors.size() ||
                a.data_offset != b.data_offset)
                std::abort();
            // Anything we accept, we can write back.
            gguf_encode_options eo;
            eo.keep_stored_n_dims = true;
            (void)encode_gguf_header(b, eo);
            // What `info` prints for an accepted hostile header (names, strings with invalid
            // UTF-8, NaN floats, nested arrays) and the split keys it reads.
            const std::string json = gguf_header_to_json(b);
            if (json.empty() || json.front() != '{' || json.back() != '}') std::abort();
            (void)gguf_header_to_text(b);
            (void)read_split_info(b);
        }
    }
    return 0;
}
