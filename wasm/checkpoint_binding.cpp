// C ABI glue for a Hugging Face checkpoint folder served as the GGUF convert_hf_to_gguf.py would
// write for it (core/convert/checkpoint.h, virtual_gguf.h). JS lists the folder, hands in the
// small files' bytes and every shard's first bytes (its safetensors header), and the core plans
// the whole file; JS then reads the virtual GGUF by byte range: the header and padding come from
// the core, and where a chunk of converted rows needs shard bytes the read stops and names them
// (gs_checkpoint_read's `need`), JS reads them (Blob slices, node files) and provides them. So the
// asynchronous reads stay in JS and the core does the planning and converting, as natively
// (core/cli/hf_folder.* is the same face on disk).
#include <emscripten/emscripten.h>

#include <cstdint>
#include <memory>
#include <new>
#include <string>

#include "convert/checkpoint.h"
#include "convert/virtual_gguf.h"
#include "glue_json.h"
#include "plan/quantize_args.h"

namespace {

using namespace gguf_squash;

struct checkpoint_handle {
    convert::checkpoint_files files;
    std::string default_name;
    std::string shard_names_json;
    std::unique_ptr<convert::virtual_gguf> gguf;
    status error;
};

// Only read_held / provide are used: the shard bytes come from JS, asynchronously.
status no_synchronous_read(int, uint64_t, uint8_t*, size_t) {
    return make_error(status_code::internal, "checkpoint: shard bytes come through provide()");
}

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE checkpoint_handle* gs_checkpoint_new() {
    return new (std::nothrow) checkpoint_handle;
}

EMSCRIPTEN_KEEPALIVE void gs_checkpoint_free(checkpoint_handle* h) {
    delete h;
}

// The small files the plan reads when present, as a JSON array of names.
EMSCRIPTEN_KEEPALIVE char* gs_checkpoint_small_files_json() {
    std::string out = "[";
    for (const std::string& name : convert::checkpoint_small_files()) {
        if (out.size() > 1) out += ',';
        append_json_string(out, name);
    }
    return wasm_glue::to_c_string(out + "]");
}

// 1 when a file of the folder named `name` is a shard the converter reads (model*.safetensors).
EMSCRIPTEN_KEEPALIVE int gs_checkpoint_is_shard(const char* name) {
    return convert::is_checkpoint_shard(name) ? 1 : 0;
}

// One of convert::checkpoint_small_files() (name: name_len bytes), with its bytes as read.
EMSCRIPTEN_KEEPALIVE void gs_checkpoint_add_file(checkpoint_handle* h, const char* name,
                                                 size_t name_len, const uint8_t* data,
                                                 size_t size) {
    h->files.texts[std::string(name, name_len)] =
        std::string(reinterpret_cast<const char*>(data), size);
}

// A model*.safetensors shard of `file_size` bytes: `head` is its first bytes, the 8 of the
// header length and then that many bytes of header JSON when the file holds them (fewer when it
// does not: the core names what is wrong).
EMSCRIPTEN_KEEPALIVE void gs_checkpoint_add_shard(checkpoint_handle* h, const char* name,
                                                  size_t name_len, double file_size,
                                                  const uint8_t* head, size_t head_size) {
    convert::checkpoint_shard s;
    s.name.assign(name, name_len);
    s.file_size = file_size > 0 ? uint64_t(file_size) : 0;
    const size_t first = head_size < 8 ? head_size : 8;
    s.first8.assign(reinterpret_cast<const char*>(head), first);
    s.json.assign(reinterpret_cast<const char*>(head) + first, head_size - first);
    h->files.shards.push_back(std::move(s));
}

// Plans the GGUF for the files added (--outtype `outtype`: auto, f32, f16, bf16, q8_0).
// display_path names the folder in messages ("DIR/config.json: missing"), folder_name is what
// the converter names the model by. Returns the status code (0 ok; the message in
// gs_checkpoint_error).
EMSCRIPTEN_KEEPALIVE int gs_checkpoint_plan(checkpoint_handle* h, const char* display_path,
                                            const char* folder_name, int has_additional_templates,
                                            const char* outtype) {
    h->gguf.reset();
    result<convert::outtype> type = convert::outtype_from_name(outtype);
    if (!type.ok()) {
        h->error = type.error();
        return int(h->error.code());
    }
    h->files.display_path = display_path;
    h->files.folder_name = folder_name;
    h->files.has_additional_chat_templates = has_additional_templates != 0;
    result<convert::checkpoint_plan> planned = convert::plan_checkpoint(h->files, *type);
    if (!planned.ok()) {
        h->error = planned.error();
        return int(h->error.code());
    }
    h->default_name = planned->default_name;
    h->shard_names_json = "[";
    for (size_t i = 0; i < planned->shard_names.size(); ++i) {
        if (i) h->shard_names_json += ',';
        append_json_string(h->shard_names_json, planned->shard_names[i]);
    }
    h->shard_names_json += "]";
    h->gguf = std::make_unique<convert::virtual_gguf>(
        std::move(planned->plan), std::move(planned->header_bytes), no_synchronous_read);
    // The texts and shard headers are planned: keep nothing else of them.
    h->files = {};
    h->error = {};
    return 0;
}

// An --outtype name's error ("" when valid): the CLI's usage check before any file is read.
EMSCRIPTEN_KEEPALIVE char* gs_checkpoint_outtype_error(const char* outtype) {
    result<convert::outtype> type = convert::outtype_from_name(outtype);
    return wasm_glue::to_c_string(type.ok() ? std::string() : type.error().message());
}

EMSCRIPTEN_KEEPALIVE const char* gs_checkpoint_error(checkpoint_handle* h) {
    return h->error.message().c_str();
}
EMSCRIPTEN_KEEPALIVE int gs_checkpoint_status(checkpoint_handle* h) {
    return int(h->error.code());
}

EMSCRIPTEN_KEEPALIVE double gs_checkpoint_size(checkpoint_handle* h) {
    return h->gguf ? double(h->gguf->size()) : 0;
}

EMSCRIPTEN_KEEPALIVE double gs_checkpoint_header_size(checkpoint_handle* h) {
    return h->gguf ? double(h->gguf->header().size()) : 0;
}

// The converter's own file name for the planned output ("Llama3-16M-BF16.gguf").
EMSCRIPTEN_KEEPALIVE const char* gs_checkpoint_default_name(checkpoint_handle* h) {
    return h->default_name.c_str();
}

// The shards in the plan's order (the `shard` of gs_checkpoint_read's need), as a JSON array.
EMSCRIPTEN_KEEPALIVE const char* gs_checkpoint_shard_names_json(checkpoint_handle* h) {
    return h->shard_names_json.c_str();
}

// Fills buf with the bytes at [offset, offset + size) of the planned GGUF (clipped to it);
// returns the count, or -1 on an error (gs_checkpoint_error). Where a chunk needs shard bytes it
// stops early and writes {shard, offset, size} of them to need[0..2] (size 0: none needed): read
// them, pass them to gs_checkpoint_provide, and call again for the rest.
EMSCRIPTEN_KEEPALIVE double gs_checkpoint_read(checkpoint_handle* h, double offset, uint8_t* buf,
                                               size_t size, double* need) {
    need[0] = need[1] = need[2] = 0;
    if (!h->gguf) {
        if (h->error.ok()) h->error = make_error(status_code::internal, "checkpoint: not planned");
        return -1;
    }
    convert::source_need n;
    result<size_t> got = h->gguf->read_held(uint64_t(offset), buf, size, n);
    if (!got.ok()) {
        h->error = got.error();
        return -1;
    }
    need[0] = n.shard;
    need[1] = double(n.offset);
    need[2] = double(n.size);
    return double(*got);
}

EMSCRIPTEN_KEEPALIVE int gs_checkpoint_provide(checkpoint_handle* h, const uint8_t* src,
                                               size_t size) {
    status s = h->gguf ? h->gguf->provide(src, size)
                       : make_error(status_code::internal, "checkpoint: not planned");
    if (!s.ok()) h->error = s;
    return int(s.code());
}

// Where llama-quantize puts OUT when none is given, for IN (`quantize MODEL_DIR` puts it next
// to the converted file IN would be: MODEL_DIR/NAME.gguf): plan/quantize_args.h's rule.
EMSCRIPTEN_KEEPALIVE char* gs_default_output_name(const char* input, const char* ftype_name,
                                                  int keep_split) {
    return wasm_glue::to_c_string(default_output_name(input, ftype_name, keep_split != 0));
}

}  // extern "C"
