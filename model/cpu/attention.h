// model/cpu/attention.h — causal GQA attention of a batch of query tokens over their sequences' caches.
//
// Token i attends to K/V rows [0, ctx[i].n_ctx) of its own cache (its own row already written there):
//   o_h = softmax_t(q_h · k_{j(h)}(t) / sqrt(head_dim)) · v_{j(h)}(t),  j(h) = h / (n_head / n_head_kv)
// All in fp32 (scores, softmax, P·V). Threads: splits (token, head) pairs over the pool; call from the
// pool's owner.
#pragma once

#include <cstdint>

#include "kernels/cpu/thread_pool.h"

namespace glm::cpu {

struct AttnContext {
  const float* k = nullptr;  // [n_ctx, n_head_kv * head_dim] of one layer
  const float* v = nullptr;
  int64_t n_ctx = 0;
};

struct AttnShape {
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;
};

// q: n_tok rows of n_head * head_dim (ldq apart); out likewise (ldo apart).
void attention(const AttnShape& shape, const AttnContext* ctx, int n_tok, const float* q, int64_t ldq, float* out,
               int64_t ldo, kernels::ThreadPool& pool);

}  // namespace glm::cpu
