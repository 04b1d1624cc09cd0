#include "model/cpu/ffn.h"

#include "kernels/cpu/swiglu.h"

namespace glm::cpu {

void ffn(const kernels::MatView& w_gate_up, const kernels::MatView& w_down, const float* m, int n_tok, float* gu,
         float* act, float* out, kernels::ThreadPool& pool, kernels::MatmulActs acts) {
  const int64_t n_embd = w_gate_up.cols, n_ff = w_down.cols;
  kernels::matmul(w_gate_up, m, n_embd, n_tok, gu, 2 * n_ff, pool, acts);
  kernels::ThreadPool::for_each(&pool, n_tok, 8, 4,
                                [&](int64_t i) { kernels::swiglu(act + i * n_ff, gu + i * 2 * n_ff, n_ff); });
  kernels::matmul(w_down, act, n_ff, n_tok, out, n_embd, pool, acts);
}

}  // namespace glm::cpu
