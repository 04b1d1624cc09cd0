#include "model/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace glm {

Status SamplerParams::validate() const {
  auto bad = [](const std::string& m) { return make_error(ErrorCode::invalid_argument, "sampler: " + m); };
  if (std::isnan(temperature)) return bad("temperature is NaN");
  if (!(top_p > 0)) return bad("top_p must be in (0, 1]");
  if (!(min_p >= 0 && min_p <= 1)) return bad("min_p must be in [0, 1]");
  if (!(repetition_penalty > 0)) return bad("repetition_penalty must be positive");
  if (std::isnan(presence_penalty) || std::isnan(frequency_penalty)) return bad("penalties must be numbers");
  return {};
}

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {}

Result<int32_t> Sampler::sample(std::span<const float> logits, std::span<const int32_t> history, const uint32_t* mask) {
  const int32_t n = int32_t(logits.size());
  if (n == 0) return make_error(ErrorCode::invalid_argument, "sampler: empty logits");
  cand_.clear();
  for (int32_t i = 0; i < n; ++i) {
    if (mask && !((mask[i >> 5] >> (i & 31)) & 1u)) continue;
    float l = logits[size_t(i)];
    if (std::isnan(l) || l == -INFINITY) continue;
    cand_.push_back({i, l});
  }
  if (cand_.empty())
    return make_error(ErrorCode::invalid_argument, "sampler: no token is allowed (mask or logits exclude all)");

  // Penalties over the recent history.
  const SamplerParams& p = params_;
  if (p.repetition_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
    size_t from = p.penalty_last_n < 0 || size_t(p.penalty_last_n) >= history.size()
                      ? 0
                      : history.size() - size_t(p.penalty_last_n);
    std::unordered_map<int32_t, int> count;
    for (size_t i = from; i < history.size(); ++i) ++count[history[i]];
    if (!count.empty()) {
      for (auto& c : cand_) {
        auto it = count.find(c.id);
        if (it == count.end()) continue;
        if (p.repetition_penalty != 1.0f)
          c.logit = c.logit > 0 ? c.logit / p.repetition_penalty : c.logit * p.repetition_penalty;
        c.logit -= p.presence_penalty + p.frequency_penalty * float(it->second);
      }
    }
  }

  if (p.temperature <= 0) {
    const Cand* best = &cand_[0];
    for (const auto& c : cand_)
      if (c.logit > best->logit) best = &c;  // first (lowest id) wins ties
    return best->id;
  }

  for (auto& c : cand_) c.logit /= p.temperature;
  auto by_logit = [](const Cand& a, const Cand& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
  if (p.top_k > 0 && size_t(p.top_k) < cand_.size()) {
    std::nth_element(cand_.begin(), cand_.begin() + p.top_k, cand_.end(), by_logit);
    cand_.resize(size_t(p.top_k));
  }
  std::sort(cand_.begin(), cand_.end(), by_logit);

  // Softmax over the survivors (sorted, so the max is first).
  probs_.resize(cand_.size());
  double sum = 0;
  for (size_t i = 0; i < cand_.size(); ++i) {
    probs_[i] = std::exp(cand_[i].logit - cand_[0].logit);
    sum += probs_[i];
  }
  for (auto& q : probs_) q = float(q / sum);

  size_t keep = cand_.size();
  if (p.top_p < 1.0f) {
    double acc = 0;
    for (size_t i = 0; i < keep; ++i) {
      acc += probs_[i];
      if (acc >= p.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (p.min_p > 0) {
    const float floor = p.min_p * probs_[0];
    size_t k = 1;
    while (k < keep && probs_[k] >= floor) ++k;
    keep = k;
  }

  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += probs_[i];
  double r = std::uniform_real_distribution<double>(0.0, total)(rng_);
  for (size_t i = 0; i < keep; ++i) {
    r -= probs_[i];
    if (r < 0) return cand_[i].id;
  }
  return cand_[keep - 1].id;
}

}  // namespace glm
