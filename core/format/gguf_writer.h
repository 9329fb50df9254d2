// Writing GGUF files the way llama.cpp's gguf.cpp writes them (gguf_write_out), so that a
// header we build byte-matches what llama-quantize writes for the same model.
//
// llama.cpp's layout conventions, reproduced here:
//  - key-value pairs in the header's order, then tensor infos in the header's order;
//  - a tensor's n_dims is ggml_n_dims: trailing extents of 1 are dropped (minimum 1);
//  - zero padding to the alignment after the tensor infos, ALWAYS (also with zero tensors);
//  - each tensor's data at data_offset + offset, followed by zero padding to the alignment,
//    including the last tensor, so the file size is a multiple of the alignment.
//
// The writer streams: encode the header first (offsets come from the planned sizes via
// assign_tensor_offsets), then write each tensor's bytes followed by tensor_padding() zeros.
#pragma once

#include <cstdint>
#include <vector>

#include "gguf.h"
#include "status.h"

namespace gguf_squash {

struct gguf_encode_options {
    // llama.cpp pads the header to the alignment even when there are no tensors; gguf-py (which
    // wrote llama.cpp's vocab files) pads only when there are tensors. False reproduces gguf-py.
    bool pad_without_tensors = true;
    // llama.cpp writes ggml_n_dims (drops trailing 1s). True writes gguf_tensor_info::n_dims as
    // stored instead, for reproducing files written by other tools.
    bool keep_stored_n_dims = false;
    // llama-quantize copies a general.alignment key from its input (or --override-kv) into a
    // context whose layout alignment stays GGUF_DEFAULT_ALIGNMENT: the key is written as given
    // and the file laid out with header.alignment. True reproduces that (the key is then only
    // checked to be a power-of-two UINT32, as gguf_set_val_u32 asserts).
    bool alignment_key_as_data = false;
};

// Sets each tensor's offset: the first at 0, each next one after the previous one's nbytes padded
// to header.alignment (gguf_add_tensor's rule).
void assign_tensor_offsets(gguf_header& header);

// Zero bytes that follow a tensor of `nbytes` bytes (alignment is a power of two).
uint64_t tensor_padding(uint64_t nbytes, uint64_t alignment);

// ggml_n_dims: the number of dimensions llama.cpp writes for a tensor.
uint32_t written_n_dims(const gguf_tensor_info& tensor);

// Everything before the data section, padded: exactly what llama.cpp writes first. Refuses a
// header that llama.cpp could not write or read back (alignment not a power of two or different
// from general.alignment, array counts that do not match their items, types out of range).
result<std::vector<uint8_t>> encode_gguf_header(const gguf_header& header,
                                                const gguf_encode_options& options = {});

// Size of encode_gguf_header's output without building it (0 if the header cannot be encoded).
uint64_t encoded_header_size(const gguf_header& header, const gguf_encode_options& options = {});

// Exact size of the file llama.cpp writes: the padded header, then every tensor's data padded to
// the alignment (the last one too). Assumes offsets as assign_tensor_offsets sets them.
uint64_t gguf_file_size(const gguf_header& header, const gguf_encode_options& options = {});

}  // namespace gguf_squash
