// libFuzzer target for the quantize pipeline: plan + streaming job on small models with a random
// file type. Two input shapes, chosen by bit 0 of the second byte:
//
//   raw (bit set):       [ftype][flags][a GGUF file]  -- hostile headers and truncated data
//                        reach the planner and the job (seeds: the fixtures and malformed files);
//   built (bit clear):   [ftype][flags][shape][weights...] -- a llama-style model with tiny
//                        tensors is built here from the bytes, so every run gets past the reader
//                        and the planner and exercises the kernels on fuzzed weights.
//
// Checked: no crash, no sanitizer report, no hang (libFuzzer's -timeout), bounded memory (the
// job's slab cap is small, libFuzzer's -rss_limit_mb / -malloc_limit_mb), that any output the job
// accepts has exactly the planned size and reads back as a valid GGUF with the planned tensors,
// and that the bytes do not depend on the input chunk size or the slab size.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "pipeline/quantize_job.h"
#include "plan/llama_ftype.h"
#include "plan/quant_plan.h"
#include "quant/quant_common.h"

using namespace gguf_squash;

namespace {

// Deterministic stream of bytes from the fuzz input (cycled; zeros when empty).
struct byte_source {
    const uint8_t* data;
    size_t size;
    size_t pos = 0;
    uint8_t next() { return size == 0 ? 0 : data[pos++ % size]; }
};

gguf_tensor_info make_tensor(std::string name, ggml_type type, uint64_t ne0, uint64_t ne1) {
    gguf_tensor_info t;
    t.name = std::move(name);
    t.type = type;
    t.n_dims = ne1 == 1 ? 1 : 2;
    t.ne[0] = ne0;
    t.ne[1] = ne1;
    return t;
}

// One weight from the bytes: mostly small integers times a power of two (ties, zeros, equal
// values, sign changes, huge and tiny magnitudes), sometimes raw bits (NaN, Inf, subnormals).
float next_weight(byte_source& src, uint8_t style) {
    const uint8_t b = src.next();
    if (style == 3) {
        uint32_t bits =
            b | uint32_t(src.next()) << 8 | uint32_t(src.next()) << 16 | uint32_t(src.next()) << 24;
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }
    static const int kExponent[3] = {-7, -20, 10};
    return std::ldexp(float(int8_t(b)), kExponent[style]);
}

void put_weight(std::vector<uint8_t>& file, ggml_type type, float v) {
    if (type == ggml_type::f32) {
        uint8_t b[4];
        std::memcpy(b, &v, 4);
        file.insert(file.end(), b, b + 4);
    } else {
        const uint16_t h = type == ggml_type::f16 ? fp32_to_fp16(v) : fp32_to_bf16(v);
        file.push_back(uint8_t(h));
        file.push_back(uint8_t(h >> 8));
    }
}

// Builds a llama-style model (1-2 layers, tiny tensors) from the bytes; returns false if the
// header cannot be encoded (it always can).
bool build_model(byte_source& src, std::vector<uint8_t>& file, gguf_header& header,
                 imatrix_data& imatrix, bool with_imatrix) {
    static const uint64_t kRowLengths[8] = {32, 64, 256, 512, 96, 288, 128, 33};
    const uint8_t shape = src.next();
    const uint64_t ne0 = kRowLengths[shape & 7];
    const uint64_t rows = 1 + ((shape >> 3) & 3);
    const int layers = 1 + ((shape >> 5) & 1);
    const bool tied = shape >> 6 & 1;  // no output.weight: token_embd doubles as output
    const uint8_t types = src.next();
    static const ggml_type kSource[4] = {ggml_type::f32, ggml_type::f16, ggml_type::bf16,
                                         ggml_type::f16};
    const ggml_type big = kSource[types & 3];
    const uint8_t style = (types >> 2) & 3;

    header = gguf_header{};
    header.set("general.architecture", gguf_value::make_string("llama"));
    header.set("llama.block_count", gguf_value::make_u32(uint32_t(layers)));
    header.set("llama.embedding_length", gguf_value::make_u32(uint32_t(ne0)));
    header.set("llama.attention.head_count", gguf_value::make_u32(1));
    header.set("llama.attention.head_count_kv", gguf_value::make_u32(1 + (types >> 4 & 1)));
    header.set("general.file_type", gguf_value::make_u32(big == ggml_type::f32 ? 0 : 1));
    header.tensors.push_back(make_tensor("token_embd.weight", big, ne0, rows + 1));
    for (int l = 0; l < layers; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        header.tensors.push_back(make_tensor(p + "attn_norm.weight", ggml_type::f32, ne0, 1));
        for (const char* n :
             {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"})
            header.tensors.push_back(make_tensor(p + n + ".weight", big, ne0, rows));
    }
    header.tensors.push_back(make_tensor("output_norm.weight", ggml_type::f32, ne0, 1));
    if (!tied) header.tensors.push_back(make_tensor("output.weight", big, ne0, rows));
    assign_tensor_offsets(header);
    result<std::vector<uint8_t>> head = encode_gguf_header(header);
    if (!head.ok()) return false;
    header.data_offset = head->size();
    file = std::move(*head);
    for (const gguf_tensor_info& t : header.tensors) {
        for (uint64_t i = 0; i < t.n_elements(); ++i)
            put_weight(file, t.type, next_weight(src, style));
        file.resize(file.size() + tensor_padding(t.nbytes(), header.alignment), 0);
        if (with_imatrix) {
            std::vector<float>& e = imatrix.entries[t.name];
            e.resize(ne0);
            for (float& v : e) v = float(src.next() % 17) * 0.25f;  // zeros included
        }
    }
    if (with_imatrix) {
        imatrix.datasets = {"fuzz"};
        imatrix.chunk_count = 1;
        imatrix.chunk_size = 1;
        imatrix.has_metadata = true;
    }
    return true;
}

// Runs the job; on success returns true with the output in `out`.
bool run(const quant_plan& plan, const imatrix_data* imatrix, const std::vector<uint8_t>& file,
         const quantize_job_options& jo, size_t chunk, std::vector<uint8_t>& out, status& error) {
    quantize_job job(plan, imatrix, jo);
    if (!job.error().ok()) {
        error = job.error();
        return false;
    }
    out.clear();
    auto read = [&](uint64_t off, uint8_t* buf, size_t n) -> result<size_t> {
        if (off >= file.size()) return size_t(0);
        const size_t k = size_t(std::min<uint64_t>(n, file.size() - off));
        std::memcpy(buf, file.data() + off, k);
        return k;
    };
    auto write = [&](const uint8_t* d, size_t n) -> status {
        if (out.size() + n > plan.file_size) std::abort();  // wrote more than it planned
        out.insert(out.end(), d, d + n);
        return status{};
    };
    error = run_quantize_job(job, read, write, chunk);
    return error.ok();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const std::vector<ftype_option>& ftypes = quantize_ftype_options();
    const ftype_option& choice = ftypes[data[0] % ftypes.size()];
    const uint8_t flags = data[1];
    const bool raw = flags & 1;
    data += 2;
    size -= 2;

    std::vector<uint8_t> file;
    gguf_header header;
    imatrix_data imatrix;
    const bool with_imatrix = flags & 8;
    if (raw) {
        result<gguf_header> h = read_gguf_header(data, size, size);
        if (!h.ok()) return 0;
        header = std::move(*h);
        file.assign(data, data + size);
    } else {
        byte_source src{data, size};
        if (!build_model(src, file, header, imatrix, with_imatrix)) std::abort();
    }

    std::optional<parsed_ftype> ft = parse_ftype(choice.name);
    if (!ft) std::abort();  // every listed name parses
    quantize_options o;
    o.ftype = ft->ftype;
    o.only_copy = ft->only_copy;
    o.pure = flags & 2;
    o.allow_requantize = flags & 64;
    o.quantize_output_tensor = !(flags & 128);
    if (with_imatrix && !imatrix.empty()) {
        o.imatrix = &imatrix;
        o.imatrix_file = "fuzz.imatrix";
    }
    result<quant_plan> plan = make_quant_plan(header, o);
    if (!plan.ok()) return 0;
    if (plan->file_size > (uint64_t(64) << 20)) std::abort();  // tiny input, tiny output

    quantize_job_options jo;
    jo.allow_non_finite = flags & 4;
    static const uint64_t kBuffers[4] = {1, 4096, 65536, 0};
    jo.max_buffer_bytes = kBuffers[(flags >> 4) & 3];
    std::vector<uint8_t> out;
    status error;
    const imatrix_data* im = o.imatrix;
    const size_t chunk = 1 + size % 4099;
    if (!run(*plan, im, file, jo, chunk, out, error)) {
        if (error.message().empty()) std::abort();  // every failure says why
        return 0;
    }
    if (out.size() != plan->file_size) std::abort();
    result<gguf_header> back = read_gguf_header(out.data(), out.size(), out.size());
    if (!back.ok()) std::abort();
    if (back->data_offset != plan->header_size || back->tensors.size() != plan->tensors.size())
        std::abort();
    for (size_t i = 0; i < plan->tensors.size(); ++i) {
        if (back->tensors[i].type != plan->tensors[i].target_type ||
            back->tensors[i].name != plan->tensors[i].name)
            std::abort();
    }
    // The bytes must not depend on how the input is chunked or how rows are grouped in slabs
    // (checked on a quarter of the inputs: it doubles the cost of a run).
    if (size % 4 != 0) return 0;
    quantize_job_options jo2 = jo;
    jo2.max_buffer_bytes = jo.max_buffer_bytes == 0 ? 1 : 0;
    std::vector<uint8_t> again;
    if (!run(*plan, im, file, jo2, size_t(1) << 20, again, error) || again != out) std::abort();
    return 0;
}
