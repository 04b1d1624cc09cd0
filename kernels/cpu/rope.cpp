#include "kernels/cpu/rope.h"

#include <algorithm>
#include <cmath>

namespace glm::kernels {

std::vector<double> rope_inv_freq(int n_rot, double base) {
  std::vector<double> f(static_cast<size_t>(n_rot / 2));
  for (int i = 0; i < n_rot / 2; ++i) f[size_t(i)] = std::pow(base, -2.0 * i / n_rot);
  return f;
}

std::vector<double> rope_inv_freq_yarn(int n_rot, double base, double factor, int64_t original_context,
                                       double beta_fast, double beta_slow, bool truncate) {
  // The dim whose pair turns `rotations` times over the original context.
  auto dim_for = [&](double rotations) {
    return n_rot * std::log(double(original_context) / (rotations * 2 * M_PI)) / (2 * std::log(base));
  };
  double low = dim_for(beta_fast), high = dim_for(beta_slow);
  if (truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, double(n_rot - 1));
  if (low == high) high += 0.001;
  std::vector<double> f = rope_inv_freq(n_rot, base);
  for (int i = 0; i < n_rot / 2; ++i) {
    const double extrapolate = 1 - std::clamp((i - low) / (high - low), 0.0, 1.0);
    f[size_t(i)] = f[size_t(i)] / factor * (1 - extrapolate) + f[size_t(i)] * extrapolate;
  }
  return f;
}

void rope_apply(float* x, int n_heads, int head_dim, int n_rot, int64_t pos, const double* inv_freq, double scale) {
  constexpr int kMaxPairs = 512;
  float c[kMaxPairs], s[kMaxPairs];
  const int n_pairs = n_rot / 2 < kMaxPairs ? n_rot / 2 : kMaxPairs;
  for (int i = 0; i < n_pairs; ++i) {
    double th = double(pos) * inv_freq[i];
    c[i] = float(std::cos(th) * scale);
    s[i] = float(std::sin(th) * scale);
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
