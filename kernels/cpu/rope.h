// kernels/cpu/rope.h — rotary position embedding on ADJACENT pairs (GPT-J / ggml "NORM" style), partial.
//
// For each of n_heads heads of head_dim floats at x + h * head_dim, and i < n_rot / 2:
//   θ = pos · inv_freq[i];  (x[2i], x[2i+1]) ← (x[2i] cos θ − x[2i+1] sin θ, x[2i] sin θ + x[2i+1] cos θ)
// Dimensions n_rot .. head_dim − 1 pass through. inv_freq[i] = base^(−2i / n_rot) (rope_inv_freq()), or the
// YaRN blend (rope_inv_freq_yarn()), whose cos and sin are also multiplied by `scale` (its attention factor).
// θ, cos and sin are computed in double and rounded to float. Threads: pure functions.
#pragma once

#include <cstdint>
#include <vector>

namespace glm::kernels {

std::vector<double> rope_inv_freq(int n_rot, double base);

// YaRN (transformers' _compute_yarn_parameters, with `factor` as given): pair i keeps its original frequency
// below the ramp (dims that turn more than beta_fast times within original_context), is divided by `factor`
// above it (fewer than beta_slow turns), and blends linearly in between.
std::vector<double> rope_inv_freq_yarn(int n_rot, double base, double factor, int64_t original_context,
                                       double beta_fast, double beta_slow, bool truncate);

void rope_apply(float* x, int n_heads, int head_dim, int n_rot, int64_t pos, const double* inv_freq,
                double scale = 1.0);

}  // namespace glm::kernels
