// Builds the kernel tables and chooses one, once. Highway's advice holds here: dispatch is
// hoisted out of the kernels, so a kernel never asks which CPU it runs on.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>

#include "kernel_table.h"
#include "quantize.h"

namespace gguf_squash {
namespace {

kernel_table build_scalar_table() {
    kernel_table t;
    register_f16_bf16_ref(t);
    register_legacy_ref(t);
    register_k_quants_ref(t);
    register_low_bit_ref(t);
    register_iq_ref(t);
    register_iq3_ref(t);
    return t;
}

// What this build can read and write: the scalar reference's entries. Every ISA table starts as a
// copy of it and only replaces entries, so the answer is the same whichever table is active, and
// asking it neither chooses a table nor reads GGUF_SQUASH_KERNELS. A function-local static, so
// that a caller running before main (a test's parameter generator) still finds it built.
const kernel_table& scalar_capabilities() {
    static const kernel_table table = build_scalar_table();
    return table;
}

bool cpu_supports(kernel_isa isa) {
    switch (isa) {
        case kernel_isa::scalar:
            return true;
#if defined(GGUF_SQUASH_HAVE_X86_KERNELS)
        case kernel_isa::sse4:
            return __builtin_cpu_supports("sse4.1");
        case kernel_isa::avx2:
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("sse4.1");
#endif
#if defined(GGUF_SQUASH_HAVE_WASM128_KERNELS)
        case kernel_isa::wasm128:
            return true;
#endif
        default:
            return false;
    }
}

kernel_table build_table(kernel_isa isa) {
    kernel_table t = build_scalar_table();
    switch (isa) {
#if defined(GGUF_SQUASH_HAVE_X86_KERNELS)
        case kernel_isa::sse4:
            register_sse4_kernels(t);
            break;
        case kernel_isa::avx2:
            register_avx2_kernels(t);
            break;
#endif
#if defined(GGUF_SQUASH_HAVE_WASM128_KERNELS)
        case kernel_isa::wasm128:
            register_wasm128_kernels(t);
            break;
#endif
        default:
            break;
    }
    return t;
}

kernel_isa best_isa() {
    kernel_isa best = kernel_isa::scalar;
    for (kernel_isa isa : available_kernel_isas()) best = isa;  // listed in increasing order
    return best;
}

std::string available_names() {
    std::string names;
    for (kernel_isa isa : available_kernel_isas()) {
        if (!names.empty()) names += ", ";
        names += kernel_isa_name(isa);
    }
    return names;
}

struct dispatch_state {
    std::once_flag once;
    std::atomic<const kernel_table*> table{nullptr};
    std::atomic<kernel_isa> isa{kernel_isa::scalar};
    // Set when GGUF_SQUASH_KERNELS names something this build or CPU cannot run. Quantizing with
    // another implementation than the one asked for would hide a mistyped benchmark or test
    // switch, so every quantize/dequantize call returns this until set_kernel_isa chooses one.
    std::atomic<bool> environment_failed{false};  // the fast check on every call
    status environment_error;
    std::mutex environment_mutex;
    kernel_table tables[4];
};

dispatch_state& state() {
    static dispatch_state s;
    return s;
}

void init_tables() {
    dispatch_state& s = state();
    std::call_once(s.once, [&] {
        for (kernel_isa isa : available_kernel_isas()) s.tables[int(isa)] = build_table(isa);
        kernel_isa chosen = best_isa();
        const char* env = std::getenv("GGUF_SQUASH_KERNELS");
        if (env && *env) {
            result<kernel_isa> named = kernel_isa_from_name(env);
            if (named.ok()) {
                chosen = named.value();
            } else {
                s.environment_error = make_error(named.error().code(),
                                                 "GGUF_SQUASH_KERNELS: " + named.error().message());
                s.environment_failed = true;
            }
        }
        s.isa = chosen;
        s.table = &s.tables[int(chosen)];
    });
}

status environment_status() {
    dispatch_state& s = state();
    if (!s.environment_failed.load(std::memory_order_acquire)) return {};
    std::lock_guard<std::mutex> lock(s.environment_mutex);
    return s.environment_error;
}

const kernel_table& active_table() {
    init_tables();
    return *state().table.load(std::memory_order_acquire);
}

status check_rows(ggml_type type, int64_t nrows, int64_t n_per_row) {
    const ggml_type_info* info = ggml_type_lookup(uint32_t(type));
    if (!info || !info->valid)
        return make_error(status_code::invalid_argument, "unknown tensor type");
    if (nrows < 0 || n_per_row <= 0 || n_per_row % info->block_size != 0) {
        return make_error(status_code::invalid_argument,
                          std::string("row length ") + std::to_string(n_per_row) +
                              " is not a multiple of " + info->name + "'s block size " +
                              std::to_string(info->block_size));
    }
    return {};
}

}  // namespace

const char* kernel_isa_name(kernel_isa isa) {
    switch (isa) {
        case kernel_isa::scalar:
            return "scalar";
        case kernel_isa::sse4:
            return "sse4";
        case kernel_isa::avx2:
            return "avx2";
        case kernel_isa::wasm128:
            return "wasm128";
    }
    return "?";
}

std::vector<kernel_isa> available_kernel_isas() {
    std::vector<kernel_isa> out;
    for (kernel_isa isa :
         {kernel_isa::scalar, kernel_isa::sse4, kernel_isa::avx2, kernel_isa::wasm128})
        if (cpu_supports(isa)) out.push_back(isa);
    return out;
}

result<kernel_isa> kernel_isa_from_name(std::string_view name) {
    for (kernel_isa isa :
         {kernel_isa::scalar, kernel_isa::sse4, kernel_isa::avx2, kernel_isa::wasm128}) {
        if (name != kernel_isa_name(isa)) continue;
        if (!cpu_supports(isa))
            return make_error(status_code::unsupported,
                              std::string("kernel implementation '") + kernel_isa_name(isa) +
                                  "' is not available in this build or on this CPU (available: " +
                                  available_names() + ")");
        return isa;
    }
    return make_error(
        status_code::invalid_argument,
        "unknown kernel implementation '" + std::string(name) +
            "' (known: scalar, sse4, avx2, wasm128; available here: " + available_names() + ")");
}

status kernel_selection_status() {
    init_tables();
    return environment_status();
}

kernel_isa active_kernel_isa() {
    init_tables();
    return state().isa.load();
}

status set_kernel_isa(kernel_isa isa) {
    init_tables();
    if (!cpu_supports(isa))
        return make_error(status_code::unsupported,
                          std::string("kernel implementation ") + kernel_isa_name(isa) +
                              " is not available in this build or on this CPU");
    dispatch_state& s = state();
    s.isa = isa;
    s.table.store(&s.tables[int(isa)], std::memory_order_release);
    std::lock_guard<std::mutex> lock(s.environment_mutex);
    s.environment_error = {};
    s.environment_failed = false;
    return {};
}

bool can_quantize_to(ggml_type type) {
    if (type == ggml_type::f32) return true;
    const ggml_type_info* info = ggml_type_lookup(uint32_t(type));
    return info && info->valid && scalar_capabilities().quantize[uint32_t(type)] != nullptr;
}

bool can_dequantize(ggml_type type) {
    if (type == ggml_type::f32) return true;
    const ggml_type_info* info = ggml_type_lookup(uint32_t(type));
    return info && info->valid && scalar_capabilities().dequantize[uint32_t(type)] != nullptr;
}

bool quantize_requires_imatrix(ggml_type type) {
    return type == ggml_type::iq2_xxs || type == ggml_type::iq2_xs || type == ggml_type::iq1_s;
}

status quantize_rows(ggml_type type, const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                     const float* imatrix) {
    GS_RETURN_IF_ERROR(kernel_selection_status());
    GS_RETURN_IF_ERROR(check_rows(type, nrows, n_per_row));
    if (type == ggml_type::f32) {
        std::memcpy(dst, src, size_t(nrows * n_per_row) * sizeof(float));
        return {};
    }
    quantize_fn fn = active_table().quantize[uint32_t(type)];
    if (!fn)
        return make_error(status_code::unsupported,
                          std::string("cannot quantize to ") + type_name(type));
    if (!imatrix && quantize_requires_imatrix(type))
        return make_error(status_code::refused,
                          std::string(type_name(type)) + " requires an importance matrix");
    fn(src, dst, nrows, n_per_row, imatrix);
    return {};
}

status dequantize_rows(ggml_type type, const void* src, float* dst, int64_t nrows,
                       int64_t n_per_row) {
    GS_RETURN_IF_ERROR(kernel_selection_status());
    GS_RETURN_IF_ERROR(check_rows(type, nrows, n_per_row));
    if (type == ggml_type::f32) {
        std::memcpy(dst, src, size_t(nrows * n_per_row) * sizeof(float));
        return {};
    }
    dequantize_fn fn = active_table().dequantize[uint32_t(type)];
    if (!fn)
        return make_error(status_code::unsupported,
                          std::string("cannot dequantize ") + type_name(type));
    fn(src, dst, nrows * n_per_row);
    return {};
}

}  // namespace gguf_squash
