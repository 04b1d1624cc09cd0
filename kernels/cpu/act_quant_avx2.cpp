// Activations to int8 for the int8 matmul kernels (see matmul_isa.h). Every int8 path needs AVX2 (maddubs or
// VNNI), so this is the only implementation. Decode quantizes each matmul's input on the calling thread while
// the other threads wait: in scalar code that was 3% of a q4_0 token.
#include "kernels/cpu/matmul_isa.h"

#pragma GCC target("avx2,fma")
#include <immintrin.h>

namespace glm::kernels::isa_impl {
namespace {

// max |x[i]| of n (a multiple of 32) floats.
float amax(const float* x, int64_t n) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 m0 = _mm256_setzero_ps(), m1 = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    m0 = _mm256_max_ps(m0, _mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask));
    m1 = _mm256_max_ps(m1, _mm256_and_ps(_mm256_loadu_ps(x + i + 8), abs_mask));
  }
  const __m256 m01 = _mm256_max_ps(m0, m1);
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(m01), _mm256_extractf128_ps(m01, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// 32 floats times id, rounded half away from zero (as ggml: the float r + ±0.5, truncated), as int8 in order.
__m256i round32(const float* x, __m256 id) {
  const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32(int(0x80000000u)));
  __m256i v[4];
  for (int i = 0; i < 4; ++i) {
    const __m256 r = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), id);
    const __m256 half = _mm256_or_ps(_mm256_set1_ps(0.5f), _mm256_and_ps(r, sign));
    v[i] = _mm256_cvttps_epi32(_mm256_add_ps(r, half));
  }
  // packs work within 128-bit lanes: the dwords come out as v0a v1a v2a v3a v0b v1b v2b v3b (a: elements 0-3).
  const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
  return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Σ of each 4 consecutive int8 of q, as 8 int32 in order.
__m256i quad_sums(__m256i q) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
}

int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

}  // namespace

void quantize_token(const float* x, int64_t nb, int span, int32_t offset, int8_t* q, float* d, int32_t* corr,
                    int32_t* seed, float* bsum) {
  float step = 0;
  __m256 id = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const float* xs = x + b * 32;
    if (b * 32 % span == 0) {
      step = amax(xs, span) / 127.0f;
      id = _mm256_set1_ps(step ? 1.0f / step : 0.0f);
    }
    d[b] = step;
    const __m256i qv = round32(xs, id);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + b * 32), qv);
    if (!corr && !seed && !bsum) continue;
    const __m256i quads = quad_sums(qv);
    if (corr) {
      const __m256i c = _mm256_mullo_epi32(quads, _mm256_set1_epi32(-offset));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(corr + b * 8), c);
    }
    const int32_t sum = hsum_i32(quads);
    if (seed) seed[b] = -offset * sum;
    if (bsum) bsum[b] = step * float(sum);
  }
}

void group_k(int dtype, const float* x, int64_t cols, void* out) {
  auto* g = static_cast<KGroup*>(out);
  for (int64_t s = 0; s < cols / 256; ++s, ++g) {
    const float* xs = x + s * 256;
    g->d = amax(xs, 256) / 127.0f;
    const __m256 id = _mm256_set1_ps(g->d ? 1.0f / g->d : 0.0f);
    alignas(32) int32_t quads[64];
    for (int j = 0; j < 8; ++j) {
      const __m256i qv = round32(xs + 32 * j, id);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(g->q + 32 * (dtype == 5 ? kQ4kPlace[j] : j)), qv);
      _mm256_store_si256(reinterpret_cast<__m256i*>(quads + 8 * j), quad_sums(qv));
    }
    for (int i = 0; i < 16; ++i) {
      const int32_t sum = quads[4 * i] + quads[4 * i + 1] + quads[4 * i + 2] + quads[4 * i + 3];
      g->bsum16[i] = int16_t(sum);
      g->q6off[i] = -32 * sum;
    }
    for (int j = 0; j < 8; ++j) {
      g->zero[j] = 0;
      g->bsum32[j] = int16_t(g->bsum16[2 * j] + g->bsum16[2 * j + 1]);
    }
  }
}

}  // namespace glm::kernels::isa_impl
