// SHA-256 (FIPS 180-4), streaming: what the converter hashes for tokenizer.ggml.pre
// (core/convert/bpe_pre_hash.cpp), and what the tests compare outputs with (the reference hashes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gguf_squash {

class sha256 {
  public:
    sha256() { reset(); }
    void reset();
    void update(const void* data, size_t n);
    // The digest as 64 lower-case hex digits; the object must be reset() before reuse.
    std::string hex();

  private:
    void block(const uint8_t* b);
    uint32_t h_[8];
    uint64_t len_;
    uint8_t buf_[64];
    size_t fill_;
};

std::string sha256_hex(const void* data, size_t n);

}  // namespace gguf_squash
