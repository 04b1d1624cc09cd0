// AVX2 int8 kernels for q8_0 / q4_0 weights against int8-quantized activations (see matmul.h): decode and small
// batches on CPUs without AVX-512 VNNI. Per 32-block: maddubs (u8 × s8 into s16 pairs) and madd with ones (into
// s32 per 4-byte group). q8_0's signed weights go through the sign trick (|w| against x with w's sign, exact:
// pairs stay within ±32512); q4_0's nibbles 0..15 are unsigned already and the activations' correction
// -8·Σx of each group (ActQ8::corr) makes them q - 8. Then one fp32 FMA per block with both scales.
#include "kernels/cpu/matmul_isa.h"

#pragma GCC target("avx2,fma,f16c")
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

namespace glm::kernels::isa_impl {
namespace {

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  __builtin_memcpy(&v, p, 2);
  return v;
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The exact int32 sums of one 32-block per 4-byte group.
inline __m256i block_q8(const uint8_t* b, const int8_t* xq) {
  const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2));
  const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq));
  const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
  return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

inline __m256i block_q4(const uint8_t* b, const int8_t* xq, const int32_t* corr) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 2));
  const __m256i w = _mm256_and_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(v), _mm_srli_epi16(v, 4), 1),
                                     _mm256_set1_epi8(15));
  const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq));
  const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1));
  return _mm256_add_epi32(s, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr)));
}

template <bool kQ4>
float row_dot(const uint8_t* row, int64_t nb, const ActQ8& xq, int64_t t) {
  constexpr int kBytes = kQ4 ? 18 : 34;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();  // two chains
  int64_t kb = 0;
  auto step = [&](int64_t k, __m256 acc) {
    const uint8_t* b = row + k * kBytes;
    const int64_t i = t * nb + k;
    const __m256i s = kQ4 ? block_q4(b, xq.q + i * 32, xq.corr + i * 8) : block_q8(b, xq.q + i * 32);
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(_cvtsh_ss(load_u16(b)) * xq.d[i]), acc);
  };
  for (; kb + 2 <= nb; kb += 2) {
    acc0 = step(kb, acc0);
    acc1 = step(kb + 1, acc1);
  }
  if (kb < nb) acc0 = step(kb, acc0);
  return hsum(_mm256_add_ps(acc0, acc1));
}

}  // namespace

void matmul_rows_avx2_int8(int dtype, const uint8_t* w, size_t rb, int64_t cols, const ActQ8& xq, int n_tok,
                           float* y, int64_t ldy, int64_t r0, int64_t r1) {
  const int64_t nb = cols / 32;
  for (int64_t o = r0; o < r1; ++o)  // each row against every token while it is in L1
    for (int t = 0; t < n_tok; ++t)
      y[t * ldy + o] = dtype == 4 ? row_dot<true>(w + o * rb, nb, xq, t) : row_dot<false>(w + o * rb, nb, xq, t);
}

}  // namespace glm::kernels::isa_impl
