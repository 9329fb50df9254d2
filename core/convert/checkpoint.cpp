#include "convert/checkpoint.h"

#include "convert/hf_tokenizer.h"
#include "convert/safetensors.h"
#include "format/gguf_writer.h"

namespace gguf_squash::convert {

const std::vector<std::string>& checkpoint_small_files() {
    static const std::vector<std::string> names = {
        "config.json",
        "model.safetensors.index.json",
        "README.md",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "chat_template.jinja",
        "chat_template.json",
        "tokenizer.model",
        "added_tokens.json",
        "special_tokens_map.json",
    };
    return names;
}

bool is_checkpoint_shard(const std::string& name) {
    const std::string suffix = ".safetensors";
    return name.rfind("model", 0) == 0 && name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

namespace {

result<st_header> shard_header(const checkpoint_shard& s) {
    uint8_t first8[8] = {};
    for (size_t i = 0; i < s.first8.size() && i < 8; ++i) first8[i] = uint8_t(s.first8[i]);
    auto len = safetensors_header_length(
        first8, s.first8.size() == 8 ? s.file_size : s.first8.size(), s.name);
    if (!len) return len.error();
    if (s.json.size() != *len)
        return make_error(status_code::io_error, s.name + ": short read of the header");
    return parse_safetensors_header(s.json, s.file_size, s.name);
}

}  // namespace

result<checkpoint_plan> plan_checkpoint(const checkpoint_files& files, outtype type) {
    auto text = [&](const char* name) -> const std::string* {
        auto it = files.texts.find(name);
        return it == files.texts.end() ? nullptr : &it->second;
    };
    const std::string dir = files.display_path.empty() || files.display_path.back() == '/'
                                ? files.display_path
                                : files.display_path + "/";
    hf_inputs in;
    const std::string* config = text("config.json");
    if (!config)
        return make_error(status_code::invalid_argument,
                          dir +
                              "config.json: missing (a Hugging Face checkpoint folder has "
                              "config.json)");
    in.config_json = *config;
    if (const std::string* index = text("model.safetensors.index.json")) {
        in.has_index = true;
        in.index_json = *index;
    }
    checkpoint_plan out;
    for (const auto& s : files.shards) {
        auto header = shard_header(s);
        if (!header) return header.error();
        in.shards.push_back({s.name, std::move(*header)});
        out.shard_names.push_back(s.name);
    }
    auto plan = plan_hf_conversion(in, type);
    if (!plan) return plan.error();

    // The tokenizer keys first: Gemma 3's token_embd keeps the tokenizer's rows, which the
    // size label (general.*) counts.
    hf_tokenizer_inputs ti;
    ti.config_json = in.config_json;
    ti.llama_family = plan->gguf_architecture == "llama";
    ti.gemma3 = plan->gguf_architecture == "gemma3";
    if (const std::string* model = text("tokenizer.model")) {
        ti.has_tokenizer_model = true;
        ti.tokenizer_model = *model;
    }
    ti.vocab_size = plan->vocab_size;
    struct optional_file {
        const char* name;
        bool* has;
        std::string* text;
    };
    bool has_tokenizer_json = false;
    const optional_file optional[] = {
        {"tokenizer.json", &has_tokenizer_json, &ti.tokenizer_json},
        {"tokenizer_config.json", &ti.has_tokenizer_config, &ti.tokenizer_config_json},
        {"chat_template.jinja", &ti.has_chat_template_jinja, &ti.chat_template_jinja},
        {"chat_template.json", &ti.has_chat_template_json, &ti.chat_template_json},
        {"added_tokens.json", &ti.has_added_tokens_json, &ti.added_tokens_json},
        {"special_tokens_map.json", &ti.has_special_tokens_map, &ti.special_tokens_map_json},
    };
    for (const auto& f : optional) {
        const std::string* t = text(f.name);
        if (!t) continue;
        *f.has = true;
        *f.text = *t;
    }
    ti.has_additional_chat_templates = files.has_additional_chat_templates;
    if (!has_tokenizer_json && !ti.has_tokenizer_model)
        return make_error(status_code::invalid_argument,
                          dir + "tokenizer.json: missing (no tokenizer.json or tokenizer.model)");
    auto tokenizer = plan_tokenizer(ti);
    if (!tokenizer) return tokenizer.error();
    if (tokenizer->embedding_rows) limit_token_embd_rows(*plan, tokenizer->embedding_rows);

    // general.* (folder name, README.md, generation_config.json).
    hf_general_inputs gi;
    gi.folder_name = files.folder_name;
    gi.config_json = in.config_json;
    gi.gguf_architecture = plan->gguf_architecture;
    gi.total_params = total_parameters(*plan);
    if (const std::string* card = text("README.md")) {
        gi.has_model_card = true;
        gi.model_card = *card;
    }
    if (const std::string* gen = text("generation_config.json")) {
        gi.has_generation_config = true;
        gi.generation_config_json = *gen;
    }
    auto general = plan_general_metadata(gi);
    if (!general) return general.error();

    out.header = assemble_header(*plan, general->kv, tokenizer->kv);
    auto bytes = encode_gguf_header(out.header, gguf_py_layout());
    if (!bytes) return bytes.error();
    out.header_bytes = std::move(*bytes);
    out.default_name = default_output_name(*general, output_type_name(*plan));
    out.general = std::move(*general);
    out.plan = std::move(*plan);
    return out;
}

}  // namespace gguf_squash::convert
