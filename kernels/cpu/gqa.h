// kernels/cpu/gqa.h — the two products of grouped-query attention for up to kGqaHeads query heads that share one
// K/V head: the scores s = scale · q Kᵀ and the weighted sum o = p V, fp32, SIMD per isa().
//
// Each K or V row (one cache position) is loaded once for all the heads instead of once per head, several rows at
// a time. Every output is computed by the same arithmetic whatever n, the heads' count or the position's place in
// a tile (each score: lanes over d in order, then one fixed tree; each weighted sum: t in order), so a decode step
// and a full forward agree bit for bit. Threads: pure functions.
#pragma once

#include <cstdint>

#include "kernels/cpu/cpu_features.h"

namespace glm::kernels {

inline constexpr int kGqaHeads = 4;

// s[g·lds + t] = scale · Σ_c q[g·ldq + c] · k[t·ldk + c]  for g < heads (1..kGqaHeads), t < n, c < d.
// level: the SIMD level (at most isa(); tests run each).
void gqa_scores(const float* q, int64_t ldq, int heads, const float* k, int64_t ldk, int64_t n, int d, float scale,
                float* s, int64_t lds, Isa level = isa());

// o[g·ldo + c] = Σ_t p[g·ldp + t] · v[t·ldv + c]  for g < heads (1..kGqaHeads), c < d, t < n in order.
void gqa_values(const float* p, int64_t ldp, int heads, const float* v, int64_t ldv, int64_t n, int d, float* o,
                int64_t ldo, Isa level = isa());

}  // namespace glm::kernels
