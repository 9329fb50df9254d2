// tokenizer.ggml.pre for a byte-level BPE tokenizer.json, found as convert_hf_to_gguf.py finds it
// (get_vocab_base_pre, tree de3ff81): the HF tokenizer encodes the converter's fixed test text
// (with special tokens), the ids print as a Python list, and the sha256 of that text names the
// pre-tokenizer in the converter's table. Here the tokenizer is ours: the tokenizer.json's
// normalizer, Split pre-tokenizer, ByteLevel mapping, BPE merges and post-processor, for the
// configurations whose every step is implemented exactly; anything else is refused. A hash the
// converter does not know is an error, as in the converter.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "convert/json_value.h"
#include "status.h"

namespace gguf_squash::convert {

// The ids tokenizer.encode(chktxt) gives (add_special_tokens=True).
result<std::vector<int64_t>> encode_pre_check_text(const json_value& tokenizer_json);

// sha256 hex of Python's str() of the id list ("[128000, 198, ...]").
std::string pre_check_hash(const std::vector<int64_t>& ids);

// The converter's name for a hash, or nullptr when it does not know it.
const char* pre_name_for_hash(const std::string& hash);

// All three: the tokenizer.ggml.pre value, or the converter's "not recognized" error.
result<std::string> detect_bpe_pre(const json_value& tokenizer_json);

}  // namespace gguf_squash::convert
