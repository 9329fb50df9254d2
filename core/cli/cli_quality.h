// What `gguf-squash quality` and `gguf-squash fit` share: opening a model (a file, or the first
// shard of a split model with the others next to it) for reads by offset.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli_common.h"
#include "format/gguf_split.h"
#include "plan/imatrix.h"
#include "status.h"

namespace gguf_squash::cli {

class model_files {
  public:
    static result<std::unique_ptr<model_files>> open(const std::string& path);
    ~model_files();
    model_files(const model_files&) = delete;
    model_files& operator=(const model_files&) = delete;

    const gguf_model& model() const { return model_; }
    // Reads up to `size` bytes at `offset` of shard `shard`; 0 at the end of the file.
    result<size_t> read(uint32_t shard, uint64_t offset, uint8_t* buf, size_t size) const;

  private:
    model_files() = default;
    gguf_model model_;
    std::vector<std::string> paths_;
    std::vector<int> fds_;
};

}  // namespace gguf_squash::cli
