#include "gguf_json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

void append_u64(std::string& out, uint64_t v) {
    out += std::to_string(v);
}

void append_float_json(std::string& out, const std::string& text) {
    // JSON has no NaN or infinities; they become strings.
    if (text == "NaN" || text == "Infinity" || text == "-Infinity") {
        out += '"';
        out += text;
        out += '"';
    } else {
        out += text;
    }
}

// One scalar held as little-endian bytes at p.
void append_scalar(std::string& out, gguf_value_type t, const uint8_t* p) {
    uint64_t bits = 0;
    std::memcpy(&bits, p, gguf_value_type_size(t));
    switch (t) {
        case gguf_value_type::uint8:
        case gguf_value_type::uint16:
        case gguf_value_type::uint32:
        case gguf_value_type::uint64:
            append_u64(out, bits);
            break;
        case gguf_value_type::int8:
            out += std::to_string(int8_t(bits));
            break;
        case gguf_value_type::int16:
            out += std::to_string(int16_t(bits));
            break;
        case gguf_value_type::int32:
            out += std::to_string(int32_t(bits));
            break;
        case gguf_value_type::int64:
            out += std::to_string(int64_t(bits));
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
            out += bits ? "true" : "false";
            break;
        default:
            out += "null";
            break;
    }
}

void append_array(std::string& out, const gguf_value& v) {
    out += "{\"type\":\"ARRAY\",\"item_type\":\"";
    out += gguf_value_type_name(v.item_type);
    out += "\",\"len\":";
    append_u64(out, v.count);
    out += ",\"value\":[";
    if (v.item_type == gguf_value_type::string) {
        out.reserve(out.size() + v.strings.total_bytes() + 3 * v.strings.size());
        for (size_t i = 0; i < v.strings.size(); ++i) {
            if (i) out += ',';
            append_json_string(out, v.strings[i]);
        }
    } else if (v.item_type == gguf_value_type::array) {
        for (size_t i = 0; i < v.arrays.size(); ++i) {
            if (i) out += ',';
            append_array(out, v.arrays[i]);
        }
    } else {
        const size_t size = gguf_value_type_size(v.item_type);
        for (size_t i = 0; size && i + size <= v.raw_items.size(); i += size) {
            if (i) out += ',';
            append_scalar(out, v.item_type, v.raw_items.data() + i);
        }
    }
    out += "]}";
}

void append_value(std::string& out, const gguf_value& v) {
    if (v.is_array()) {
        append_array(out, v);
        return;
    }
    out += "{\"type\":\"";
    out += gguf_value_type_name(v.type);
    out += "\",\"value\":";
    if (v.type == gguf_value_type::string) {
        append_json_string(out, v.str);
    } else {
        append_scalar(out, v.type, reinterpret_cast<const uint8_t*>(&v.scalar_bits));
    }
    out += '}';
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
    static const char kHex[] = "0123456789abcdef";
    out += '"';
    for (size_t i = 0; i < s.size();) {
        // The longest run copied as it is (printable ASCII other than quote and backslash, and
        // valid UTF-8 sequences) goes in with one append: most tokens are a single run, and
        // per-character appends dominated the wasm build (its libc++ string is unoptimised).
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
        const uint8_t c = uint8_t(s[i]);
        if (c >= 0x80) {
            const size_t n = utf8_sequence_length(s, i);
            if (n == 0) {
                out += kReplacement;
                ++i;
            } else {
                out.append(s.data() + i, n);
                i += n;
            }
            continue;
        }
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    out += "\\u00";
                    out += kHex[c >> 4];
                    out += kHex[c & 15];
                } else {
                    out += char(c);
                }
        }
        ++i;
    }
    out += '"';
}

std::string gguf_header_to_json(const gguf_header& h) {
    std::string out;
    out += "{\"version\":";
    append_u64(out, h.version);
    out += ",\"alignment\":";
    append_u64(out, h.alignment);
    out += ",\"data_offset\":";
    append_u64(out, h.data_offset);
    out += ",\"metadata\":{";
    for (size_t i = 0; i < h.kv.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, h.kv[i].key);
        out += ':';
        append_value(out, h.kv[i].value);
    }
    out += "},\"tensors\":[";
    for (size_t i = 0; i < h.tensors.size(); ++i) {
        const gguf_tensor_info& t = h.tensors[i];
        if (i) out += ',';
        out += "{\"name\":";
        append_json_string(out, t.name);
        out += ",\"type\":\"";
        const ggml_type_info* info = ggml_type_lookup(uint32_t(t.type));
        out += info ? info->name : "UNKNOWN";
        out += "\",\"shape\":[";
        for (uint32_t d = 0; d < t.n_dims && d < kMaxTensorDims; ++d) {
            if (d) out += ',';
            append_u64(out, t.ne[d]);
        }
        out += "],\"offset\":";
        append_u64(out, t.offset);
        out += ",\"nbytes\":";
        append_u64(out, info && info->valid ? t.nbytes() : 0);
        out += '}';
    }
    out += "]}";
    return out;
}

}  // namespace gguf_squash
