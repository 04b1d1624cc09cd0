// kernels/cpu/rms_norm.h — y = w ⊙ x / sqrt(mean(x²) + eps), one row of n floats (fp32 math, sum in f64).
// y may alias x. Threads: pure function.
#pragma once

#include <cstdint>

namespace glm::kernels {

void rms_norm(float* y, const float* x, const float* w, int64_t n, float eps);

}  // namespace glm::kernels
