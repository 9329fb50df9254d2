// SHA-256 (FIPS 180-4) of a byte string, as hex: what the converter's get_vocab_base_pre hashes.
#pragma once

#include <string>
#include <string_view>

namespace gguf_squash::convert {

std::string sha256_hex_of(std::string_view bytes);

}  // namespace gguf_squash::convert
