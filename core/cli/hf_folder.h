// A Hugging Face checkpoint folder on disk, planned as the GGUF convert_hf_to_gguf.py would
// write for it (core/convert/): the small files and every shard's safetensors header are read,
// nothing else. Shared by `convert` (which copies the virtual GGUF to a file), `quantize
// MODEL_DIR` (which quantizes it in one pass, as if it were the converter's --outtype auto
// output) and `info` / `estimate` on a folder.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "convert/hf_convert.h"
#include "convert/hf_metadata.h"
#include "convert/virtual_gguf.h"
#include "format/gguf.h"
#include "status.h"

namespace gguf_squash::cli {

struct hf_folder {
    std::string dir;
    std::vector<std::string> shard_paths;  // in hf_plan's shard order
    convert::hf_general general;
    gguf_header header;        // the GGUF's header (tensor offsets in the data section)
    std::string default_name;  // the converter's file name ("Llama3-16M-BF16.gguf")
    std::shared_ptr<convert::virtual_gguf> gguf;  // the file's bytes, on demand
};

bool is_model_folder(const std::string& path);

// Errors name the file and field (config.json: missing, model.safetensors: ..., README.md: ...).
result<hf_folder> open_hf_folder(const std::string& model_dir, convert::outtype type);

// The planned GGUF's header, parsed back from its bytes as from the converted file (what info,
// estimate and quantize read).
result<gguf_header> folder_gguf_header(const hf_folder& folder);

// A folder's GGUF header under --outtype auto (the file quantize would read): for info/estimate.
result<gguf_header> read_folder_gguf_header(const std::string& model_dir);

}  // namespace gguf_squash::cli
