// model/sampler.h — picks the next token from a logits row.
//
// Steps, in order: allowed-token mask (from the grammar) → repetition / presence / frequency penalties over
// the last penalty_last_n tokens of history → greedy when temperature <= 0 → temperature → top-k → top-p →
// min-p → a draw from the remaining distribution with the sampler's own seeded RNG.
// A masked token (or one whose logit is -inf or NaN) is never returned.
//
// Mask format: ceil(n_vocab / 32) uint32 words; token i is allowed iff bit (i % 32) of word i / 32 is set.
//
// Owns: its RNG state (so a seed reproduces a whole generation). Threads: one thread at a time.
// Errors: sample() returns invalid_argument when no token is allowed (empty mask, all logits -inf) or
// when logits is empty.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "base/error.h"

namespace glm {

struct SamplerParams {
  float temperature = 1.0f;          // <= 0: greedy (argmax; ties go to the lowest id)
  int top_k = 0;                     // <= 0: off
  float top_p = 1.0f;                // >= 1: off; keeps the smallest set with probability >= top_p
  float min_p = 0.0f;                // <= 0: off; drops tokens with p < min_p · p_max
  float repetition_penalty = 1.0f;   // 1: off; a seen token's logit l becomes l / r (l > 0) or l · r (l <= 0)
  float presence_penalty = 0.0f;     // subtracted once from each seen token's logit
  float frequency_penalty = 0.0f;    // subtracted once per occurrence
  int penalty_last_n = 64;           // how much history the penalties see; < 0: all of it
  uint64_t seed = 0;

  Status validate() const;  // invalid_argument for negative/NaN values, top_p <= 0, repetition_penalty <= 0
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& params);

  const SamplerParams& params() const { return params_; }

  // logits: one row of n_vocab; history: tokens so far (prompt and generated); mask: null or as above.
  Result<int32_t> sample(std::span<const float> logits, std::span<const int32_t> history, const uint32_t* mask);

 private:
  struct Cand {
    int32_t id;
    float logit;
  };
  SamplerParams params_;
  std::mt19937_64 rng_;
  std::vector<Cand> cand_;
  std::vector<float> probs_;
};

}  // namespace glm
