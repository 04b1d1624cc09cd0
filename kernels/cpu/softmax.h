// kernels/cpu/softmax.h — in-place numerically stable softmax of n floats (max subtracted, fp32 exp,
// f64 sum). Threads: pure function.
#pragma once

#include <cstdint>

namespace glm::kernels {

void softmax(float* x, int64_t n);

}  // namespace glm::kernels
