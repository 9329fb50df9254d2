// A checkpoint folder planned as one GGUF, with no I/O of its own: the face (the native CLI's
// core/cli/hf_folder.*, the wasm glue for node and the page) lists the folder, reads the small
// files this asks for and the start of every shard, and gets the whole plan — tensors, general.*
// and tokenizer keys, the header bytes and the converter's file name — with errors naming the
// file and field. One list of files and one order of checks for every face.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "convert/hf_convert.h"
#include "convert/hf_metadata.h"
#include "format/gguf.h"
#include "status.h"

namespace gguf_squash::convert {

// The small files the plan reads when they are present.
const std::vector<std::string>& checkpoint_small_files();

// ModelBase.get_model_part_names: the folder's model*.safetensors files.
bool is_checkpoint_shard(const std::string& name);

struct checkpoint_shard {
    std::string name;
    uint64_t file_size = 0;
    std::string first8;  // the file's first bytes (8, fewer for a shorter file)
    std::string json;    // the header bytes after them (as many as the first 8 say, if present)
};

struct checkpoint_files {
    std::string display_path;  // the folder as given, for "PATH/config.json: missing"
    std::string folder_name;   // its last path component (the converter names the model by it)
    std::map<std::string, std::string> texts;    // the small files present, by name
    bool has_additional_chat_templates = false;  // the folder additional_chat_templates/
    std::vector<checkpoint_shard> shards;        // every model*.safetensors, any order
};

struct checkpoint_plan {
    hf_plan plan;
    hf_general general;
    gguf_header header;                    // assemble_header's
    std::vector<uint8_t> header_bytes;     // encoded with gguf_py_layout()
    std::string default_name;              // the converter's file name ("Llama3-16M-BF16.gguf")
    std::vector<std::string> shard_names;  // hf_plan's shard indices
};

result<checkpoint_plan> plan_checkpoint(const checkpoint_files& files, outtype type);

}  // namespace gguf_squash::convert
