// AVX2 int8 kernels for q8_0 / q4_0 / q4_k / q6_k weights against int8-quantized activations (see matmul.h):
// decode and prefill on CPUs without AVX-512 VNNI. Per 32-block: maddubs (u8 × s8 into s16 pairs) and madd
// with ones (into s32 per 4-byte group). q8_0's signed weights go through the sign trick (|w| against x with w's
// sign, exact: pairs stay within ±32512); q4_0's nibbles 0..15 are unsigned already and the activations'
// correction -8·Σx of each group (ActQ8::corr) makes them q - 8. Then one fp32 FMA per block with both scales.
// The K-quants take KGroups (per-256 activations): the madd takes the sub-block scale instead of ones, so a
// super-block sums in int32 and takes one float multiply; mins and q6_k's offset 32 through the activation sums.
#include "kernels/cpu/matmul_isa.h"

#pragma GCC target("avx2,fma,f16c")
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/cpu/isa_common.h"

namespace glm::kernels::isa_impl {
namespace {

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
  return hsum256(_mm256_add_ps(acc0, acc1));
}

// qs bytes 32c..32c+31 hold blocks 2c (low nibbles) and 2c + 1 (high); group_k put block j at kQ4kPlace[j].
float row_q4k(const uint8_t* row, int64_t nsb, const KGroup* g) {
  const __m256i nib = _mm256_set1_epi8(15);
  __m256 acc = _mm256_setzero_ps();
  __m128 accm = _mm_setzero_ps();
  for (int64_t s = 0; s < nsb; ++s) {
    const uint8_t* b = row + s * 144;
    const KGroup& x = g[s];
    uint64_t sc, m;
    q4k_scales(b + 4, &sc, &m);
    __m256i sum = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16 + 32 * c));
      const auto* xlo = reinterpret_cast<const __m256i*>(x.q + 32 * kQ4kPlace[2 * c]);
      const auto* xhi = reinterpret_cast<const __m256i*>(x.q + 32 * kQ4kPlace[2 * c + 1]);
      const __m256i lo = _mm256_maddubs_epi16(_mm256_and_si256(q, nib), _mm256_loadu_si256(xlo));
      const __m256i hi = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q, 4), nib), _mm256_loadu_si256(xhi));
      sum = _mm256_add_epi32(sum, _mm256_madd_epi16(lo, _mm256_set1_epi16(int16_t((sc >> (16 * c)) & 0xff))));
      sum = _mm256_add_epi32(sum, _mm256_madd_epi16(hi, _mm256_set1_epi16(int16_t((sc >> (16 * c + 8)) & 0xff))));
    }
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(_cvtsh_ss(load_u16(b)) * x.d), acc);
    const __m128i mins = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(int64_t(m))),
                                        _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.bsum32)));
    accm = _mm_fmadd_ps(_mm_cvtepi32_ps(mins), _mm_set1_ps(_cvtsh_ss(load_u16(b + 2)) * x.d), accm);
  }
  accm = _mm_add_ps(accm, _mm_movehl_ps(accm, accm));
  accm = _mm_add_ss(accm, _mm_movehdup_ps(accm));
  return hsum256(acc) - _mm_cvtss_f32(accm);
}

// Elements 128h + 32p + l: 4 low bits from ql[64h + 32(p & 1) + l] (high nibble for p >= 2), 2 high bits from
// qh[32h + l] at bit 2p; 16-block scales in order.
float row_q6k(const uint8_t* row, int64_t nsb, const KGroup* g) {
  const __m256i nib = _mm256_set1_epi8(15), three = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t s = 0; s < nsb; ++s) {
    const uint8_t* b = row + s * 210;
    const KGroup& x = g[s];
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
    const __m256i off = _mm256_madd_epi16(sc16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.bsum16)));
    __m256i sum = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 5));
    for (int h = 0; h < 2; ++h) {
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 128 + 32 * h));
      for (int p = 0; p < 4; ++p) {
        __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 64 * h + 32 * (p & 1)));
        if (p >= 2) lo = _mm256_srli_epi16(lo, 4);
        const __m256i top = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * p), three);
        const __m256i q = _mm256_or_si256(_mm256_and_si256(lo, nib), _mm256_slli_epi16(top, 4));
        const int v = 4 * h + p;  // elements 32v..32v+31: scales 2v, 2v + 1
        const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(sc[2 * v + 1]), _mm_set1_epi16(sc[2 * v]));
        const auto* xv = reinterpret_cast<const __m256i*>(x.q + 32 * v);
        const __m256i prod = _mm256_maddubs_epi16(q, _mm256_loadu_si256(xv));
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(prod, scale));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(_cvtsh_ss(load_u16(b + 208)) * x.d), acc);
  }
  return hsum256(acc);
}

}  // namespace

void matmul_rows_avx2_int8(int dtype, const uint8_t* w, size_t rb, int64_t cols, const ActQ8& xq, int n_tok,
                           float* y, int64_t ldy, int64_t r0, int64_t r1) {
  const int64_t nb = cols / 32;
  const auto* g = static_cast<const KGroup*>(xq.k_groups);
  // Each row against every token of a chunk while it is in L1; chunks whose activations (about 1.1 bytes per
  // column) stay in L2 while the rows stream past.
  int64_t chunk = (256 * 1024) / (cols + cols / 8);
  chunk = chunk < 1 ? 1 : chunk;
  for (int64_t t0 = 0; t0 < n_tok; t0 += chunk) {
    const int64_t t1 = t0 + chunk < n_tok ? t0 + chunk : n_tok;
    for (int64_t o = r0; o < r1; ++o) {
      const uint8_t* row = w + o * rb;
      for (int64_t t = t0; t < t1; ++t) {
        switch (dtype) {
          case 3: y[t * ldy + o] = row_dot<false>(row, nb, xq, t); break;
          case 4: y[t * ldy + o] = row_dot<true>(row, nb, xq, t); break;
          case 5: y[t * ldy + o] = row_q4k(row, nb / 8, g + t * (nb / 8)); break;
          default: y[t * ldy + o] = row_q6k(row, nb / 8, g + t * (nb / 8)); break;
        }
      }
    }
  }
}

}  // namespace glm::kernels::isa_impl
