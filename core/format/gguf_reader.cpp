#include "gguf_reader.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "gguf_json.h"

namespace gguf_squash {
namespace {

// Caps that hold even when the file size is unknown. Real files are far below all of them.
constexpr uint64_t kMaxKeyLength = 1 << 16;        // longer keys are corruption, not metadata
constexpr uint64_t kMaxStringLength = 1ull << 30;  // 1 GiB
// ggml keeps names in char[GGML_MAX_NAME = 64] with a terminator; gguf.cpp refuses longer ones.
constexpr uint64_t kMaxTensorNameLength = 63;
// Counts are checked against the bytes left when the file size is known, but a 100 GB file
// leaves room for absurd counts whose bookkeeping would cost far more memory than the file
// itself (a std::string per 8-byte empty string). Real models stay orders of magnitude below.
constexpr uint64_t kMaxKeyCount = 1 << 20;
constexpr uint64_t kMaxTensorCount = 1 << 20;
constexpr uint64_t kMaxArrayCount = 1 << 26;
constexpr uint64_t kMaxArrayBytes = 1ull << 30;
// Memory reserved ahead of reading is bounded; beyond it, containers grow with the bytes read.
constexpr uint64_t kMaxReserve = 1 << 16;
constexpr uint64_t kMaxStringReserve = 1 << 19;  // items reserved (8 MiB of ends, 8 of bytes)
constexpr uint64_t kMaxAlignment = 1 << 30;

uint64_t read_u64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
uint32_t read_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// A key or tensor name from the file as it appears in an error message: one line, valid UTF-8,
// bounded (names can be 64 KiB of anything).
std::string shown_name(std::string_view name) {
    std::string quoted;
    append_json_string(quoted, name.substr(0, 96));
    std::string body = quoted.substr(1, quoted.size() - 2);
    if (name.size() > 96) body += "...";
    return "'" + body + "'";
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t& out) {
    return __builtin_mul_overflow(a, b, &out);
}

}  // namespace

gguf_reader::gguf_reader(gguf_reader_options options) : options_(options) {}

status gguf_reader::fail(status s) {
    stage_ = stage::failed;
    error_ = s;
    return s;
}

// Without the file size a claimed count is unchecked, so reserve only a little for it.
uint64_t gguf_reader::reserve_cap(uint64_t cap) const {
    return options_.file_size ? cap : std::min<uint64_t>(cap, 1024);
}

uint64_t gguf_reader::remaining_after(uint64_t pos) const {
    if (!options_.file_size) return UINT64_MAX;
    return *options_.file_size > pos ? *options_.file_size - pos : 0;
}

bool gguf_reader::take(input_span& in, size_t n, const uint8_t*& out) {
    if (pending_size_ == 0 && in.remaining() >= n) {
        out = in.data + in.pos;
        in.pos += n;
        pos_ += n;
        return true;
    }
    const size_t want = n - pending_size_;
    const size_t got = std::min(want, in.remaining());
    std::memcpy(pending_ + pending_size_, in.data + in.pos, got);
    pending_size_ += got;
    in.pos += got;
    pos_ += got;
    if (pending_size_ < n) return false;
    pending_size_ = 0;
    out = pending_;
    return true;
}

std::string_view gguf_reader::take_bulk_part(input_span& in) {
    const size_t got = size_t(std::min<uint64_t>(bytes_left_, in.remaining()));
    const std::string_view part(reinterpret_cast<const char*>(in.data + in.pos), got);
    in.pos += got;
    pos_ += got;
    bytes_left_ -= got;
    return part;
}

bool gguf_reader::take_bulk(input_span& in, std::string* s, std::vector<uint8_t>* raw) {
    const std::string_view part = take_bulk_part(in);
    if (s) s->append(part);
    if (raw) raw->insert(raw->end(), part.begin(), part.end());
    return bytes_left_ == 0;
}

std::string gguf_reader::current_field() const {
    switch (stage_) {
        case stage::key_length:
        case stage::key_bytes:
            return "key " + std::to_string(header_.kv.size());
        case stage::value_type:
        case stage::value:
            return "value of key " + shown_name(current_kv_.key);
        case stage::tensor_name_length:
        case stage::tensor_name_bytes:
            return "name of tensor " + std::to_string(header_.tensors.size());
        case stage::tensor_n_dims:
        case stage::tensor_dim:
        case stage::tensor_type:
        case stage::tensor_offset:
            return "tensor " + shown_name(current_tensor_.name);
        case stage::padding:
            return "padding before the data section";
        case stage::magic:
            return "magic";
        case stage::version:
            return "version";
        case stage::tensor_count:
            return "tensor count";
        case stage::kv_count:
            return "metadata key count";
        default:
            return "header";
    }
}

// The field's name is only built on failure: this runs once per string of a 150k-token vocab.
status gguf_reader::check_string_length(uint64_t len, uint64_t field_pos, const char* suffix,
                                        uint64_t cap, int64_t item) {
    if (len <= cap && len <= remaining_after(pos_)) return {};
    std::string field = current_field() + suffix;
    if (item >= 0) field += " " + std::to_string(item);
    if (len > cap)
        return invalid_file_at(field, field_pos,
                               "length " + std::to_string(len) + " exceeds the limit of " +
                                   std::to_string(cap) + " bytes");
    if (len > remaining_after(pos_))
        return invalid_file_at(field, field_pos,
                               "length " + std::to_string(len) + " exceeds the " +
                                   std::to_string(remaining_after(pos_)) +
                                   " bytes left in the file");
    return {};
}

status gguf_reader::begin_value(gguf_value* target, gguf_value_type type, uint64_t field_pos) {
    if (uint32_t(type) >= kGgufValueTypeCount)
        return invalid_file_at(current_field() + " type", field_pos,
                               "unknown value type " + std::to_string(uint32_t(type)));
    target->type = type;
    if (type == gguf_value_type::array) {
        if (frames_.size() >= options_.max_array_depth)
            return invalid_file_at(current_field(), field_pos,
                                   "arrays nested deeper than " +
                                       std::to_string(options_.max_array_depth) + " levels");
        frames_.push_back({target, value_frame::step::array_item_type});
    } else {
        frames_.push_back({target, value_frame::step::type_known});
    }
    return {};
}

// Advances the innermost value frame as far as the input allows.
status gguf_reader::step_value(input_span& in, bool& progressed) {
    value_frame& f = frames_.back();
    gguf_value& v = *f.target;
    const uint8_t* p = nullptr;
    progressed = false;

    if (f.at == value_frame::step::type_known) {
        if (v.type == gguf_value_type::string) {
            if (f.reading_string_length) {
                if (pending_size_ == 0) field_start_ = pos_;
                if (!take(in, 8, p)) return {};
                const uint64_t len = read_u64(p);
                GS_RETURN_IF_ERROR(
                    check_string_length(len, field_start_, " string", kMaxStringLength));
                f.reading_string_length = false;
                bytes_left_ = len;
                if (options_.file_size) v.str.reserve(size_t(len));
            }
            if (!take_bulk(in, &v.str, nullptr)) return {};
        } else {
            const size_t sz = gguf_value_type_size(v.type);
            if (pending_size_ == 0) field_start_ = pos_;
            if (!take(in, sz, p)) return {};
            uint64_t bits = 0;
            std::memcpy(&bits, p, sz);
            if (v.type == gguf_value_type::boolean && bits > 1)
                return invalid_file_at(current_field(), field_start_,
                                       "boolean value " + std::to_string(bits) + " is not 0 or 1");
            v.scalar_bits = bits;
        }
        frames_.pop_back();
        progressed = true;
        return {};
    }

    if (f.at == value_frame::step::array_item_type) {
        if (pending_size_ == 0) field_start_ = pos_;
        if (!take(in, 4, p)) return {};
        const uint32_t t = read_u32(p);
        if (t >= kGgufValueTypeCount)
            return invalid_file_at(current_field() + " array item type", field_start_,
                                   "unknown value type " + std::to_string(t));
        v.item_type = gguf_value_type(t);
        f.at = value_frame::step::array_count;
        progressed = true;
        return {};
    }

    if (f.at == value_frame::step::array_count) {
        if (pending_size_ == 0) field_start_ = pos_;
        if (!take(in, 8, p)) return {};
        const uint64_t count = read_u64(p);
        // Every item takes at least one byte (strings 8, nested arrays 12): a count the remaining
        // bytes cannot hold is refused before anything is allocated for it.
        const uint64_t min_item = v.item_type == gguf_value_type::string ? 8
                                  : v.item_type == gguf_value_type::array
                                      ? 12
                                      : gguf_value_type_size(v.item_type);
        uint64_t min_bytes = 0;
        if (count > kMaxArrayCount)
            return invalid_file_at(current_field() + " array length", field_start_,
                                   "array of " + std::to_string(count) +
                                       " items exceeds the limit of " +
                                       std::to_string(kMaxArrayCount));
        if (mul_overflows(count, min_item, min_bytes) || min_bytes > remaining_after(pos_) ||
            min_bytes > kMaxArrayBytes)
            return invalid_file_at(
                current_field() + " array length", field_start_,
                "array of " + std::to_string(count) + " " + gguf_value_type_name(v.item_type) +
                    " items does not fit in the " + std::to_string(remaining_after(pos_)) +
                    " bytes left in the file");
        v.count = count;
        f.at = value_frame::step::array_items;
        f.next_item = 0;
        if (v.item_type != gguf_value_type::string && v.item_type != gguf_value_type::array) {
            bytes_left_ = min_bytes;
            if (options_.file_size) v.raw_items.reserve(size_t(min_bytes));
        } else if (v.item_type == gguf_value_type::string) {
            // Vocabularies reach ~256k tokens; reserving them up front avoids regrowth. Tokens
            // and merges average under 16 bytes; the bytes left in the file bound the guess.
            const uint64_t items = std::min(count, reserve_cap(kMaxStringReserve));
            v.strings.reserve(size_t(items),
                              size_t(std::min(items * 16, remaining_after(pos_) - min_bytes)));
        } else {
            v.arrays.reserve(size_t(std::min(count, reserve_cap(kMaxReserve))));
        }
        progressed = true;
        return {};
    }

    // array_items
    if (v.item_type != gguf_value_type::string && v.item_type != gguf_value_type::array) {
        if (!take_bulk(in, nullptr, &v.raw_items)) return {};
        if (v.item_type == gguf_value_type::boolean) {
            for (uint64_t i = 0; i < v.count; ++i)
                if (v.raw_items[i] > 1)
                    return invalid_file_at(current_field() + " array item " + std::to_string(i),
                                           pos_ - v.count + i, "boolean value is not 0 or 1");
        }
        frames_.pop_back();
        progressed = true;
        return {};
    }
    if (v.item_type == gguf_value_type::string) {
        while (f.next_item < v.count) {
            if (f.reading_string_length) {
                if (pending_size_ == 0) field_start_ = pos_;
                if (!take(in, 8, p)) return {};
                const uint64_t len = read_u64(p);
                GS_RETURN_IF_ERROR(check_string_length(len, field_start_, " array item",
                                                       kMaxStringLength, int64_t(f.next_item)));
                f.reading_string_length = false;
                bytes_left_ = len;
                progressed = true;
            }
            // The item's bytes go straight into the packed list (no allocation per item).
            const std::string_view part = take_bulk_part(in);
            v.strings.append_partial(part.data(), part.size());
            if (bytes_left_ != 0) return {};
            v.strings.end_item();
            f.reading_string_length = true;
            ++f.next_item;
        }
        frames_.pop_back();
        progressed = true;
        return {};
    }
    // Nested arrays: one child frame per item.
    if (f.next_item < v.count) {
        v.arrays.emplace_back();
        ++f.next_item;
        gguf_value* child = &v.arrays.back();
        GS_RETURN_IF_ERROR(begin_value(child, gguf_value_type::array, pos_));
        progressed = true;
        return {};
    }
    frames_.pop_back();
    progressed = true;
    return {};
}

status gguf_reader::finish_kv() {
    const std::string& key = current_kv_.key;
    if (key == "general.alignment") {
        if (current_kv_.value.type != gguf_value_type::uint32)
            return invalid_file_at("general.alignment", field_start_,
                                   std::string("must be UINT32 but is ") +
                                       gguf_value_type_name(current_kv_.value.type));
        const uint64_t a = current_kv_.value.as_u64();
        if (a == 0 || (a & (a - 1)) != 0 || a > kMaxAlignment)
            return invalid_file_at("general.alignment", field_start_,
                                   "alignment " + std::to_string(a) + " is not a power of two");
        header_.alignment = a;
    }
    header_.kv.push_back(std::move(current_kv_));
    current_kv_ = gguf_kv{};
    return {};
}

// Called with field_start_ at the tensor's offset field. The offsets must be exactly the ones
// gguf.cpp computes (each tensor right after the previous one, padded to the alignment), which
// refuses misaligned, out-of-order, overlapping and gapped offsets alike. The alignment is known
// here because all key-value pairs precede the tensor infos.
status gguf_reader::finish_tensor() {
    gguf_tensor_info& t = current_tensor_;
    const std::string field = "tensor " + shown_name(t.name) + " data offset";
    if (t.offset % header_.alignment != 0)
        return invalid_file_at(field, field_start_,
                               "offset " + std::to_string(t.offset) +
                                   " is not a multiple of the alignment " +
                                   std::to_string(header_.alignment));
    if (t.offset < next_offset_)
        return invalid_file_at(field, field_start_,
                               "offset " + std::to_string(t.offset) +
                                   " overlaps the previous tensor or is out of order (expected " +
                                   std::to_string(next_offset_) + ")");
    if (t.offset > next_offset_)
        return invalid_file_at(field, field_start_,
                               "offset " + std::to_string(t.offset) + " leaves a gap (expected " +
                                   std::to_string(next_offset_) + ")");
    // nbytes fits in int64 (checked with the type); its padded sum must not wrap.
    const uint64_t padded = align_up(t.nbytes(), header_.alignment);
    if (padded < t.nbytes() || UINT64_MAX - next_offset_ < padded)
        return invalid_file_at(field, field_start_, "data section size overflows");
    if (options_.file_size && next_offset_ + t.nbytes() > *options_.file_size)
        return invalid_file_at(field, field_start_,
                               "data ends past the end of the file (" +
                                   std::to_string(*options_.file_size) + " bytes)");
    next_offset_ += padded;
    last_offset_field_ = field_start_;
    header_.tensors.push_back(std::move(t));
    current_tensor_ = gguf_tensor_info{};
    return {};
}

status gguf_reader::finish_header() {
    header_.data_offset = pos_;
    // The data must lie inside the file; offsets are contiguous, so the last tensor ends last.
    if (options_.file_size && !header_.tensors.empty()) {
        const gguf_tensor_info& t = header_.tensors.back();
        const uint64_t end = header_.data_offset + t.offset + t.nbytes();
        if (end < header_.data_offset || end > *options_.file_size)
            return invalid_file_at(
                "tensor " + shown_name(t.name) + " data offset", last_offset_field_,
                "data ends at byte " + std::to_string(end) + ", past the end of the file (" +
                    std::to_string(*options_.file_size) + " bytes)");
    }
    stage_ = stage::done;
    return {};
}

status gguf_reader::end_of_input() const {
    if (stage_ == stage::done) return {};
    if (stage_ == stage::failed) return error_;
    return invalid_file_at(current_field(), field_start_,
                           "file is truncated at byte " + std::to_string(pos_));
}

result<size_t> gguf_reader::feed(input_span& in) {
    if (stage_ == stage::failed) return error_;
    const uint8_t* p = nullptr;
    for (;;) {
        switch (stage_) {
            case stage::done:
                return size_t(0);
            case stage::failed:
                return error_;

            case stage::magic: {
                field_start_ = 0;
                if (!take(in, 4, p)) return size_t(4 - pending_size_);
                if (std::memcmp(p, "GGUF", 4) != 0) {
                    if (std::memcmp(p, "FUGG", 4) == 0)
                        return fail(make_error(
                            status_code::unsupported,
                            "magic at byte offset 0: big-endian GGUF files are not supported"));
                    char shown[5] = {};
                    for (int i = 0; i < 4; ++i)
                        shown[i] = (p[i] >= 32 && p[i] < 127) ? char(p[i]) : '?';
                    return fail(invalid_file_at("magic", 0,
                                                std::string("expected \"GGUF\", found \"") + shown +
                                                    "\": not a GGUF file"));
                }
                stage_ = stage::version;
                break;
            }
            case stage::version: {
                field_start_ = 4;
                if (!take(in, 4, p)) return size_t(4 - pending_size_);
                const uint32_t v = read_u32(p);
                if (v == 1)
                    return fail(make_error(
                        status_code::unsupported,
                        "version at byte offset 4: GGUF version 1 is no longer supported"));
                if (v != 2 && v != 3) {
                    if ((v & 0xffff) == 0 && v != 0)
                        return fail(make_error(
                            status_code::unsupported,
                            "version at byte offset 4: " + std::to_string(v) +
                                " looks byte-swapped: big-endian GGUF files are not supported"));
                    return fail(make_error(status_code::unsupported,
                                           "version at byte offset 4: unknown GGUF version " +
                                               std::to_string(v) + " (supported: 2, 3)"));
                }
                header_.version = v;
                stage_ = stage::tensor_count;
                break;
            }
            case stage::tensor_count:
            case stage::kv_count: {
                const bool tensors = stage_ == stage::tensor_count;
                const uint64_t at = pos_ - pending_size_;
                field_start_ = at;
                if (!take(in, 8, p)) return size_t(8 - pending_size_);
                const uint64_t n = read_u64(p);
                // Each tensor info takes at least 32 bytes, each key-value pair at least 13.
                const uint64_t min_each = tensors ? 32 : 13;
                uint64_t need = 0;
                const char* field = tensors ? "tensor count" : "metadata key count";
                const uint64_t cap = tensors ? kMaxTensorCount : kMaxKeyCount;
                if (n > cap)
                    return fail(invalid_file_at(
                        field, at,
                        std::to_string(n) + " exceeds the limit of " + std::to_string(cap)));
                if (mul_overflows(n, min_each, need) || need > remaining_after(pos_))
                    return fail(invalid_file_at(field, at,
                                                std::to_string(n) + " does not fit in the " +
                                                    std::to_string(remaining_after(pos_)) +
                                                    " bytes left in the file"));
                if (tensors) {
                    n_tensors_ = n;
                    stage_ = stage::kv_count;
                } else {
                    n_kv_ = n;
                    header_.kv.reserve(size_t(std::min(n_kv_, reserve_cap(kMaxReserve))));
                    header_.tensors.reserve(size_t(std::min(n_tensors_, reserve_cap(kMaxReserve))));
                    stage_ = n_kv_ ? stage::key_length : stage::tensor_name_length;
                }
                break;
            }
            case stage::key_length: {
                if (pending_size_ == 0) field_start_ = pos_;
                if (!take(in, 8, p)) return size_t(8 - pending_size_);
                const uint64_t len = read_u64(p);
                if (len == 0)
                    return fail(invalid_file_at(current_field(), field_start_, "empty key"));
                status s = check_string_length(len, field_start_, " length", kMaxKeyLength);
                if (!s.ok()) return fail(s);
                bytes_left_ = len;
                stage_ = stage::key_bytes;
                break;
            }
            case stage::key_bytes: {
                if (!take_bulk(in, &current_kv_.key, nullptr)) return size_t(bytes_left_);
                if (!seen_keys_.insert(current_kv_.key).second)
                    return fail(invalid_file_at("key " + shown_name(current_kv_.key), field_start_,
                                                "duplicate key"));
                stage_ = stage::value_type;
                break;
            }
            case stage::value_type: {
                if (pending_size_ == 0) field_start_ = pos_;
                if (!take(in, 4, p)) return size_t(4 - pending_size_);
                status s =
                    begin_value(&current_kv_.value, gguf_value_type(read_u32(p)), field_start_);
                if (!s.ok()) return fail(s);
                stage_ = stage::value;
                break;
            }
            case stage::value: {
                while (!frames_.empty()) {
                    bool progressed = false;
                    status s = step_value(in, progressed);
                    if (!s.ok()) return fail(s);
                    if (!progressed && in.remaining() == 0)
                        return size_t(bytes_left_ ? bytes_left_ : 8 - pending_size_);
                }
                status s = finish_kv();
                if (!s.ok()) return fail(s);
                stage_ = header_.kv.size() < n_kv_ ? stage::key_length : stage::tensor_name_length;
                break;
            }
            case stage::tensor_name_length: {
                if (header_.tensors.size() == n_tensors_) {
                    // No padding when there are no tensors (gguf.cpp only seeks when n_tensors >
                    // 0).
                    const uint64_t target = n_tensors_ ? align_up(pos_, header_.alignment) : pos_;
                    padding_left_ = target - pos_;
                    field_start_ = pos_;
                    stage_ = stage::padding;
                    // Checked here, not as bytes arrive, so the verdict is the same for any
                    // chunking.
                    if (padding_left_ > remaining_after(pos_))
                        return fail(invalid_file_at(current_field(), field_start_,
                                                    "file ends inside the padding"));
                    break;
                }
                if (pending_size_ == 0) field_start_ = pos_;
                if (!take(in, 8, p)) return size_t(8 - pending_size_);
                const uint64_t len = read_u64(p);
                status s = check_string_length(len, field_start_, " length", kMaxTensorNameLength);
                if (!s.ok()) return fail(s);
                bytes_left_ = len;
                stage_ = stage::tensor_name_bytes;
                break;
            }
            case stage::tensor_name_bytes: {
                if (!take_bulk(in, &current_tensor_.name, nullptr)) return size_t(bytes_left_);
                if (!seen_tensors_.insert(current_tensor_.name).second)
                    return fail(
                        invalid_file_at("tensor " + shown_name(current_tensor_.name) + " name",
                                        field_start_, "duplicate tensor name"));
                stage_ = stage::tensor_n_dims;
                break;
            }
            case stage::tensor_n_dims: {
                if (pending_size_ == 0) field_start_ = pos_;
                if (!take(in, 4, p)) return size_t(4 - pending_size_);
                const uint32_t n = read_u32(p);
                if (n == 0 || n > kMaxTensorDims)
                    return fail(
                        invalid_file_at(current_field() + " n_dims", field_start_,
                                        std::to_string(n) + " dimensions (must be 1 to 4)"));
                current_tensor_.n_dims = n;
                dim_index_ = 0;
                stage_ = stage::tensor_dim;
                break;
            }
            case stage::tensor_dim: {
                if (pending_size_ == 0) field_start_ = pos_;
                if (!take(in, 8, p)) return size_t(8 - pending_size_);
                const uint64_t ne = read_u64(p);
                const std::string field =
                    current_field() + " dimension " + std::to_string(dim_index_);
                if (ne == 0) return fail(invalid_file_at(field, field_start_, "zero extent"));
                if (ne > uint64_t(INT64_MAX))
                    return fail(
                        invalid_file_at(field, field_start_,
                                        "extent " + std::to_string(ne) + " is negative as int64"));
                current_tensor_.ne[dim_index_] = ne;
                uint64_t total = 1;
                for (uint32_t d = 0; d <= dim_index_; ++d) {
                    if (mul_overflows(total, current_tensor_.ne[d], total) ||
                        total > uint64_t(INT64_MAX))
                        return fail(
                            invalid_file_at(field, field_start_, "element count overflows"));
                }
                if (++dim_index_ == current_tensor_.n_dims) stage_ = stage::tensor_type;
                break;
            }
            case stage::tensor_type: {
                if (pending_size_ == 0) field_start_ = pos_;
                if (!take(in, 4, p)) return size_t(4 - pending_size_);
                const uint32_t id = read_u32(p);
                const ggml_type_info* info = ggml_type_lookup(id);
                if (!info)
                    return fail(invalid_file_at(current_field() + " type", field_start_,
                                                "unknown ggml type " + std::to_string(id)));
                if (!info->valid)
                    return fail(
                        invalid_file_at(current_field() + " type", field_start_,
                                        "ggml type " + std::to_string(id) + " (" + info->name +
                                            ") has been removed and cannot appear in a file"));
                if (current_tensor_.ne[0] % info->block_size != 0)
                    return fail(
                        invalid_file_at(current_field() + " type", field_start_,
                                        "row length " + std::to_string(current_tensor_.ne[0]) +
                                            " is not a multiple of " + info->name +
                                            "'s block size " + std::to_string(info->block_size)));
                uint64_t bytes = 0;
                if (mul_overflows(current_tensor_.n_elements() / info->block_size, info->type_size,
                                  bytes) ||
                    bytes > uint64_t(INT64_MAX))
                    return fail(invalid_file_at(current_field() + " type", field_start_,
                                                "byte size overflows"));
                current_tensor_.type = ggml_type(id);
                stage_ = stage::tensor_offset;
                break;
            }
            case stage::tensor_offset: {
                if (pending_size_ == 0) field_start_ = pos_;
                if (!take(in, 8, p)) return size_t(8 - pending_size_);
                current_tensor_.offset = read_u64(p);
                status s = finish_tensor();
                if (!s.ok()) return fail(s);
                stage_ = stage::tensor_name_length;
                break;
            }
            case stage::padding: {
                const uint64_t got = std::min<uint64_t>(padding_left_, in.remaining());
                in.pos += size_t(got);
                pos_ += got;
                padding_left_ -= got;
                if (padding_left_ > 0) return size_t(padding_left_);
                status s = finish_header();
                if (!s.ok()) return fail(s);
                return size_t(0);
            }
        }
    }
}

result<gguf_header> read_gguf_header(const uint8_t* data, size_t size,
                                     std::optional<uint64_t> file_size) {
    gguf_reader_options opts;
    opts.file_size = file_size ? file_size : std::optional<uint64_t>(size);
    gguf_reader reader(opts);
    input_span in{data, size, 0};
    result<size_t> r = reader.feed(in);
    if (!r.ok()) return r.error();
    if (!reader.finished()) return reader.end_of_input();
    return reader.take_header();
}

}  // namespace gguf_squash
