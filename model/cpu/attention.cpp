#include "model/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/gqa.h"
#include "kernels/cpu/softmax.h"

namespace glm::cpu {

void attention(const AttnShape& s, const AttnContext* ctx, int n_tok, const float* q, int64_t ldq, float* out,
               int64_t ldo, kernels::ThreadPool& pool) {
  const int group = s.n_head / s.n_head_kv;
  const int64_t kv_dim = int64_t(s.n_head_kv) * s.head_dim;
  const float scale = float(1.0 / std::sqrt(double(s.head_dim)));
  // A task: one token's query heads [h0, h0 + heads) of one K/V head, heads <= kGqaHeads, so each cache row is
  // read once for them all and a decode step still has several tasks per thread (16 heads, 2 K/V heads: 4).
  const int per_kv = (group + kernels::kGqaHeads - 1) / kernels::kGqaHeads;
  const int64_t n_tasks = int64_t(n_tok) * s.n_head_kv * per_kv;
  auto body = [&](int64_t b, int64_t e) {
    thread_local std::vector<float> scores;
    for (int64_t task = b; task < e; ++task) {
      const int i = int(task / (s.n_head_kv * per_kv)), j = int(task / per_kv % s.n_head_kv);
      const int sub = int(task % per_kv), h0 = j * group + sub * kernels::kGqaHeads;
      const int heads = std::min(kernels::kGqaHeads, group - sub * kernels::kGqaHeads);
      const AttnContext& c = ctx[i];
      scores.resize(size_t(heads * c.n_ctx));
      kernels::gqa_scores(q + i * ldq + int64_t(h0) * s.head_dim, s.head_dim, heads, c.k + int64_t(j) * s.head_dim,
                          kv_dim, c.n_ctx, s.head_dim, scale, scores.data(), c.n_ctx);
      for (int g = 0; g < heads; ++g) kernels::softmax(scores.data() + g * c.n_ctx, c.n_ctx);
      kernels::gqa_values(scores.data(), c.n_ctx, heads, c.v + int64_t(j) * s.head_dim, kv_dim, c.n_ctx, s.head_dim,
                          out + i * ldo + int64_t(h0) * s.head_dim, s.head_dim);
    }
  };
  // A head at one position is ~2 head_dim multiply-adds and an exp, a few ns; waking the pool costs about a
  // microsecond. Below 512 of them (a decode step's 16 heads over 32 positions) the calling thread does it alone.
  if (int64_t(n_tok) * s.n_head * (ctx[0].n_ctx + 1) < 512) {
    body(0, n_tasks);
    return;
  }
  pool.parallel_for(n_tasks, std::max<int64_t>(1, n_tasks / (int64_t(pool.n_threads()) * 4)), body);
}

}  // namespace glm::cpu
