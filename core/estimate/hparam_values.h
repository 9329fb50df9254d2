// Reading hyperparameters from GGUF metadata as llama_model_loader does (get_key, get_arr_n,
// get_key_or_arr): integers and bools as uint64, negative values clamped to 0. Shared by the
// model summary and the memory model so that both read a key the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "status.h"

namespace gguf_squash {

// A scalar integer or bool; nullopt for arrays and other types.
std::optional<uint64_t> hparam_scalar(const gguf_value& v);

// Item `i` of an array of integers or bools; nullopt when out of range or of another type.
std::optional<uint64_t> hparam_item(const gguf_value& v, uint64_t i);

// hparam_scalar of the key's value; nullopt when absent.
std::optional<uint64_t> hparam_u64(const gguf_header& h, const std::string& key);

// A hyperparameter that llama.cpp reads with get_key_or_arr: one value for every layer, or an
// array with (at least) one value per layer. Absent: nullopt. Errors name the key.
result<std::optional<std::vector<uint64_t>>> hparam_per_layer(const gguf_header& h,
                                                              const std::string& key,
                                                              uint32_t n_layer);

}  // namespace gguf_squash
