// model/cpu/kv_cache.h — the KV cache of one sequence on the CPU backend: fp32 K and V rows of kv_dim
// floats per layer and position (kept fp32 so cached attention equals recomputation bit for bit).
//
// Owns: its buffers (grown geometrically). Threads: one writer (the engine thread) between forward
// passes; during a forward pass worker threads read rows and write disjoint rows.
#pragma once

#include <cstdint>
#include <vector>

namespace glm::cpu {

class KvCache {
 public:
  KvCache(int n_layer, int64_t kv_dim) : kv_dim_(kv_dim), k_(size_t(n_layer)), v_(size_t(n_layer)) {}

  int64_t length() const { return n_; }
  int64_t kv_dim() const { return kv_dim_; }
  // Sets the number of positions held (grows or drops the tail); new rows are zero.
  void resize(int64_t n) {
    for (auto& k : k_) k.resize(size_t(n * kv_dim_));
    for (auto& v : v_) v.resize(size_t(n * kv_dim_));
    n_ = n;
  }
  float* k(int il, int64_t pos) { return k_[size_t(il)].data() + pos * kv_dim_; }
  float* v(int il, int64_t pos) { return v_[size_t(il)].data() + pos * kv_dim_; }
  const float* k(int il, int64_t pos) const { return k_[size_t(il)].data() + pos * kv_dim_; }
  const float* v(int il, int64_t pos) const { return v_[size_t(il)].data() + pos * kv_dim_; }
  size_t n_bytes() const { return size_t(n_) * size_t(kv_dim_) * 4 * 2 * k_.size(); }

  // This cache becomes the first n positions of `other` (n <= other.length()).
  void assign_prefix(const KvCache& other, int64_t n) {
    for (size_t il = 0; il < k_.size(); ++il) {
      k_[il].assign(other.k_[il].begin(), other.k_[il].begin() + n * kv_dim_);
      v_[il].assign(other.v_[il].begin(), other.v_[il].begin() + n * kv_dim_);
    }
    n_ = n;
  }

 private:
  int64_t kv_dim_;
  int64_t n_ = 0;
  std::vector<std::vector<float>> k_, v_;
};

}  // namespace glm::cpu
