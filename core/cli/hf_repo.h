// A Hugging Face Hub repository of safetensors (OWNER/REPO), planned as the GGUF
// convert_hf_to_gguf.py would write for the repo's files, as hf_folder.h plans a folder on disk:
// the repo's file list from the Hub's API, its small files and every shard's safetensors header
// by HTTP Range requests (http_client.h: the token only to the Hub's origin, resumed across
// faults), and the weights later, by range, as the conversion reads them.
#pragma once

#include <string>

#include "convert/hf_convert.h"
#include "hf_folder.h"
#include "status.h"

namespace gguf_squash::cli {

// OWNER/REPO (letters, digits, '-', '_', '.') that is not a local path, and not named like a
// GGUF file (a missing DIR/MODEL.gguf stays a missing file, not a Hub request).
bool is_hub_repo(const std::string& s);

// The Hub's base URL: HF_ENDPOINT (as huggingface_hub reads it), else https://huggingface.co.
std::string hub_endpoint();

// The repo's checkpoint at its main revision; the converter names the model by REPO (the folder a
// download of it would be). Errors name the file and field, or the URL that failed.
result<hf_folder> open_hf_repo(const std::string& repo, convert::outtype type,
                               const std::string& token);

// A model folder or a Hub repo (a folder wins when both could be meant).
bool is_checkpoint_input(const std::string& s);
result<hf_folder> open_checkpoint_input(const std::string& s, convert::outtype type,
                                        const std::string& token);

// Its GGUF header under --outtype auto (what info and estimate show).
result<gguf_header> read_checkpoint_gguf_header(const std::string& s, const std::string& token);

}  // namespace gguf_squash::cli
