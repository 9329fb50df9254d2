// The human-readable summary `gguf-squash info` prints (and the web page can show): version,
// alignment, counts, the interesting metadata, every key with arrays summarised by length, and a
// tensor table. Shared by the native CLI and wasm so both print the same text.
#pragma once

#include <string>

#include "format/gguf.h"

namespace gguf_squash {

// Ends with a newline. Strings are shown with control characters escaped, invalid UTF-8
// replaced by U+FFFD, and long values cut at 80 bytes.
std::string gguf_header_to_text(const gguf_header& header);

}  // namespace gguf_squash
