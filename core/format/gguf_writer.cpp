#include "gguf_writer.h"

#include <cstring>
#include <string>

namespace gguf_squash {
namespace {

// One encoder serves both sizing and writing: with `out` null it only counts.
class byte_sink {
  public:
    explicit byte_sink(std::vector<uint8_t>* out) : out_(out) {}
    void bytes(const void* p, size_t n) {
        if (out_) {
            const uint8_t* b = static_cast<const uint8_t*>(p);
            out_->insert(out_->end(), b, b + n);
        }
        size_ += n;
    }
    void u32(uint32_t v) { bytes(&v, 4); }  // GGUF is little-endian, and so are both targets
    void u64(uint64_t v) { bytes(&v, 8); }
    void str(std::string_view s) {
        u64(s.size());
        bytes(s.data(), s.size());
    }
    void zeros(uint64_t n) {
        if (out_) out_->insert(out_->end(), size_t(n), uint8_t(0));
        size_ += n;
    }
    uint64_t size() const { return size_; }

  private:
    std::vector<uint8_t>* out_;
    uint64_t size_ = 0;
};

status encode_value_payload(const gguf_value& v, const std::string& key, byte_sink& sink);

status encode_array_body(const gguf_value& v, const std::string& key, byte_sink& sink) {
    if (uint32_t(v.item_type) >= kGgufValueTypeCount)
        return make_error(
            status_code::invalid_argument,
            "key '" + key + "': unknown array item type " + std::to_string(uint32_t(v.item_type)));
    sink.u32(uint32_t(v.item_type));
    sink.u64(v.count);
    if (v.item_type == gguf_value_type::string) {
        if (v.strings.size() != v.count)
            return make_error(status_code::invalid_argument,
                              "key '" + key + "': array count does not match its strings");
        for (std::string_view s : v.strings) sink.str(s);
    } else if (v.item_type == gguf_value_type::array) {
        if (v.arrays.size() != v.count)
            return make_error(status_code::invalid_argument,
                              "key '" + key + "': array count does not match its nested arrays");
        for (const gguf_value& child : v.arrays)
            GS_RETURN_IF_ERROR(encode_array_body(child, key, sink));
    } else {
        const uint64_t item = gguf_value_type_size(v.item_type);
        if (v.raw_items.size() / item != v.count || v.raw_items.size() % item != 0)
            return make_error(status_code::invalid_argument,
                              "key '" + key + "': array count does not match its bytes");
        sink.bytes(v.raw_items.data(), v.raw_items.size());
    }
    return {};
}

status encode_value_payload(const gguf_value& v, const std::string& key, byte_sink& sink) {
    if (uint32_t(v.type) >= kGgufValueTypeCount)
        return make_error(status_code::invalid_argument, "key '" + key + "': unknown value type " +
                                                             std::to_string(uint32_t(v.type)));
    sink.u32(uint32_t(v.type));
    if (v.type == gguf_value_type::string) {
        sink.str(v.str);
    } else if (v.type == gguf_value_type::array) {
        GS_RETURN_IF_ERROR(encode_array_body(v, key, sink));
    } else {
        // scalar_bits holds the value's little-endian bytes, zero-extended.
        sink.bytes(&v.scalar_bits, gguf_value_type_size(v.type));
    }
    return {};
}

status check_alignment(const gguf_header& h, const gguf_encode_options& options) {
    const uint64_t a = h.alignment;
    if (a == 0 || (a & (a - 1)) != 0)
        return make_error(status_code::invalid_argument,
                          "alignment " + std::to_string(a) + " is not a power of two");
    const gguf_value* kv = h.find("general.alignment");
    if (kv) {
        if (kv->type != gguf_value_type::uint32)
            return make_error(status_code::invalid_argument, "general.alignment must be UINT32");
        const uint64_t k = kv->as_u64();
        if (options.alignment_key_as_data) {
            if (k == 0 || (k & (k - 1)) != 0)
                return make_error(status_code::invalid_argument,
                                  "general.alignment must be power of 2");
            return {};
        }
        if (k != a)
            return make_error(status_code::invalid_argument,
                              "general.alignment " + std::to_string(kv->as_u64()) +
                                  " differs from the header's alignment " + std::to_string(a));
    } else if (a != kDefaultAlignment) {
        return make_error(status_code::invalid_argument,
                          "alignment " + std::to_string(a) +
                              " needs a general.alignment key, or readers assume 32");
    }
    return {};
}

status encode(const gguf_header& h, const gguf_encode_options& options, byte_sink& sink) {
    GS_RETURN_IF_ERROR(check_alignment(h, options));
    sink.bytes("GGUF", 4);
    sink.u32(h.version);
    sink.u64(h.tensors.size());
    sink.u64(h.kv.size());
    for (const gguf_kv& kv : h.kv) {
        sink.str(kv.key);
        GS_RETURN_IF_ERROR(encode_value_payload(kv.value, kv.key, sink));
    }
    for (const gguf_tensor_info& t : h.tensors) {
        if (!is_valid_type_id(uint32_t(t.type)))
            return make_error(
                status_code::invalid_argument,
                "tensor '" + t.name + "': invalid type " + std::to_string(uint32_t(t.type)));
        const uint32_t n_dims = options.keep_stored_n_dims ? t.n_dims : written_n_dims(t);
        if (n_dims == 0 || n_dims > kMaxTensorDims)
            return make_error(status_code::invalid_argument,
                              "tensor '" + t.name + "': n_dims " + std::to_string(n_dims));
        sink.str(t.name);
        sink.u32(n_dims);
        for (uint32_t d = 0; d < n_dims; ++d) sink.u64(t.ne[d]);
        sink.u32(uint32_t(t.type));
        sink.u64(t.offset);
    }
    if (!h.tensors.empty() || options.pad_without_tensors)
        sink.zeros(align_up(sink.size(), h.alignment) - sink.size());
    return {};
}

}  // namespace

void assign_tensor_offsets(gguf_header& header) {
    uint64_t offset = 0;
    for (gguf_tensor_info& t : header.tensors) {
        t.offset = offset;
        offset += align_up(t.nbytes(), header.alignment);
    }
}

uint64_t tensor_padding(uint64_t nbytes, uint64_t alignment) {
    return align_up(nbytes, alignment) - nbytes;
}

uint32_t written_n_dims(const gguf_tensor_info& tensor) {
    for (uint32_t i = kMaxTensorDims - 1; i >= 1; --i)
        if (tensor.ne[i] > 1) return i + 1;
    return 1;
}

result<std::vector<uint8_t>> encode_gguf_header(const gguf_header& header,
                                                const gguf_encode_options& options) {
    const uint64_t size = encoded_header_size(header, options);
    std::vector<uint8_t> out;
    out.reserve(size_t(size));
    byte_sink sink(&out);
    GS_RETURN_IF_ERROR(encode(header, options, sink));
    return out;
}

uint64_t encoded_header_size(const gguf_header& header, const gguf_encode_options& options) {
    byte_sink counter(nullptr);
    if (!encode(header, options, counter).ok()) return 0;
    return counter.size();
}

uint64_t gguf_file_size(const gguf_header& header, const gguf_encode_options& options) {
    uint64_t size = encoded_header_size(header, options);
    for (const gguf_tensor_info& t : header.tensors) size += align_up(t.nbytes(), header.alignment);
    return size;
}

}  // namespace gguf_squash
