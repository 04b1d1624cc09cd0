#include "kernels/cpu/membw.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/mapped_file.h"
#include "kernels/cpu/cpu_features.h"

namespace glm::kernels {

namespace {
__attribute__((target("avx512f"))) uint64_t read_avx512(const uint8_t* p, size_t n) {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 256 <= n; i += 256) {
    a0 = _mm512_xor_si512(a0, _mm512_load_si512(p + i));
    a1 = _mm512_xor_si512(a1, _mm512_load_si512(p + i + 64));
    a2 = _mm512_xor_si512(a2, _mm512_load_si512(p + i + 128));
    a3 = _mm512_xor_si512(a3, _mm512_load_si512(p + i + 192));
  }
  a0 = _mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3));
  return uint64_t(_mm512_reduce_add_epi64(a0));
}
__attribute__((target("avx2"))) uint64_t read_avx2(const uint8_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 128 <= n; i += 128) {
    a0 = _mm256_xor_si256(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_xor_si256(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_xor_si256(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_xor_si256(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  a0 = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
  uint64_t out[4];
  std::memcpy(out, &a0, 32);
  return out[0] ^ out[1] ^ out[2] ^ out[3];
}
uint64_t read_scalar(const uint8_t* p, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    s ^= v;
  }
  return s;
}
}  // namespace

double measure_read_bandwidth(ThreadPool& pool, size_t bytes, int repeats) {
  bytes = (bytes / 4096) * 4096;
  // The same kind of memory the weights live in (Glm4Weights copies them into huge pages): 4 KiB pages read
  // measurably slower, and a probe that reads slower than decode would make the share meaningless.
  auto mem = AnonymousMemory::allocate(bytes);
  if (!mem) return 0;
  uint8_t* buf = mem->data();
  pool.run([&](int ith, int nth) {  // first touch by the reading thread
    int64_t b, e;
    ThreadPool::split(int64_t(bytes), ith, nth, 4096, &b, &e);
    std::memset(buf + b, ith + 1, size_t(e - b));
  });
  double best = 0;
  std::vector<uint64_t> sink(size_t(pool.n_threads()));
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    pool.run([&](int ith, int nth) {
      int64_t b, e;
      ThreadPool::split(int64_t(bytes), ith, nth, 4096, &b, &e);
      switch (isa()) {
        case Isa::avx512: sink[size_t(ith)] += read_avx512(buf + b, size_t(e - b)); break;
        case Isa::avx2: sink[size_t(ith)] += read_avx2(buf + b, size_t(e - b)); break;
        case Isa::scalar: sink[size_t(ith)] += read_scalar(buf + b, size_t(e - b)); break;
      }
    });
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, double(bytes) / s / 1e9);
  }
  volatile uint64_t keep = 0;
  for (auto v : sink) keep = keep + v;
  (void)keep;
  return best;
}

}  // namespace glm::kernels
