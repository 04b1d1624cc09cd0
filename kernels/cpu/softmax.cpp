#include "kernels/cpu/softmax.h"

#include <cmath>

#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12 on the AVX-512 intrinsics
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/simd_exp.h"

namespace glm::kernels {
namespace {

// x[i] = e^(x[i] - m) for all i, returning their sum in double (the tail after the last full vector in expf).
__attribute__((target("avx512f"))) double exp_sum_avx512(float* x, int64_t n, float m) {
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 e = simd::exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), _mm512_set1_ps(m)));
    _mm512_storeu_ps(x + i, e);
    s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
  }
  double sum = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
  for (; i < n; ++i) sum += x[i] = std::exp(x[i] - m);
  return sum;
}

__attribute__((target("avx2,fma"))) double exp_sum_avx2(float* x, int64_t n, float m) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = simd::exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_set1_ps(m)));
    _mm256_storeu_ps(x + i, e);
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(s0, s1));
  double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; i < n; ++i) sum += x[i] = std::exp(x[i] - m);
  return sum;
}

}  // namespace

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  float m = x[0];
  for (int64_t i = 1; i < n; ++i) m = x[i] > m ? x[i] : m;
  double sum = 0;
  switch (isa()) {
    case Isa::avx512: sum = exp_sum_avx512(x, n, m); break;
    case Isa::avx2: sum = exp_sum_avx2(x, n, m); break;
    case Isa::scalar:
      for (int64_t i = 0; i < n; ++i) sum += x[i] = std::exp(x[i] - m);
      break;
  }
  const float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace glm::kernels
