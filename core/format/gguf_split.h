// gguf-split shards: one model stored as several GGUF files NAME-00001-of-00003.gguf, ...
//
// Conventions (llama.cpp's gguf-split tool and llama-quantize --keep-split):
//  - every shard carries split.no (UINT16, 0-based), split.count (UINT16) and
//    split.tensors.count (INT32, the model's total tensor count);
//  - only the first shard carries the model's metadata; the others hold just the split keys, so
//    they use the default alignment (32);
//  - each shard is a complete GGUF file with its own data section and offsets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gguf.h"
#include "status.h"

namespace gguf_squash {

inline constexpr const char* kSplitNoKey = "split.no";
inline constexpr const char* kSplitCountKey = "split.count";
inline constexpr const char* kSplitTensorsCountKey = "split.tensors.count";

struct gguf_split_info {
    uint32_t no = 0;
    uint32_t count = 1;
    std::optional<uint64_t> tensors_count;
};

// The split keys of one header; nullopt for a plain (unsplit) file. Refuses inconsistent keys.
result<std::optional<gguf_split_info>> read_split_info(const gguf_header& header);

// "PREFIX-00002-of-00005.gguf" for split_no 1 of 5 (llama_split_path).
std::string gguf_split_path(std::string_view prefix, uint32_t split_no, uint32_t split_count);
// The PREFIX of a shard path, if `path` ends with that shard's suffix (llama_split_prefix).
std::optional<std::string> gguf_split_prefix(std::string_view path, uint32_t split_no,
                                             uint32_t split_count);

struct gguf_model_tensor {
    gguf_tensor_info info;  // offset relative to its shard's data section
    uint32_t shard = 0;     // index into gguf_model::shards (= split.no)
};

// A model read from one or more shards, seen as one.
struct gguf_model {
    std::vector<gguf_header> shards;         // by split.no; shards[0] holds the metadata
    std::vector<gguf_model_tensor> tensors;  // shard 0's tensors, then shard 1's, ...

    const gguf_header& metadata() const { return shards.front(); }
    // Absolute offset of a tensor's data inside its shard file.
    uint64_t data_offset(const gguf_model_tensor& t) const {
        return shards[t.shard].data_offset + t.info.offset;
    }
    int64_t find_tensor(std::string_view name) const;
};

// Merges shard headers (any order) into one model: checks that split.no covers 0..count-1 once
// each, that split.count agrees, that the tensor total matches split.tensors.count and that no
// tensor name repeats across shards. A single header without split keys is a one-shard model.
result<gguf_model> merge_gguf_shards(std::vector<gguf_header> shards);

// Writing shards. `shard_of_tensor[i]` names the shard of tensor i; shards are numbered from 0
// without gaps and tensors keep their order (the indices never decrease). Shard 0 gets the
// model's metadata, every shard gets the split keys appended (or replaced in place), and every
// shard's offsets are assigned. Shard 0 may be empty (gguf-split --no-tensor-first-split);
// the others may not.
result<std::vector<gguf_header>> split_gguf_header(const gguf_header& model,
                                                   const std::vector<uint32_t>& shard_of_tensor);

// gguf-split's plans: at most `max_tensors` tensors per shard (--split-max-tensors), or at most
// `max_bytes` of 32-padded tensor data per shard (--split-max-size).
std::vector<uint32_t> shards_by_tensor_count(const gguf_header& model, uint32_t max_tensors);
std::vector<uint32_t> shards_by_size(const gguf_header& model, uint64_t max_bytes);

}  // namespace gguf_squash
