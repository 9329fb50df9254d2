// Every expected.<case>.<type> and expected_im.<case>.<type> tensor of the golden file, which ggml
// itself wrote, must come out of quantize_rows identical to the last byte on every kernel
// implementation this build and CPU can run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "golden_file.h"
#include "kernel_isa_harness.h"
#include "quant/quantize.h"

namespace gguf_squash {
namespace {

using test_support::golden_file;
using test_support::golden_tensor;

struct golden_case {
    std::string name;     // expected[_im].<case>.<type>
    std::string input;    // input.<case>
    std::string imatrix;  // imatrix.<case> or empty
};

std::vector<golden_case> all_cases() {
    std::vector<golden_case> out;
    for (const golden_tensor& t : golden_file::get().tensors()) {
        const std::string& n = t.info.name;
        const bool im = n.rfind("expected_im.", 0) == 0;
        if (!im && n.rfind("expected.", 0) != 0) continue;
        const std::string rest = n.substr(im ? 12 : 9);
        const std::string c = rest.substr(0, rest.find('.'));
        out.push_back({n, "input." + c, im ? "imatrix." + c : ""});
    }
    return out;
}

std::string first_difference(const std::vector<uint8_t>& got, const std::vector<uint8_t>& want,
                             ggml_type type) {
    for (size_t i = 0; i < want.size(); ++i) {
        if (got[i] != want[i]) {
            const size_t block = i / type_info(type).type_size;
            return "first difference at byte " + std::to_string(i) + " (block " +
                   std::to_string(block) + "): got " + std::to_string(got[i]) + ", want " +
                   std::to_string(want[i]);
        }
    }
    return "";
}

class KernelGolden : public every_kernel_isa {};

// One test per ISA so the count of identical tensors is printed per implementation.
TEST_P(KernelGolden, every_expected_tensor_is_byte_identical) {
    const golden_file& g = golden_file::get();
    ASSERT_EQ(g.error(), "");
    const char* filter = std::getenv("GOLDEN_TYPE_FILTER");  // e.g. "q4_K" to iterate quickly
    size_t identical = 0, total = 0, unsupported = 0;
    std::map<std::string, int> failures_by_type;
    for (const golden_case& c : all_cases()) {
        const golden_tensor* want = g.find(c.name);
        const golden_tensor* input = g.find(c.input);
        const golden_tensor* imatrix = c.imatrix.empty() ? nullptr : g.find(c.imatrix);
        ASSERT_TRUE(want && input) << c.name;
        const ggml_type type = want->info.type;
        if (filter && std::string(type_info(type).ggml_name) != filter) continue;
        ++total;
        if (!can_quantize_to(type)) {
            ++unsupported;
            ADD_FAILURE() << c.name << ": cannot quantize to " << type_name(type) << " yet";
            continue;
        }
        const int64_t n_per_row = int64_t(input->info.ne[0]);
        const int64_t nrows = int64_t(input->info.n_rows());
        std::vector<uint8_t> got(want->bytes.size());
        status s = quantize_rows(
            type, reinterpret_cast<const float*>(input->bytes.data()), got.data(), nrows, n_per_row,
            imatrix ? reinterpret_cast<const float*>(imatrix->bytes.data()) : nullptr);
        if (!s.ok()) {
            ADD_FAILURE() << c.name << ": " << s.message();
            continue;
        }
        if (got == want->bytes) {
            ++identical;
        } else {
            failures_by_type[type_info(type).ggml_name]++;
            ADD_FAILURE() << c.name << " [" << kernel_isa_name(GetParam())
                          << "]: " << first_difference(got, want->bytes, type);
        }
    }
    std::printf("[golden %s] %zu of %zu golden tensors identical (%zu types unsupported)\n",
                kernel_isa_name(GetParam()), identical, total, unsupported);
    for (auto& [t, n] : failures_by_type) std::printf("  %s: %d differ\n", t.c_str(), n);
    // The golden file holds 528 tensors: 22 inputs and imatrices, and 506 expected outputs.
    if (!filter) {
        EXPECT_EQ(g.tensors().size(), 528u);
        EXPECT_EQ(total, 506u);
    }
}

// Dequantizing a golden tensor must equal the format's definition, which we check two ways:
// requantizing the dequantized values reproduces the same bytes for the exactly-representable
// simple formats, and the reconstruction error stays within each format's bound.
TEST(KernelGoldenDequantize, reconstruction_error_is_bounded_per_type) {
    const golden_file& g = golden_file::get();
    ASSERT_EQ(g.error(), "");
    size_t checked = 0;
    for (const golden_case& c : all_cases()) {
        if (c.name.find(".gauss.") == std::string::npos) continue;
        const golden_tensor* want = g.find(c.name);
        const golden_tensor* input = g.find(c.input);
        const ggml_type type = want->info.type;
        if (!can_dequantize(type)) {
            ADD_FAILURE() << "cannot dequantize " << type_name(type);
            continue;
        }
        const int64_t n_per_row = int64_t(input->info.ne[0]);
        const int64_t nrows = int64_t(input->info.n_rows());
        std::vector<float> back(size_t(n_per_row * nrows));
        ASSERT_TRUE(dequantize_rows(type, want->bytes.data(), back.data(), nrows, n_per_row).ok());
        const float* x = reinterpret_cast<const float*>(input->bytes.data());
        double err = 0, energy = 0;
        for (size_t i = 0; i < back.size(); ++i) {
            ASSERT_TRUE(std::isfinite(back[i])) << c.name << " element " << i;
            err += (back[i] - x[i]) * double(back[i] - x[i]);
            energy += double(x[i]) * x[i];
        }
        const double rel = std::sqrt(err / energy);
        // Relative RMS error on Gaussian data: 1-bit/ternary formats are coarse, 8-bit is fine.
        const double bpw = 8.0 * type_info(type).type_size / type_info(type).block_size;
        const double bound = bpw >= 15    ? 1e-2
                             : bpw >= 8   ? 2e-2
                             : bpw >= 4   ? 0.2
                             : bpw >= 2.5 ? 0.45
                                          : 1.0;
        EXPECT_LT(rel, bound) << c.name << " (" << bpw << " bits per weight)";
        // Requantizing what we dequantized must give the same bytes again for formats whose
        // reconstruction is a fixed point of their quantizer (F16, BF16, Q8_0).
        if (type == ggml_type::f16 || type == ggml_type::bf16) {
            std::vector<uint8_t> again(want->bytes.size());
            ASSERT_TRUE(
                quantize_rows(type, back.data(), again.data(), nrows, n_per_row, nullptr).ok());
            EXPECT_EQ(again, want->bytes) << c.name;
        }
        ++checked;
    }
    std::printf("[golden dequantize] %zu gauss tensors checked\n", checked);
    EXPECT_GT(checked, 0u);
}

GS_INSTANTIATE_EVERY_KERNEL_ISA(KernelGolden);

}  // namespace
}  // namespace gguf_squash
