#include "kernels/cpu/swiglu.h"

#include <cmath>

namespace glm::kernels {

void swiglu(float* out, const float* gu, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float g = gu[i];
    out[i] = g / (1.0f + std::exp(-g)) * gu[n + i];
  }
}

}  // namespace glm::kernels
