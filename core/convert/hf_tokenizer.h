// The tokenizer keys convert_hf_to_gguf.py writes for a BPE tokenizer.json (the `_set_vocab_gpt2`
// path of tree de3ff81: Llama 3, Qwen2/Qwen3 and most GPT-2-style models; Gemma 3 without a
// tokenizer.model) and for Gemma 3's SentencePiece tokenizer.model (`_set_vocab_sentencepiece`:
// tokenizer.ggml.model "llama", pieces, scores and types, added_tokens.json and
// tokenizer_config.json's added_tokens_decoder over them, then add_space_prefix = false),
// with gguf-py's SpecialVocab rules for merges, special token ids, add_*_token and the chat
// template, in the writer's order:
//   [tokenizer.ggml.add_space_prefix]  tokenizer.ggml.model  tokenizer.ggml.pre
//   tokenizer.ggml.tokens  tokenizer.ggml.token_type  tokenizer.ggml.merges
//   tokenizer.ggml.<special>_token_id...  tokenizer.ggml.add_<special>_token...
//   tokenizer.chat_template  [tokenizer.ggml.normalizer_*]
//
// tokenizer.ggml.pre is the name the converter finds for sha256 of the ids the HF tokenizer gives
// for its fixed test text (get_vocab_base_pre); core/convert/bpe_pre_hash.h computes those ids.
// The same SentencePiece path for Llama / Mistral with a tokenizer.model (LlamaModel.set_vocab
// prefers it), without Gemma's add_space_prefix; without one, a SentencePiece-style BPE
// tokenizer.json takes gguf-py's LlamaHfVocab. Every other tokenizer path of the converter
// (tokenizer.model on other architectures, WordPiece, tiktoken, CodeLlama's and Granite's extra
// keys) is refused with a message naming it, never approximated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "status.h"

namespace gguf_squash::convert {

struct hf_tokenizer_inputs {
    std::string tokenizer_json;  // tokenizer.json (required on this path)
    bool has_tokenizer_config = false;
    std::string tokenizer_config_json;     // tokenizer_config.json
    std::string config_json;               // config.json (special token ids)
    bool has_tokenizer_model = false;      // tokenizer.model exists (SentencePiece path)
    bool has_chat_template_jinja = false;  // chat_template.jinja
    std::string chat_template_jinja;
    bool has_chat_template_json = false;  // chat_template.json
    std::string chat_template_json;
    bool has_additional_chat_templates = false;  // additional_chat_templates/*.jinja
    bool llama_family = false;                   // LlamaModel.set_vocab (tries LlamaHfVocab first)
    uint32_t vocab_size = 0;                     // config.json's vocab_size (0: absent)
    // Gemma3Model.set_vocab: tokenizer.model -> _set_vocab_sentencepiece, else _set_vocab_gpt2
    // (whose tokenizer.json is SentencePiece-style BPE: byte_fallback, a ▁ decoder).
    bool gemma3 = false;
    std::string tokenizer_model;  // tokenizer.model's bytes (has_tokenizer_model)
    bool has_added_tokens_json = false;
    std::string added_tokens_json;  // added_tokens.json (read on the SentencePiece path)
    bool has_special_tokens_map = false;
    std::string special_tokens_map_json;  // special_tokens_map.json (LlamaHfVocab's specials)
};

struct hf_tokenizer_plan {
    std::vector<gguf_kv> kv;  // the tokenizer keys, in the writer's order
    // Gemma3Model.modify_tensors: the rows token_embd keeps (the tokenizer's size; 0 when the
    // architecture does not slice it).
    uint64_t embedding_rows = 0;
};

result<hf_tokenizer_plan> plan_tokenizer(const hf_tokenizer_inputs& in);

// plan_tokenizer's keys alone.
result<std::vector<gguf_kv>> plan_tokenizer_metadata(const hf_tokenizer_inputs& in);

}  // namespace gguf_squash::convert
