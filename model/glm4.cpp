#include "model/glm4.h"

#include <cstring>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/rms_norm.h"
#include "kernels/cpu/rope.h"
#include "model/cpu/attention.h"
#include "model/cpu/ffn.h"

namespace glm {

Glm4CpuForward::Glm4CpuForward(const Glm4Weights& weights, kernels::ThreadPool& pool, int max_tokens,
                               kernels::MatmulActs acts)
    : w_(weights), pool_(pool), max_tokens_(max_tokens), acts_(acts) {
  const Glm4Config& c = w_.config();
  const RopeYarn& y = c.yarn;
  inv_freq_ = y.on() ? kernels::rope_inv_freq_yarn(c.n_rot, c.rope_theta, y.factor, y.original_context, y.beta_fast,
                                                   y.beta_slow, y.truncate)
                     : kernels::rope_inv_freq(c.n_rot, c.rope_theta);
  rope_scale_ = y.on() ? y.attention_factor : 1.0;
  const size_t n = size_t(max_tokens);
  x_.resize(n * size_t(c.n_embd));
  a_.resize(n * size_t(c.n_embd));
  q_.resize(n * size_t(c.q_dim()));
  k_.resize(n * size_t(c.kv_dim()));
  v_.resize(n * size_t(c.kv_dim()));
  attn_.resize(n * size_t(c.q_dim()));
  proj_.resize(n * size_t(c.n_embd));
  gu_.resize(n * size_t(2 * c.n_ff));
  act_.resize(n * size_t(c.n_ff));
}

void Glm4CpuForward::run(std::span<const ForwardToken> toks, std::span<const int> logit_rows, float* logits) {
  const Glm4Config& c = w_.config();
  const int n = int(toks.size());
  GLM_CHECK(n > 0 && n <= max_tokens_);
  const int64_t d = c.n_embd, qd = c.q_dim(), kvd = c.kv_dim();
  auto trace = [&](const char* name, int il, const float* p, int64_t width) {
    if (trace_) trace_(name, il, p, n, width);
  };
  // Per-token work (norms, residuals) over the pool in prefill; decode's one token stays on this thread.
  auto per_token = [&](auto&& fn) { kernels::ThreadPool::for_each(&pool_, n, 8, 4, [&](int64_t i) { fn(int(i)); }); };
  auto add_bias = [&](float* y, const float* b, int64_t width) {
    if (!b) return;
    for (int i = 0; i < n; ++i)
      for (int64_t j = 0; j < width; ++j) y[i * width + j] += b[j];
  };

  for (int i = 0; i < n; ++i)
    kernels::dequantize_row(w_.token_embd().dtype, w_.token_embd().row(toks[size_t(i)].token), &x_[size_t(i * d)], d);

  std::vector<cpu::AttnContext> ctx(static_cast<size_t>(n));
  const cpu::AttnShape shape{c.n_head, c.n_head_kv, c.head_dim};
  for (int il = 0; il < c.n_layer; ++il) {
    const LayerWeights& L = w_.layer(il);
    // Attention block.
    per_token([&](int i) {
      kernels::rms_norm(&a_[size_t(i * d)], &x_[size_t(i * d)], L.attn_norm, d, c.rms_norm_eps);
    });
    trace("attn_norm", il, a_.data(), d);
    kernels::matmul(L.wq, a_.data(), d, n, q_.data(), qd, pool_, acts_);
    kernels::matmul(L.wk, a_.data(), d, n, k_.data(), kvd, pool_, acts_);
    kernels::matmul(L.wv, a_.data(), d, n, v_.data(), kvd, pool_, acts_);
    add_bias(q_.data(), L.bq, qd);
    add_bias(k_.data(), L.bk, kvd);
    add_bias(v_.data(), L.bv, kvd);
    for (int i = 0; i < n; ++i) {
      const ForwardToken& t = toks[size_t(i)];
      kernels::rope_apply(&q_[size_t(i * qd)], c.n_head, c.head_dim, c.n_rot, t.pos, inv_freq_.data(), rope_scale_);
      kernels::rope_apply(&k_[size_t(i * kvd)], c.n_head_kv, c.head_dim, c.n_rot, t.pos, inv_freq_.data(), rope_scale_);
      std::memcpy(t.kv->k(il, t.pos), &k_[size_t(i * kvd)], size_t(kvd) * 4);
      std::memcpy(t.kv->v(il, t.pos), &v_[size_t(i * kvd)], size_t(kvd) * 4);
      ctx[size_t(i)] = {t.kv->k(il, 0), t.kv->v(il, 0), t.pos + 1};
    }
    trace("q", il, q_.data(), qd);
    trace("k", il, k_.data(), kvd);
    trace("v", il, v_.data(), kvd);
    cpu::attention(shape, ctx.data(), n, q_.data(), qd, attn_.data(), qd, pool_);
    trace("attn_out", il, attn_.data(), qd);
    kernels::matmul(L.wo, attn_.data(), qd, n, proj_.data(), d, pool_, acts_);
    trace("attn_proj", il, proj_.data(), d);
    per_token([&](int i) {
      float* p = &proj_[size_t(i * d)];
      kernels::rms_norm(p, p, L.post_attn_norm, d, c.rms_norm_eps);
      float* x = &x_[size_t(i * d)];
      for (int64_t j = 0; j < d; ++j) x[j] += p[j];
    });
    trace("ffn_inp", il, x_.data(), d);
    // MLP block.
    per_token([&](int i) {
      kernels::rms_norm(&a_[size_t(i * d)], &x_[size_t(i * d)], L.ffn_norm, d, c.rms_norm_eps);
    });
    cpu::ffn(L.w_gate_up, L.w_down, a_.data(), n, gu_.data(), act_.data(), proj_.data(), pool_, acts_);
    trace("ffn_out", il, proj_.data(), d);
    per_token([&](int i) {
      float* p = &proj_[size_t(i * d)];
      kernels::rms_norm(p, p, L.post_ffn_norm, d, c.rms_norm_eps);
      float* x = &x_[size_t(i * d)];
      for (int64_t j = 0; j < d; ++j) x[j] += p[j];
    });
    trace("l_out", il, x_.data(), d);
  }

  if (logit_rows.empty()) return;
  const int nr = int(logit_rows.size());
  for (int r = 0; r < nr; ++r)
    kernels::rms_norm(&a_[size_t(r * d)], &x_[size_t(logit_rows[size_t(r)] * d)], w_.output_norm(), d, c.rms_norm_eps);
  if (trace_) trace_("result_norm", -1, a_.data(), nr, d);
  kernels::matmul(w_.output(), a_.data(), d, nr, logits, c.n_vocab, pool_, acts_);
}

}  // namespace glm
