#include "model/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/dot.h"
#include "kernels/cpu/softmax.h"

namespace glm::cpu {

void attention(const AttnShape& s, const AttnContext* ctx, int n_tok, const float* q, int64_t ldq, float* out,
               int64_t ldo, kernels::ThreadPool& pool) {
  const int group = s.n_head / s.n_head_kv;
  const int64_t kv_dim = int64_t(s.n_head_kv) * s.head_dim;
  const float scale = float(1.0 / std::sqrt(double(s.head_dim)));
  const int64_t n_tasks = int64_t(n_tok) * s.n_head;
  auto body = [&](int64_t b, int64_t e) {
    thread_local std::vector<float> scores;
    for (int64_t task = b; task < e; ++task) {
      const int i = int(task / s.n_head), h = int(task % s.n_head), j = h / group;
      const AttnContext& c = ctx[i];
      const float* qh = q + i * ldq + int64_t(h) * s.head_dim;
      float* oh = out + i * ldo + int64_t(h) * s.head_dim;
      scores.resize(size_t(c.n_ctx));
      for (int64_t t = 0; t < c.n_ctx; ++t)
        scores[size_t(t)] = kernels::dot_f32(qh, c.k + t * kv_dim + int64_t(j) * s.head_dim, s.head_dim) * scale;
      kernels::softmax(scores.data(), c.n_ctx);
      std::memset(oh, 0, size_t(s.head_dim) * 4);
      for (int64_t t = 0; t < c.n_ctx; ++t)
        kernels::axpy_f32(scores[size_t(t)], c.v + t * kv_dim + int64_t(j) * s.head_dim, oh, s.head_dim);
    }
  };
  // A unit (one key or value row of one head) is ~head_dim multiply-adds, tens of ns; waking the pool costs about a
  // microsecond. Below ~512 units (a decode step's 16 heads over 32 positions) the calling thread does it alone.
  if (n_tasks * (ctx[0].n_ctx + 1) < 512) {
    body(0, n_tasks);
    return;
  }
  pool.parallel_for(n_tasks, std::max<int64_t>(1, n_tasks / (int64_t(pool.n_threads()) * 4)), body);
}

}  // namespace glm::cpu
