#include "imatrix.h"

#include <cmath>
#include <cstring>

#include "format/gguf_reader.h"

namespace gguf_squash {
namespace {

// Little-endian cursor over the legacy file; reads past the end fail without moving.
struct byte_cursor {
    const uint8_t* data;
    size_t size;
    size_t pos = 0;

    size_t remaining() const { return size - pos; }
    bool read_i32(int32_t& v) {
        if (remaining() < 4) return false;
        std::memcpy(&v, data + pos, 4);
        pos += 4;
        return true;
    }
};

std::string until_nul(const char* p, size_t n) {
    size_t len = 0;
    while (len < n && p[len] != 0) ++len;
    return std::string(p, len);
}

result<imatrix_data> parse_legacy(const uint8_t* data, size_t size) {
    byte_cursor in{data, size};
    imatrix_data out;
    int32_t n_entries = 0;
    if (!in.read_i32(n_entries) || n_entries < 1) {
        return make_error(status_code::invalid_file, "imatrix: no data in legacy imatrix file");
    }
    // Raw sums and call counts, normalised below once every entry is read.
    std::map<std::string, std::pair<std::vector<float>, int32_t>> raw;
    for (int32_t i = 0; i < n_entries; ++i) {
        const uint64_t entry_pos = in.pos;
        int32_t len = 0;
        if (!in.read_i32(len) || len < 0 || uint64_t(len) > in.remaining()) {
            return invalid_file_at("imatrix entry " + std::to_string(i + 1) + " name", entry_pos,
                                   "name length past the end of the file");
        }
        std::string name = until_nul(reinterpret_cast<const char*>(data + in.pos), size_t(len));
        in.pos += size_t(len);
        int32_t ncall = 0, nval = 0;
        const uint64_t count_pos = in.pos;
        if (!in.read_i32(ncall) || !in.read_i32(nval) || nval < 1) {
            return invalid_file_at("imatrix entry '" + name + "' value count", count_pos,
                                   "missing or not positive");
        }
        if (uint64_t(nval) * 4 > in.remaining()) {
            return invalid_file_at("imatrix entry '" + name + "' values", in.pos,
                                   std::to_string(nval) + " floats past the end of the file");
        }
        std::vector<float> sums(static_cast<size_t>(nval), 0.0f);
        std::memcpy(sums.data(), data + in.pos, size_t(nval) * 4);
        in.pos += size_t(nval) * 4;
        raw[std::move(name)] = {std::move(sums), ncall};
    }
    // Optional trailer: chunk count, then the dataset name. A short chunk count keeps the bytes
    // that were there (as a stream read into a zeroed int does).
    if (in.remaining() > 0) {
        int32_t n_calls = 0;
        const size_t avail = in.remaining() < 4 ? in.remaining() : 4;
        std::memcpy(&n_calls, data + in.pos, avail);
        in.pos += avail;
        out.chunk_count = n_calls;
        int32_t len = 0;
        if (avail == 4 && in.read_i32(len) && len > 0 && uint64_t(len) <= in.remaining()) {
            out.datasets.push_back(until_nul(reinterpret_cast<const char*>(data + in.pos), len));
        }
    }
    out.is_legacy = true;
    for (auto& [name, entry] : raw) {
        std::vector<float>& e = out.entries[name];
        e = std::move(entry.first);
        const int64_t ncall = entry.second;
        // The legacy sums are (raw / count) * ncall; dividing by ncall in float is what
        // llama-quantize does.
        if (ncall > 0) {
            for (float& v : e) v = v / float(ncall);
        }
    }
    return out;
}

result<imatrix_data> parse_gguf(const uint8_t* data, size_t size) {
    result<gguf_header> hr = read_gguf_header(data, size, size);
    if (!hr.ok()) return hr.error();
    const gguf_header& h = *hr;
    if (h.tensors.empty()) {
        return make_error(status_code::invalid_file, "imatrix: no data in GGUF imatrix file");
    }
    imatrix_data out;
    const gguf_value* datasets = h.find("imatrix.datasets");
    const gguf_value* chunk_count = h.find("imatrix.chunk_count");
    const gguf_value* chunk_size = h.find("imatrix.chunk_size");
    if (datasets && datasets->is_array() && datasets->item_type == gguf_value_type::string) {
        out.datasets = datasets->strings.to_vector();
    }
    out.has_metadata = datasets && chunk_count && chunk_size;
    for (const gguf_value* v : {chunk_count, chunk_size}) {
        if (v && v->type != gguf_value_type::uint32) {
            return make_error(status_code::invalid_file,
                              "imatrix: imatrix.chunk_count and imatrix.chunk_size must be UINT32");
        }
    }
    out.chunk_count = chunk_count ? int32_t(uint32_t(chunk_count->scalar_bits)) : 0;
    out.chunk_size = chunk_size ? int32_t(uint32_t(chunk_size->scalar_bits)) : 0;
    if (!out.has_metadata) {
        return make_error(status_code::invalid_file, "imatrix: missing imatrix metadata");
    }

    struct pair_ref {
        const gguf_tensor_info* sums = nullptr;
        const gguf_tensor_info* counts = nullptr;
    };
    std::map<std::string, pair_ref> pairs;
    auto strip = [](const std::string& name, const char* suffix, std::string& base) {
        const size_t n = std::strlen(suffix);
        if (name.size() < n || name.compare(name.size() - n, n, suffix) != 0) return false;
        base = name.substr(0, name.size() - n);
        return true;
    };
    for (const gguf_tensor_info& t : h.tensors) {
        std::string base;
        if (t.name.empty()) continue;
        if (strip(t.name, ".in_sum2", base)) {
            pairs[base].sums = &t;
        } else if (strip(t.name, ".counts", base)) {
            pairs[base].counts = &t;
        }
    }
    for (const auto& [name, p] : pairs) {
        if (!p.sums || !p.counts) {
            return make_error(status_code::invalid_file,
                              "imatrix: mismatched sums and counts for " + name);
        }
        if (p.sums->type != ggml_type::f32 || p.counts->type != ggml_type::f32) {
            return make_error(status_code::invalid_file,
                              "imatrix: sums and counts for " + name + " must be F32");
        }
        const uint64_t nval = p.sums->n_elements();
        const uint64_t ncounts = p.counts->n_elements();
        // The reader has checked that tensor data lies inside the buffer.
        const uint8_t* sums_bytes = data + h.data_offset + p.sums->offset;
        const uint8_t* counts_bytes = data + h.data_offset + p.counts->offset;
        if (ncounts == 0 || nval == 0) {
            return make_error(status_code::invalid_file, "imatrix: empty entry for " + name);
        }
        std::vector<float> e(nval, 0.0f);
        const uint64_t ne0 = nval / ncounts;
        for (uint64_t j = 0; j < ncounts; ++j) {
            float c = 0;
            std::memcpy(&c, counts_bytes + j * 4, 4);
            // Counts are stored as floats and rounded to integers on load.
            const float count = float(std::isfinite(c) ? std::lround(c) : 0);
            for (uint64_t i = 0; i < ne0; ++i) {
                if (count > 0.0f) {
                    float s = 0;
                    std::memcpy(&s, sums_bytes + (j * ne0 + i) * 4, 4);
                    e[j * ne0 + i] = s / count;
                } else {
                    e[j * ne0 + i] = 1;
                }
            }
        }
        out.entries[name] = std::move(e);
    }
    return out;
}

}  // namespace

result<imatrix_data> parse_imatrix(const uint8_t* data, size_t size) {
    if (size >= 4 && std::memcmp(data, "GGUF", 4) == 0) {
        result<imatrix_data> g = parse_gguf(data, size);
        if (g.ok()) return g;
        // llama.cpp falls back to the legacy reader when the GGUF reader fails; report the GGUF
        // error, which is the meaningful one, if that fails too.
        result<imatrix_data> legacy = parse_legacy(data, size);
        if (legacy.ok()) return legacy;
        return g;
    }
    return parse_legacy(data, size);
}

status filter_imatrix(imatrix_data& imatrix, const std::vector<std::string>& include,
                      const std::vector<std::string>& exclude) {
    if (!include.empty() && !exclude.empty()) {
        return make_error(status_code::invalid_argument,
                          "--include-weights and --exclude-weights cannot be used together");
    }
    for (const std::string& pattern : exclude) {
        for (auto it = imatrix.entries.begin(); it != imatrix.entries.end();) {
            if (it->first.find(pattern) != std::string::npos) {
                it = imatrix.entries.erase(it);
            } else {
                ++it;
            }
        }
    }
    if (!include.empty()) {
        std::map<std::string, std::vector<float>> kept;
        for (const std::string& pattern : include) {
            for (auto& [name, values] : imatrix.entries) {
                if (name.find(pattern) != std::string::npos && !kept.count(name)) {
                    kept.emplace(name, values);
                }
            }
        }
        imatrix.entries = std::move(kept);
    }
    return {};
}

}  // namespace gguf_squash
