// llama-gqa.gguf cut into gguf-split shards in memory, for the split tests: the format layer's
// split writer plans the headers (split.* keys, offsets) and the tensors' bytes are copied from
// the model, each padded, in the input file's order (as gguf-split writes them).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "format/gguf_reader.h"
#include "format/gguf_split.h"
#include "format/gguf_writer.h"
#include "pipeline_reference.h"

namespace gguf_squash::test_support {

inline const std::vector<uint8_t>& llama_gqa_bytes() {
    static const std::vector<uint8_t> b = read_all(models_dir() + "/llama-gqa.gguf");
    return b;
}

// Each shard's whole file, for `shard_of_tensor` over llama-gqa.gguf's tensors in file order.
inline std::vector<std::vector<uint8_t>> llama_gqa_shard_files(
    const std::vector<uint32_t>& shard_of_tensor) {
    std::vector<std::vector<uint8_t>> files;
    const gguf_header& input = reference_input_header();
    const std::vector<uint8_t>& in = llama_gqa_bytes();
    result<std::vector<gguf_header>> headers = split_gguf_header(input, shard_of_tensor);
    if (!headers.ok()) return files;
    for (const gguf_header& h : *headers) {
        result<std::vector<uint8_t>> bytes = encode_gguf_header(h);
        if (!bytes.ok()) return {};
        std::vector<uint8_t> file = std::move(bytes.value());
        for (const gguf_tensor_info& t : h.tensors) {
            const int64_t i = input.find_tensor(t.name);
            if (i < 0) return {};
            const uint8_t* data = in.data() + input.data_offset + input.tensors[size_t(i)].offset;
            file.insert(file.end(), data, data + t.nbytes());
            file.insert(file.end(), size_t(tensor_padding(t.nbytes(), h.alignment)), 0);
        }
        files.push_back(std::move(file));
    }
    return files;
}

// Writes the shards as PREFIX-0000K-of-0000N.gguf; returns the paths (empty on failure).
inline std::vector<std::string> write_llama_gqa_shards(const std::vector<uint32_t>& shard_of_tensor,
                                                       const std::string& prefix) {
    std::vector<std::string> paths;
    const std::vector<std::vector<uint8_t>> files = llama_gqa_shard_files(shard_of_tensor);
    for (size_t s = 0; s < files.size(); ++s) {
        const std::string path = gguf_split_path(prefix, uint32_t(s), uint32_t(files.size()));
        FILE* f = std::fopen(path.c_str(), "wb");
        if (!f) return {};
        const bool ok = std::fwrite(files[s].data(), 1, files[s].size(), f) == files[s].size();
        if (std::fclose(f) != 0 || !ok) return {};
        paths.push_back(path);
    }
    return paths;
}

}  // namespace gguf_squash::test_support
