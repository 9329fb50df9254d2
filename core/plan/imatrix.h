// Importance matrices, as llama-quantize loads them: the GGUF format written by llama-imatrix
// (tensors NAME.in_sum2 and NAME.counts, keys imatrix.datasets / chunk_count / chunk_size) and
// the legacy .dat format. Values are normalised on load exactly as llama-quantize does, so
// `entries` holds what the quantizer receives: ne[0] floats per expert, experts back to back.
//
// Parsing works on a buffer (imatrix files are small next to models); no file I/O here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "status.h"

namespace gguf_squash {

struct imatrix_data {
    std::map<std::string, std::vector<float>> entries;
    std::vector<std::string> datasets;
    int32_t chunk_count = 0;
    int32_t chunk_size = 0;
    bool is_legacy = false;
    bool has_metadata = false;  // GGUF format: the three imatrix.* keys are present

    bool empty() const { return entries.empty(); }
};

// Parses either format (GGUF when the buffer starts with the GGUF magic, else legacy). Every
// count and length is checked against the bytes present. A GGUF imatrix without its metadata
// keys is refused, as llama-quantize does.
result<imatrix_data> parse_imatrix(const uint8_t* data, size_t size);

// llama-quantize's --include-weights / --exclude-weights: substring matches on entry names.
// Exclusion removes matching entries; inclusion keeps only matching ones. Not both at once.
status filter_imatrix(imatrix_data& imatrix, const std::vector<std::string>& include,
                      const std::vector<std::string>& exclude);

}  // namespace gguf_squash
