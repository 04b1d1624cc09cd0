#include "kernels/cpu/swiglu.h"

#include <cmath>

#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12 on the AVX-512 intrinsics
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/simd_exp.h"

namespace glm::kernels {
namespace {

__attribute__((target("avx512f"))) int64_t swiglu_avx512(float* out, const float* gu, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 g = _mm512_loadu_ps(gu + i);
    const __m512 e = simd::exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
    const __m512 silu = _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    _mm512_storeu_ps(out + i, _mm512_mul_ps(silu, _mm512_loadu_ps(gu + n + i)));
  }
  return i;
}

__attribute__((target("avx2,fma"))) int64_t swiglu_avx2(float* out, const float* gu, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gu + i);
    const __m256 e = simd::exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(gu + n + i)));
  }
  return i;
}

}  // namespace

void swiglu(float* out, const float* gu, int64_t n) {
  int64_t i = 0;
  switch (isa()) {
    case Isa::avx512: i = swiglu_avx512(out, gu, n); break;
    case Isa::avx2: i = swiglu_avx2(out, gu, n); break;
    case Isa::scalar: break;
  }
  for (; i < n; ++i) {
    const float g = gu[i];
    out[i] = g / (1.0f + std::exp(-g)) * gu[n + i];
  }
}

}  // namespace glm::kernels
