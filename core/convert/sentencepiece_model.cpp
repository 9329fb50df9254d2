#include "convert/sentencepiece_model.h"

#include <cstring>
#include <unordered_set>

namespace gguf_squash::convert {

namespace {

// Protobuf wire types.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t kFixed32 = 5;

class wire_reader {
  public:
    wire_reader(std::string_view bytes, uint64_t base) : b_(bytes), base_(base) {}
    bool done() const { return p_ >= b_.size(); }
    uint64_t offset() const { return base_ + p_; }

    result<uint64_t> varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p_ >= b_.size()) return error("truncated varint");
            const auto byte = static_cast<uint8_t>(b_[p_++]);
            v |= uint64_t(byte & 0x7F) << shift;
            if (!(byte & 0x80)) return v;
        }
        return error("varint longer than 10 bytes");
    }
    result<std::string_view> bytes(uint64_t n) {
        if (n > b_.size() - p_) return error("field runs past the end");
        std::string_view v = b_.substr(p_, size_t(n));
        p_ += size_t(n);
        return v;
    }
    // Skips a field of wire type `wt` whose key was just read.
    status skip(uint32_t wt) {
        switch (wt) {
            case kVarint:
                return varint().ok() ? status{} : error("truncated varint");
            case kFixed64:
                return bytes(8).ok() ? status{} : error("field runs past the end");
            case kFixed32:
                return bytes(4).ok() ? status{} : error("field runs past the end");
            case kLengthDelimited: {
                auto n = varint();
                if (!n) return n.error();
                auto v = bytes(*n);
                return v ? status{} : v.error();
            }
            default:
                return error("wire type " + std::to_string(wt) + " is not read");
        }
    }
    status error(const std::string& what) const {
        return make_error(status_code::invalid_file,
                          "tokenizer.model: " + what + " at byte " + std::to_string(offset()));
    }

  private:
    std::string_view b_;
    uint64_t base_;
    size_t p_ = 0;
};

// ModelProto.SentencePiece: piece = 1 (string), score = 2 (float), type = 3 (enum, NORMAL).
result<spm_piece> parse_piece(std::string_view bytes, uint64_t base) {
    wire_reader r(bytes, base);
    spm_piece out;
    while (!r.done()) {
        auto key = r.varint();
        if (!key) return key.error();
        const uint64_t field = *key >> 3;
        const auto wt = uint32_t(*key & 7);
        if (field == 1 && wt == kLengthDelimited) {
            auto n = r.varint();
            if (!n) return n.error();
            auto v = r.bytes(*n);
            if (!v) return v.error();
            out.piece = std::string(*v);
        } else if (field == 2 && wt == kFixed32) {
            auto v = r.bytes(4);
            if (!v) return v.error();
            uint32_t bits = 0;
            for (int i = 0; i < 4; ++i)
                bits |= uint32_t(static_cast<uint8_t>((*v)[size_t(i)])) << (8 * i);
            std::memcpy(&out.score, &bits, 4);
        } else if (field == 3 && wt == kVarint) {
            auto v = r.varint();
            if (!v) return v.error();
            if (*v < 1 || *v > 6)
                return r.error("piece type " + std::to_string(*v) + " is unknown");
            out.type = spm_type(int32_t(*v));
        } else {
            GS_RETURN_IF_ERROR(r.skip(wt));
        }
    }
    return out;
}

}  // namespace

result<std::vector<spm_piece>> parse_sentencepiece_model(std::string_view bytes) {
    wire_reader r(bytes, 0);
    std::vector<spm_piece> pieces;
    while (!r.done()) {
        auto key = r.varint();
        if (!key) return key.error();
        const auto wt = uint32_t(*key & 7);
        if ((*key >> 3) != 1 || wt != kLengthDelimited) {
            GS_RETURN_IF_ERROR(r.skip(wt));
            continue;
        }
        auto n = r.varint();
        if (!n) return n.error();
        const uint64_t at = r.offset();
        auto body = r.bytes(*n);
        if (!body) return body.error();
        auto piece = parse_piece(*body, at);
        if (!piece) return piece.error();
        pieces.push_back(std::move(*piece));
    }
    std::unordered_set<std::string_view> seen;
    bool has_unknown = false;
    for (size_t i = 0; i < pieces.size(); ++i) {
        const std::string& p = pieces[i].piece;
        const std::string id = "tokenizer.model: piece " + std::to_string(i);
        if (p.empty()) return make_error(status_code::invalid_file, id + " is empty");
        if (!seen.insert(p).second)
            return make_error(status_code::invalid_file, id + " '" + p + "' is already defined");
        has_unknown = has_unknown || pieces[i].type == spm_type::unknown;
    }
    if (pieces.empty()) return make_error(status_code::invalid_file, "tokenizer.model: no pieces");
    if (!has_unknown)
        return make_error(status_code::invalid_file, "tokenizer.model: no unknown piece");
    return pieces;
}

}  // namespace gguf_squash::convert
