#include "kernels/cpu/rope.h"

#include <cmath>

namespace glm::kernels {

std::vector<double> rope_inv_freq(int n_rot, double base) {
  std::vector<double> f(static_cast<size_t>(n_rot / 2));
  for (int i = 0; i < n_rot / 2; ++i) f[size_t(i)] = std::pow(base, -2.0 * i / n_rot);
  return f;
}

void rope_apply(float* x, int n_heads, int head_dim, int n_rot, int64_t pos, const double* inv_freq) {
  constexpr int kMaxPairs = 512;
  float c[kMaxPairs], s[kMaxPairs];
  const int n_pairs = n_rot / 2 < kMaxPairs ? n_rot / 2 : kMaxPairs;
  for (int i = 0; i < n_pairs; ++i) {
    double th = double(pos) * inv_freq[i];
    c[i] = float(std::cos(th));
    s[i] = float(std::sin(th));
  }
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + int64_t(h) * head_dim;
    for (int i = 0; i < n_pairs; ++i) {
      float a = v[2 * i], b = v[2 * i + 1];
      v[2 * i] = a * c[i] - b * s[i];
      v[2 * i + 1] = a * s[i] + b * c[i];
    }
  }
}

}  // namespace glm::kernels
