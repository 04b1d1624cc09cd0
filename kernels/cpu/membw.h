// kernels/cpu/membw.h — measured memory read bandwidth (the ceiling decode is compared with).
// Threads: uses the pool; call from its owner. Allocates and touches `bytes` of memory for the duration.
#pragma once

#include <cstddef>

#include "kernels/cpu/thread_pool.h"

namespace glm::kernels {

// Best of `repeats` full parallel reads of a `bytes` buffer, in GB/s (1e9 bytes per second).
double measure_read_bandwidth(ThreadPool& pool, size_t bytes, int repeats = 3);

}  // namespace glm::kernels
