#include "gguf_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace gguf_squash {
namespace {

// Length of the well-formed UTF-8 sequence at s[i] (Unicode table 3-7), or 0 if ill-formed.
size_t utf8_sequence_length(std::string_view s, size_t i) {
    const auto at = [&](size_t k) { return uint8_t(s[i + k]); };
    const uint8_t c = at(0);
    if (c < 0x80) return 1;
    size_t n = 0;
    uint8_t lo = 0x80, hi = 0xbf;  // range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;  // no overlongs
        if (c == 0xed) hi = 0x9f;  // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;  // no overlongs
        if (c == 0xf4) hi = 0x8f;  // nothing past U+10FFFF
    } else {
        return 0;
    }
    if (s.size() - i < n) return 0;
    if (at(1) < lo || at(1) > hi) return 0;
    for (size_t k = 2; k < n; ++k)
        if (at(k) < 0x80 || at(k) > 0xbf) return 0;
    return n;
}

constexpr char kReplacement[] = "\xef\xbf\xbd";  // U+FFFD

template <typename T>
bool reads_back(const char* text, T v) {
    if constexpr (sizeof(T) == 4) {
        return std::strtof(text, nullptr) == v;
    } else {
        return std::strtod(text, nullptr) == v;
    }
}

// The fewest significant digits that read back exactly, written positionally when the decimal
// exponent is in [-4, 16) ("0.0001", "10000") and in exponent form otherwise ("1e-05").
template <typename T>
std::string shortest(T v, int max_digits) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v < 0 ? "-Infinity" : "Infinity";
    char sci[48];
    int digits = max_digits;
    for (int p = 1; p <= max_digits; ++p) {
        std::snprintf(sci, sizeof sci, "%.*e", p - 1, double(v));
        if (reads_back(sci, v)) {
            digits = p;
            break;
        }
    }
    std::snprintf(sci, sizeof sci, "%.*e", digits - 1, double(v));
    const char* e = std::strchr(sci, 'e');
    const int exponent = e ? std::atoi(e + 1) : 0;
    if (exponent >= -4 && exponent < 16) {
        char fixed[48];
        const int decimals = std::max(0, digits - 1 - exponent);
        std::snprintf(fixed, sizeof fixed, "%.*f", decimals, double(v));
        if (reads_back(fixed, v)) return fixed;
    }
    // %g with the same digits gives the exponent form ("1.5e-07").
    std::snprintf(sci, sizeof sci, "%.*g", digits, double(v));
    return sci;
}

// The emitters' output. Emscripten's prebuilt libc++ runs std::string's append and operator+=
// out of line and unoptimised, so many small appends to a std::string were most of a wasm info
// JSON; these appends are inline, and the text becomes a std::string once, at the end.
class json_buffer {
  public:
    json_buffer() : bytes_(4096) {}  // never empty, so data() is never null for memcpy

    void append(const char* p, size_t n) {
        if (n > bytes_.size() - size_) grow(n);
        std::memcpy(bytes_.data() + size_, p, n);
        size_ += n;
    }
    void append(std::string_view s) { append(s.data(), s.size()); }
    void push_back(char c) {
        if (size_ == bytes_.size()) grow(1);
        bytes_[size_++] = c;
    }
    void reserve_more(size_t n) {
        if (n > bytes_.size() - size_) grow(n);
    }
    std::string str() const { return std::string(bytes_.data(), size_); }

  private:
    void grow(size_t n) { bytes_.resize(std::max(size_ + n, 2 * bytes_.size())); }

    std::vector<char> bytes_;
    size_t size_ = 0;
};

// Escapes into either output (json_buffer here, std::string for append_json_string's callers):
// one implementation, instantiated twice.
template <typename Out>
void append_escaped(Out& out, std::string_view s) {
    static const char kHex[] = "0123456789abcdef";
    out.push_back('"');
    for (size_t i = 0; i < s.size();) {
        // The longest run copied as it is (printable ASCII other than quote and backslash, and
        // valid UTF-8 sequences) goes in with one append: most tokens are a single run.
        size_t j = i, n = 0;
        while (j < s.size()) {
            const uint8_t b = uint8_t(s[j]);
            if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\') {
                ++j;
            } else if (b >= 0x80 && (n = utf8_sequence_length(s, j)) > 0) {
                j += n;
            } else {
                break;
            }
        }
        if (j > i) {
            out.append(s.data() + i, j - i);
            i = j;
            continue;
        }
        // s[i] ends the run: an invalid UTF-8 byte, or a character JSON needs escaped.
        const uint8_t c = uint8_t(s[i++]);
        if (c >= 0x80) {
            out.append(kReplacement, sizeof kReplacement - 1);
            continue;
        }
        char escape = 0;
        switch (c) {
            case '"':
                escape = '"';
                break;
            case '\\':
                escape = '\\';
                break;
            case '\n':
                escape = 'n';
                break;
            case '\r':
                escape = 'r';
                break;
            case '\t':
                escape = 't';
                break;
            case '\b':
                escape = 'b';
                break;
            case '\f':
                escape = 'f';
                break;
            default:
                break;
        }
        if (escape) {
            const char pair[2] = {'\\', escape};
            out.append(pair, 2);
        } else {  // other control characters and DEL
            const char code[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
            out.append(code, 6);
        }
    }
    out.push_back('"');
}

template <typename T>
void append_integer(json_buffer& out, T v) {
    char text[24];
    const std::to_chars_result r = std::to_chars(text, text + sizeof text, v);
    out.append(text, size_t(r.ptr - text));
}

void append_float_json(json_buffer& out, const std::string& text) {
    // JSON has no NaN or infinities; they become strings.
    if (text == "NaN" || text == "Infinity" || text == "-Infinity") {
        out.push_back('"');
        out.append(text);
        out.push_back('"');
    } else {
        out.append(text);
    }
}

// One scalar held as little-endian bytes at p.
void append_scalar(json_buffer& out, gguf_value_type t, const uint8_t* p) {
    uint64_t bits = 0;
    std::memcpy(&bits, p, gguf_value_type_size(t));
    switch (t) {
        case gguf_value_type::uint8:
        case gguf_value_type::uint16:
        case gguf_value_type::uint32:
        case gguf_value_type::uint64:
            append_integer(out, bits);
            break;
        case gguf_value_type::int8:
            append_integer(out, int(int8_t(bits)));
            break;
        case gguf_value_type::int16:
            append_integer(out, int(int16_t(bits)));
            break;
        case gguf_value_type::int32:
            append_integer(out, int32_t(bits));
            break;
        case gguf_value_type::int64:
            append_integer(out, int64_t(bits));
            break;
        case gguf_value_type::float32: {
            float f;
            const uint32_t b = uint32_t(bits);
            std::memcpy(&f, &b, 4);
            append_float_json(out, format_float32(f));
            break;
        }
        case gguf_value_type::float64: {
            double d;
            std::memcpy(&d, &bits, 8);
            append_float_json(out, format_float64(d));
            break;
        }
        case gguf_value_type::boolean:
            out.append(bits ? std::string_view("true") : std::string_view("false"));
            break;
        default:
            out.append("null");
            break;
    }
}

// Items the array holds, counted in the store its item type uses.
uint64_t stored_items(const gguf_value& v) {
    if (v.item_type == gguf_value_type::string) return v.strings.size();
    if (v.item_type == gguf_value_type::array) return v.arrays.size();
    const size_t size = gguf_value_type_size(v.item_type);
    return size ? v.raw_items.size() / size : 0;
}

void append_array(json_buffer& out, const gguf_value& v, const gguf_json_options& options);

// "[item, ...]" for items [begin, end) of an array (end <= stored_items(v)).
void append_items(json_buffer& out, const gguf_value& v, uint64_t begin, uint64_t end,
                  const gguf_json_options& options) {
    out.push_back('[');
    if (v.item_type == gguf_value_type::string) {
        size_t bytes = 0;
        for (uint64_t i = begin; i < end; ++i) bytes += v.strings[i].size();
        out.reserve_more(bytes + 3 * (end - begin));  // quotes and comma per item
        for (uint64_t i = begin; i < end; ++i) {
            if (i > begin) out.push_back(',');
            append_escaped(out, v.strings[i]);
        }
    } else if (v.item_type == gguf_value_type::array) {
        for (uint64_t i = begin; i < end; ++i) {
            if (i > begin) out.push_back(',');
            append_array(out, v.arrays[i], options);
        }
    } else {
        const size_t size = gguf_value_type_size(v.item_type);
        for (uint64_t i = begin; i < end; ++i) {
            if (i > begin) out.push_back(',');
            append_scalar(out, v.item_type, v.raw_items.data() + i * size);
        }
    }
    out.push_back(']');
}

void append_array(json_buffer& out, const gguf_value& v, const gguf_json_options& options) {
    out.append("{\"type\":\"ARRAY\",\"item_type\":\"");
    out.append(gguf_value_type_name(v.item_type));
    out.append("\",\"len\":");
    append_integer(out, v.count);
    const uint64_t stored = stored_items(v);
    const uint64_t shown = std::min(stored, options.max_array_items);
    if (shown < stored) out.append(",\"truncated\":true");
    out.append(",\"value\":");
    append_items(out, v, 0, shown, options);
    out.push_back('}');
}

void append_value(json_buffer& out, const gguf_value& v, const gguf_json_options& options) {
    if (v.is_array()) {
        append_array(out, v, options);
        return;
    }
    out.append("{\"type\":\"");
    out.append(gguf_value_type_name(v.type));
    out.append("\",\"value\":");
    if (v.type == gguf_value_type::string) {
        append_escaped(out, v.str);
    } else {
        append_scalar(out, v.type, reinterpret_cast<const uint8_t*>(&v.scalar_bits));
    }
    out.push_back('}');
}

}  // namespace

std::string format_float32(float v) {
    return shortest(v, 9);
}
std::string format_float64(double v) {
    return shortest(v, 17);
}

std::string valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        const size_t n = utf8_sequence_length(s, i);
        if (n == 0) {
            out += kReplacement;
            ++i;
        } else {
            out.append(s.data() + i, n);
            i += n;
        }
    }
    return out;
}

void append_json_string(std::string& out, std::string_view s) {
    append_escaped(out, s);
}

std::string gguf_header_to_json(const gguf_header& h, const gguf_json_options& options) {
    json_buffer out;
    out.append("{\"version\":");
    append_integer(out, h.version);
    out.append(",\"alignment\":");
    append_integer(out, h.alignment);
    out.append(",\"data_offset\":");
    append_integer(out, h.data_offset);
    out.append(",\"metadata\":{");
    for (size_t i = 0; i < h.kv.size(); ++i) {
        if (i) out.push_back(',');
        append_escaped(out, h.kv[i].key);
        out.push_back(':');
        append_value(out, h.kv[i].value, options);
    }
    out.append("},\"tensors\":[");
    for (size_t i = 0; i < h.tensors.size(); ++i) {
        const gguf_tensor_info& t = h.tensors[i];
        if (i) out.push_back(',');
        out.append("{\"name\":");
        append_escaped(out, t.name);
        out.append(",\"type\":\"");
        const ggml_type_info* info = ggml_type_lookup(uint32_t(t.type));
        out.append(info ? info->name : "UNKNOWN");
        out.append("\",\"shape\":[");
        for (uint32_t d = 0; d < t.n_dims && d < kMaxTensorDims; ++d) {
            if (d) out.push_back(',');
            append_integer(out, t.ne[d]);
        }
        out.append("],\"offset\":");
        append_integer(out, t.offset);
        out.append(",\"nbytes\":");
        append_integer(out, info && info->valid ? t.nbytes() : 0);
        out.push_back('}');
    }
    out.append("]}");
    return out.str();
}

result<std::string> gguf_array_items_json(const gguf_header& h, std::string_view key,
                                          uint64_t start, uint64_t count) {
    const gguf_value* v = h.find(key);
    if (!v) {
        // The page only knows keys as the JSON shows them, with invalid UTF-8 replaced.
        for (const gguf_kv& kv : h.kv) {
            if (valid_utf8(kv.key) == key) {
                v = &kv.value;
                break;
            }
        }
    }
    std::string quoted;
    if (!v || !v->is_array()) append_json_string(quoted, key);
    if (!v) return make_error(status_code::invalid_argument, "no metadata key " + quoted);
    if (!v->is_array()) {
        return make_error(status_code::invalid_argument,
                          "metadata key " + quoted + " is not an array");
    }
    const uint64_t stored = stored_items(*v);
    const uint64_t begin = std::min(start, stored);
    const uint64_t end = begin + std::min(count, stored - begin);
    json_buffer out;
    append_items(out, *v, begin, end, gguf_json_options{});
    return out.str();
}

}  // namespace gguf_squash
