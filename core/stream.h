// Caller-owned buffers for the streaming APIs, in the shape zstd made familiar: a call reads from
// `in` starting at in.pos and advances in.pos by what it consumed; it writes into `out` starting
// at out.pos and advances out.pos by what it produced. Partial consumption is normal.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gguf_squash {

struct input_span {
    const uint8_t* data = nullptr;
    size_t size = 0;
    size_t pos = 0;
    size_t remaining() const { return size - pos; }
};

struct output_span {
    uint8_t* data = nullptr;
    size_t size = 0;
    size_t pos = 0;
    size_t remaining() const { return size - pos; }
};

}  // namespace gguf_squash
