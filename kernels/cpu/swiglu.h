// kernels/cpu/swiglu.h — out[i] = silu(gu[i]) * gu[n + i], silu(z) = z / (1 + e^−z): the fused gate_up
// output [gate | up] of width 2n (gate is the FIRST half). Threads: pure function.
#pragma once

#include <cstdint>

namespace glm::kernels {

void swiglu(float* out, const float* gu, int64_t n);

}  // namespace glm::kernels
