// The general.* keys convert_hf_to_gguf.py writes before the model's own (gguf-py's Metadata.load
// and Metadata.set_gguf_meta_model, tree de3ff81): general.architecture, general.type, the
// general.sampling.* keys from generation_config.json, and the name keys derived from the folder
// name (or config.json's _name_or_path) by Metadata.get_model_id_components, with the size
// label from the parameter count. Also the default output file name (gguf.naming_convention).
//
// A model card (README.md) feeds more keys through its YAML front matter (model_card.h): the
// name keys it gives win over the folder name, then author, description, license, source.*,
// base models, datasets, tags and languages (Metadata.apply_metadata_heuristic).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "status.h"

namespace gguf_squash::convert {

struct hf_general_inputs {
    std::string folder_name;  // the model folder's last path component
    std::string config_json;  // config.json (for _name_or_path)
    bool has_generation_config = false;
    std::string generation_config_json;  // generation_config.json, when present
    bool has_model_card = false;         // README.md exists
    std::string model_card;              // its bytes
    std::string gguf_architecture;       // "llama"
    uint64_t total_params = 0;           // every tensor's element count, summed
};

struct hf_general {
    std::vector<gguf_kv> kv;  // general.architecture ... general.size_label, in the writer's order
    std::string name, basename, finetune, version, size_label;  // "" = not written
};

result<hf_general> plan_general_metadata(const hf_general_inputs& in);

// The converter's default output name for an output type ("BF16", "Q8_0", "F32", "F16").
std::string default_output_name(const hf_general& g, const std::string& output_type);

// gguf.size_label for a model without experts ("16M", "1.2B").
std::string size_label_for(uint64_t total_params);

}  // namespace gguf_squash::convert
