// Scalar scale searches shared by the K-quants, the legacy types' imatrix paths and some IQ types.
// Each one reproduces the float operations of ggml's helper of the same name in the same order
// (ggml-quants.c), because the chosen scale and levels decide the output bytes.
//
// Conventions (as in ggml): `n` values `x`, levels written to `L`, and the returned value is the
// scale. Weighted variants take per-element importance weights.
#pragma once

#include <cstdint>

namespace gguf_squash {

// ggml's GROUP_MAX_EPS: a group whose largest magnitude is below this is treated as all zero.
inline constexpr float kGroupMaxEps = 1e-15f;

// Symmetric quantization to levels in [-nmax, nmax-1], stored biased as L = l + nmax.
// rmse_type 0: plain max-based scale. 1..4: least-squares refinement over 18 trial scales with
// weights qw (or, when qw is null, x^2, 1, |x|, sqrt|x| for types 1..4). A negative rmse_type
// returns after the first refinement step (0.5 * (ls scale + max scale)).
float make_qx_quants(int n, int nmax, const float* x, int8_t* L, int rmse_type, const float* qw);

// Q3_K's symmetric search without imatrix: levels in [-nmax, nmax-1] stored biased by nmax;
// with do_rmse, iterative per-element level improvement weighted by x^2.
float make_q3_quants(int n, int nmax, const float* x, int8_t* L, bool do_rmse);

// Asymmetric (scale + min) search with levels in [0, nmax]. Returns the scale and writes the
// negated minimum to *the_min. Laux is scratch of n bytes. weights must be non-null.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                       float* the_min, uint8_t* Laux, float rmin, float rdelta, int nstep,
                       bool use_mad);

// As make_qkx2_quants, but a null `weights` means x^2 weights, and an all-equal group is
// detected with max <= min.
float make_qkx3_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                       float* the_min, uint8_t* Laux, float rmin, float rdelta, int nstep,
                       bool use_mad);

// Non-negative values (sub-block scales or mins) to levels in [0, nmax] with weights
// quant_weights: best of 9 trial scales, then iterative per-element improvement.
float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* quant_weights);

// The part of make_qp_quants after the trial scales (which SIMD callers may search their own
// way, with the same floats): the levels at the chosen inverse scale `iscale`, then the
// iterative per-element improvement. Returns the scale.
float make_qp_quants_refine(int n, int nmax, const float* x, uint8_t* L, const float* quant_weights,
                            float iscale);

}  // namespace gguf_squash
