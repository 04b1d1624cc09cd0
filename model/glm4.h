// model/glm4.h — the GLM-4 forward pass on the CPU, exactly as reference/glm4.md §2, layer by layer:
//   x = E[tok]; per layer: a = RMS(x) → q,k,v (+bias) → RoPE (adjacent pairs, first n_rot dims) →
//   cache k,v → GQA attention → o_proj → x += RMS(A; post_self_attn) → m = RMS(x; post_attention) →
//   gate_up → SwiGLU → down → x += RMS(f; post_mlp);  logits = RMS(x; norm) · lm_headᵀ.
// Activations are fp32 throughout; weights are read as stored; the matmuls take their activations as `acts` says
// (kernels/cpu/matmul.h: f32 is exact, compact rounds them as llama.cpp does).
//
// Owns: scratch buffers for up to max_tokens tokens per run(). Shares: the weights and the pool (both
// must outlive it). Threads: run() from the pool's owner only; one run() at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/thread_pool.h"
#include "model/cpu/kv_cache.h"
#include "model/weights.h"

namespace glm {

struct ForwardToken {
  int32_t token = 0;      // in [0, n_vocab) (checked by the caller)
  int64_t pos = 0;        // its position; kv must already hold at least pos + 1 rows
  cpu::KvCache* kv = nullptr;
};

// Called with each named intermediate (n_tok rows of `width` floats): "attn_norm", "q", "k", "v" (after
// RoPE), "attn_out", "attn_proj", "ffn_inp", "ffn_out", "l_out", "result_norm".
using ForwardTrace = std::function<void(const char* name, int il, const float* data, int n_tok, int64_t width)>;

class Glm4CpuForward {
 public:
  Glm4CpuForward(const Glm4Weights& weights, kernels::ThreadPool& pool, int max_tokens, kernels::MatmulActs acts);

  int max_tokens() const { return max_tokens_; }
  void set_trace(ForwardTrace trace) { trace_ = std::move(trace); }

  // Runs tokens.size() <= max_tokens tokens (one prefill chunk of one sequence, or one token of each of
  // several sequences). Tokens of one sequence must come in position order. Writes one logits row per
  // entry of logit_rows (indices into tokens) to `logits`, in that order.
  void run(std::span<const ForwardToken> tokens, std::span<const int> logit_rows, float* logits);

 private:
  const Glm4Weights& w_;
  kernels::ThreadPool& pool_;
  int max_tokens_;
  kernels::MatmulActs acts_;
  std::vector<double> inv_freq_;
  double rope_scale_ = 1.0;  // YaRN's attention factor on cos and sin
  std::vector<float> x_, a_, q_, k_, v_, attn_, proj_, gu_, act_;
  ForwardTrace trace_;
};

}  // namespace glm
