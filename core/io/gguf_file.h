// Reading GGUF headers from files on disk. The rest of the core does no I/O: it parses bytes it
// is given (gguf_reader) and merges headers (merge_gguf_shards). Only the faces (the CLI, the
// tests, tools) link this library; the wasm module reads through its JS host instead.
#pragma once

#include <string>

#include "format/gguf.h"
#include "format/gguf_split.h"
#include "status.h"

namespace gguf_squash {

// Reads a header from a file on disk chunk by chunk, checking tensor data against the file size.
result<gguf_header> read_gguf_header_file(const std::string& path);

// Reads a model from a file: a plain GGUF, or the first shard of a split model (the others are
// found next to it by name).
result<gguf_model> read_gguf_model_file(const std::string& path);

}  // namespace gguf_squash
