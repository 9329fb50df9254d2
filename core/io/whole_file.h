// Reading a small file (an imatrix, a --tensor-type-file) into memory in one go. Model files are
// never read this way: they stream through gguf_file and the pipeline.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace gguf_squash {

// The file's bytes; errors are status_code::io_error naming the path and the reason.
result<std::vector<uint8_t>> read_whole_file(const std::string& path);

}  // namespace gguf_squash
