// The vocabulary of a SentencePiece `tokenizer.model` (a serialized sentencepiece ModelProto),
// read as convert_hf_to_gguf.py reads it through SentencePieceProcessor: every piece in id
// order with its score and type. Only ModelProto.pieces (field 1) is read; the trainer and
// normalizer specs are skipped. Bounds-checked protobuf wire format; no exceptions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace gguf_squash::convert {

// sentencepiece's ModelProto.SentencePiece.Type (the same numbers as gguf.TokenType).
enum class spm_type : int32_t {
    normal = 1,
    unknown = 2,
    control = 3,
    user_defined = 4,
    unused = 5,
    byte = 6,
};

struct spm_piece {
    std::string piece;
    float score = 0.0f;
    spm_type type = spm_type::normal;
};

// Errors name tokenizer.model and the byte offset. Refused as SentencePieceProcessor refuses to
// load them: an empty or duplicated piece, no unknown piece.
result<std::vector<spm_piece>> parse_sentencepiece_model(std::string_view bytes);

}  // namespace gguf_squash::convert
