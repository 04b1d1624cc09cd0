#include "kernels/cpu/rms_norm.h"

#include <cmath>

namespace glm::kernels {

void rms_norm(float* y, const float* x, const float* w, int64_t n, float eps) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += double(x[i]) * x[i];
  const float scale = float(1.0 / std::sqrt(ss / double(n) + double(eps)));
  for (int64_t i = 0; i < n; ++i) y[i] = w[i] * (x[i] * scale);
}

}  // namespace glm::kernels
