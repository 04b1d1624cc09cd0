// model/cpu/ffn.h — the GLM-4 MLP: f = (silu(g) ⊙ u) · W_dᵀ with [g | u] = m · W_guᵀ (gate first).
// Threads: uses the pool for the two matmuls; call from the pool's owner.
#pragma once

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/thread_pool.h"

namespace glm::cpu {

// m: n_tok rows of n_embd; gu: scratch n_tok × 2 n_ff; act: scratch n_tok × n_ff; out: n_tok × n_embd.
void ffn(const kernels::MatView& w_gate_up, const kernels::MatView& w_down, const float* m, int n_tok, float* gu,
         float* act, float* out, kernels::ThreadPool& pool, kernels::MatmulActs acts);

}  // namespace glm::cpu
