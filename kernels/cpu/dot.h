// kernels/cpu/dot.h — f32 vector primitives for attention: dot(a, b) and y += a · x (fp32, SIMD per isa()).
// Threads: pure functions.
#pragma once

#include <cstdint>

namespace glm::kernels {

float dot_f32(const float* a, const float* b, int64_t n);
void axpy_f32(float a, const float* x, float* y, int64_t n);

}  // namespace glm::kernels
