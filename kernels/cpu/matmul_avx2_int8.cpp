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

// Each kernel takes one row against T tokens (t0 .. t0 + T - 1): the weights are unpacked once for all of them
// (prefill; decode is T = 1). Every token's float operations are the same, in the same order, for any T.

// q8_0 / q4_0: per 32-block the exact int32 sums per 4-byte group, then one fp32 FMA with both scales; two
// accumulator chains per token (even and odd blocks).
template <bool kQ4, int T>
void row_dot(const uint8_t* row, int64_t nb, const ActQ8& xq, int64_t t0, float* y, int64_t ldy) {
  constexpr int kBytes = kQ4 ? 18 : 34;
  __m256 acc[2][T];
  for (int t = 0; t < T; ++t) acc[0][t] = acc[1][t] = _mm256_setzero_ps();
  for (int64_t kb = 0; kb < nb; ++kb) {
    const uint8_t* b = row + kb * kBytes;
    const float dw = _cvtsh_ss(load_u16(b));
    __m256i w, aw;
    if constexpr (kQ4) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 2));
      w = _mm256_and_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(v), _mm_srli_epi16(v, 4), 1),
                           _mm256_set1_epi8(15));
    } else {
      w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2));
      aw = _mm256_sign_epi8(w, w);  // q8_0: |w| against x with w's sign (exact: pairs stay within ±32512)
    }
    for (int t = 0; t < T; ++t) {
      const int64_t i = (t0 + t) * nb + kb;
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.q + i * 32));
      __m256i s;
      if constexpr (kQ4) {
        s = _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1));
        s = _mm256_add_epi32(s, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.corr + i * 8)));
      } else {
        s = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(x, w)), _mm256_set1_epi16(1));
      }
      acc[kb & 1][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(dw * xq.d[i]), acc[kb & 1][t]);
    }
  }
  for (int t = 0; t < T; ++t) y[(t0 + t) * ldy] = hsum256(_mm256_add_ps(acc[0][t], acc[1][t]));
}

// qs bytes 32c..32c+31 hold blocks 2c (low nibbles) and 2c + 1 (high); group_k put block j at kQ4kPlace[j].
template <int T>
void row_q4k(const uint8_t* row, int64_t nsb, const KGroup* g, int64_t t0, float* y, int64_t ldy) {
  const __m256i nib = _mm256_set1_epi8(15);
  __m256 acc[T];
  __m128 accm[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps(), accm[t] = _mm_setzero_ps();
  for (int64_t s = 0; s < nsb; ++s) {
    const uint8_t* b = row + s * 144;
    uint64_t sc, m;
    q4k_scales(b + 4, &sc, &m);
    __m256i sum[T];
    for (int t = 0; t < T; ++t) sum[t] = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16 + 32 * c));
      const __m256i qlo = _mm256_and_si256(q, nib), qhi = _mm256_and_si256(_mm256_srli_epi16(q, 4), nib);
      const __m256i slo = _mm256_set1_epi16(int16_t((sc >> (16 * c)) & 0xff));
      const __m256i shi = _mm256_set1_epi16(int16_t((sc >> (16 * c + 8)) & 0xff));
      for (int t = 0; t < T; ++t) {
        const KGroup& x = g[(t0 + t) * nsb + s];
        const auto* xlo = reinterpret_cast<const __m256i*>(x.q + 32 * kQ4kPlace[2 * c]);
        const auto* xhi = reinterpret_cast<const __m256i*>(x.q + 32 * kQ4kPlace[2 * c + 1]);
        sum[t] = _mm256_add_epi32(sum[t], _mm256_madd_epi16(_mm256_maddubs_epi16(qlo, _mm256_loadu_si256(xlo)), slo));
        sum[t] = _mm256_add_epi32(sum[t], _mm256_madd_epi16(_mm256_maddubs_epi16(qhi, _mm256_loadu_si256(xhi)), shi));
      }
    }
    const float d = _cvtsh_ss(load_u16(b)), dmin = _cvtsh_ss(load_u16(b + 2));
    const __m128i m16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(int64_t(m)));
    for (int t = 0; t < T; ++t) {
      const KGroup& x = g[(t0 + t) * nsb + s];
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[t]), _mm256_set1_ps(d * x.d), acc[t]);
      const __m128i mins = _mm_madd_epi16(m16, _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.bsum32)));
      accm[t] = _mm_fmadd_ps(_mm_cvtepi32_ps(mins), _mm_set1_ps(dmin * x.d), accm[t]);
    }
  }
  for (int t = 0; t < T; ++t) {
    __m128 a = _mm_add_ps(accm[t], _mm_movehl_ps(accm[t], accm[t]));
    a = _mm_add_ss(a, _mm_movehdup_ps(a));
    y[(t0 + t) * ldy] = hsum256(acc[t]) - _mm_cvtss_f32(a);
  }
}

// Elements 128h + 32p + l: 4 low bits from ql[64h + 32(p & 1) + l] (high nibble for p >= 2), 2 high bits from
// qh[32h + l] at bit 2p; 16-block scales in order.
template <int T>
void row_q6k(const uint8_t* row, int64_t nsb, const KGroup* g, int64_t t0, float* y, int64_t ldy) {
  const __m256i nib = _mm256_set1_epi8(15), three = _mm256_set1_epi8(3);
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t s = 0; s < nsb; ++s) {
    const uint8_t* b = row + s * 210;
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
    __m256i sum[T];
    for (int t = 0; t < T; ++t) {
      const KGroup& x = g[(t0 + t) * nsb + s];
      const __m256i off = _mm256_madd_epi16(sc16, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.bsum16)));
      sum[t] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 5));
    }
    for (int h = 0; h < 2; ++h) {
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 128 + 32 * h));
      for (int p = 0; p < 4; ++p) {
        __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 64 * h + 32 * (p & 1)));
        if (p >= 2) lo = _mm256_srli_epi16(lo, 4);
        const __m256i top = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * p), three);
        const __m256i q = _mm256_or_si256(_mm256_and_si256(lo, nib), _mm256_slli_epi16(top, 4));
        const int v = 4 * h + p;  // elements 32v..32v+31: scales 2v, 2v + 1
        const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(sc[2 * v + 1]), _mm_set1_epi16(sc[2 * v]));
        for (int t = 0; t < T; ++t) {
          const auto* xv = reinterpret_cast<const __m256i*>(g[(t0 + t) * nsb + s].q + 32 * v);
          sum[t] = _mm256_add_epi32(sum[t], _mm256_madd_epi16(_mm256_maddubs_epi16(q, _mm256_loadu_si256(xv)), scale));
        }
      }
    }
    const float d = _cvtsh_ss(load_u16(b + 208));
    for (int t = 0; t < T; ++t)
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[t]), _mm256_set1_ps(d * g[(t0 + t) * nsb + s].d), acc[t]);
  }
  for (int t = 0; t < T; ++t) y[(t0 + t) * ldy] = hsum256(acc[t]);
}

// One row against tokens [t0, t0 + T).
template <int T>
void row_tokens(int dtype, const uint8_t* row, int64_t nb, const ActQ8& xq, int64_t t0, float* y, int64_t ldy) {
  const auto* g = static_cast<const KGroup*>(xq.k_groups);
  switch (dtype) {
    case 3: row_dot<false, T>(row, nb, xq, t0, y, ldy); break;
    case 4: row_dot<true, T>(row, nb, xq, t0, y, ldy); break;
    case 5: row_q4k<T>(row, nb / 8, g, t0, y, ldy); break;
    default: row_q6k<T>(row, nb / 8, g, t0, y, ldy); break;
  }
}

inline __m256i bcast4(const int8_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// s16[half] += one 32-block of 4-bit codes (q[pp]: 16 rows × 4 bytes, low nibbles columns 4pp + e, high 16 + 4pp
// + e) against activations x[0..31], per 8-row half, in 16 bits: a whole block fits (8 · 2 · 15 · 127 = 30480).
inline void add_nibble_block(const uint8_t (*q)[64], const int8_t* x, __m256i s16[2]) {
  const __m256i nib = _mm256_set1_epi8(15);
  for (int pp = 0; pp < 4; ++pp) {
    const __m256i xa = bcast4(x + 4 * pp), xb = bcast4(x + 16 + 4 * pp);
    for (int half = 0; half < 2; ++half) {
      const __m256i w = _mm256_load_si256(reinterpret_cast<const __m256i*>(q[pp] + 32 * half));
      s16[half] = _mm256_add_epi16(s16[half], _mm256_maddubs_epi16(_mm256_and_si256(w, nib), xa));
      s16[half] = _mm256_add_epi16(s16[half], _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(w, 4), nib), xb));
    }
  }
}

// out[0..15] = the 16 rows of one packed group (its records from p) against token t: rows in lanes, 8 per
// 256-bit half of each 64-byte vector, so no horizontal sums. q4_0: one madd per block (add_nibble_block); q8_0
// takes the sign trick per vector (|w| against x with w's sign).
template <class Pack>
void gemv16(const Pack* p, int64_t nb, const ActQ8& xq, int64_t t, float* out) {
  constexpr bool kQ4 = __is_same(Pack, Q4Pack);
  const __m256i ones = _mm256_set1_epi16(1), flip = _mm256_set1_epi8(char(0x80));
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int64_t c = 0; c < nb / 2; ++c, ++p) {
    for (int h = 0; h < 2; ++h) {
      const int64_t i = t * nb + 2 * c + h;
      const int8_t* xb = xq.q + i * 32;
      __m256i s[2];
      if constexpr (kQ4) {
        __m256i s16[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
        add_nibble_block(p->q[h], xb, s16);
        for (int half = 0; half < 2; ++half)
          s[half] = _mm256_add_epi32(_mm256_madd_epi16(s16[half], ones), _mm256_set1_epi32(xq.seed[i]));
      } else {
        s[0] = s[1] = _mm256_setzero_si256();
        for (int g = 0; g < 8; ++g) {
          const __m256i xg = bcast4(xb + 4 * g);
          for (int half = 0; half < 2; ++half) {
            const __m256i w = _mm256_xor_si256(
                _mm256_load_si256(reinterpret_cast<const __m256i*>(p->q[h][g] + 32 * half)), flip);
            const __m256i prod = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(xg, w));
            s[half] = _mm256_add_epi32(s[half], _mm256_madd_epi16(prod, ones));
          }
        }
      }
      const __m256 dx = _mm256_set1_ps(xq.d[i]);
      for (int half = 0; half < 2; ++half) {
        const __m256 d = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(p->d[h] + 8 * half)));
        acc[half] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[half]), _mm256_mul_ps(d, dx), acc[half]);
      }
    }
  }
  _mm256_storeu_ps(out, acc[0]);
  _mm256_storeu_ps(out + 8, acc[1]);
}

// out[0..15] = the 16 rows of a K-quant packed group against one token's KGroups (the VNNI kernels' math with
// maddubs), both 8-row halves in one pass over the records (two passes left DRAM idle during the second: from
// memory that read slower than the stored rows). q4_k's 16-bit sums of a sub-block (add_nibble_block) take the
// sub-block scale in one madd (scale in both halves of each lane); q6_k sums two quads at a time (2 · 2 · 63 · 127
// = 32004) and multiplies its signed 16-block scale in int32.
inline void gemv16_q4k(const Q4KPack* p, int64_t nsb, const KGroup* g, float* out) {
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int64_t s = 0; s < nsb; ++s, ++p) {
    const KGroup& x = g[s];
    __m256i isum[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int j = 0; j < 8; ++j) {
      const int8_t* xj = x.q + 32 * kQ4kPlace[j];
      __m256i s16[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
      add_nibble_block(p->qs[j], xj, s16);
      for (int half = 0; half < 2; ++half) {
        int64_t sc8;
        __builtin_memcpy(&sc8, p->sc[j] + 8 * half, 8);
        const __m256i sc = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(sc8));
        isum[half] = _mm256_add_epi32(isum[half],
                                      _mm256_madd_epi16(s16[half], _mm256_or_si256(sc, _mm256_slli_epi32(sc, 16))));
      }
    }
    const __m256 dx = _mm256_set1_ps(x.d);
    for (int half = 0; half < 2; ++half) {
      __m256i msum = _mm256_setzero_si256();
      for (int i = 0; i < 4; ++i) {
        int32_t pair;
        __builtin_memcpy(&pair, x.bsum32 + 2 * i, 4);
        const __m256i m = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p->m[i][8 * half])));
        msum = _mm256_add_epi32(msum, _mm256_madd_epi16(m, _mm256_set1_epi32(pair)));
      }
      auto scales = [&](const uint16_t* h) {
        return _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + 8 * half))), dx);
      };
      acc[half] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[half]), scales(p->d), acc[half]);
      acc[half] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), scales(p->dmin), acc[half]);
    }
  }
  _mm256_storeu_ps(out, acc[0]);
  _mm256_storeu_ps(out + 8, acc[1]);
}

inline void gemv16_q6k(const Q6KPack* p, int64_t nsb, const KGroup* g, float* out) {
  const __m256i nib = _mm256_set1_epi8(15), b45 = _mm256_set1_epi8(0x30), ones = _mm256_set1_epi16(1);
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int64_t s = 0; s < nsb; ++s, ++p) {
    const KGroup& x = g[s];
    __m256i isum[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int i = 0; i < 16; ++i) {
      const auto& b = p->c[i / 4].q[i % 4];
      const int8_t* xi = x.q + 16 * i;
      const __m256i x0 = bcast4(xi), x1 = bcast4(xi + 4), x2 = bcast4(xi + 8), x3 = bcast4(xi + 12);
      for (int half = 0; half < 2; ++half) {
        const __m256i l0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b.ql[0] + 32 * half));
        const __m256i l1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b.ql[1] + 32 * half));
        const __m256i h = _mm256_load_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * half));
        const __m256i q0 =
            _mm256_or_si256(_mm256_and_si256(l0, nib), _mm256_and_si256(_mm256_slli_epi16(h, 4), b45));
        const __m256i q1 =
            _mm256_or_si256(_mm256_and_si256(l1, nib), _mm256_and_si256(_mm256_slli_epi16(h, 2), b45));
        const __m256i q2 =
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), nib), _mm256_and_si256(h, b45));
        const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), nib),
                                           _mm256_and_si256(_mm256_srli_epi16(h, 2), b45));
        const __m256i sa = _mm256_add_epi16(_mm256_maddubs_epi16(q0, x0), _mm256_maddubs_epi16(q1, x1));
        const __m256i sb = _mm256_add_epi16(_mm256_maddubs_epi16(q2, x2), _mm256_maddubs_epi16(q3, x3));
        const __m256i sum = _mm256_add_epi32(
            _mm256_add_epi32(_mm256_madd_epi16(sa, ones), _mm256_madd_epi16(sb, ones)), _mm256_set1_epi32(x.q6off[i]));
        int64_t sc8;
        __builtin_memcpy(&sc8, p->c[i / 4].sc[i % 4] + 8 * half, 8);
        const __m256i sc = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(sc8));
        isum[half] = _mm256_add_epi32(isum[half], _mm256_mullo_epi32(sum, sc));
      }
    }
    const __m256 dx = _mm256_set1_ps(x.d);
    for (int half = 0; half < 2; ++half) {
      const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p->d + 8 * half)));
      acc[half] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[half]), _mm256_mul_ps(d, dx), acc[half]);
    }
  }
  _mm256_storeu_ps(out, acc[0]);
  _mm256_storeu_ps(out + 8, acc[1]);
}

// Rows [r0, r1) (r0 % kPackRows == 0) for every token: gemv(group's first record, t, out16) per group and token,
// the group staying in L1 across the tokens; `records` per group.
template <class Pack, class Gemv>
void packed_rows(const void* packed, int64_t records, int n_tok, float* y, int64_t ldy, int64_t r0, int64_t r1,
                 Gemv&& gemv) {
  const auto* base = static_cast<const Pack*>(packed);
  for (int64_t o = r0; o < r1; o += kPackRows) {
    const Pack* p = base + (o / kPackRows) * records;
    const int64_t n = r1 - o < kPackRows ? r1 - o : kPackRows;
    for (int t = 0; t < n_tok; ++t) {
      float out[kPackRows];
      gemv(p, t, out);
      for (int64_t r = 0; r < n; ++r) y[t * ldy + o + r] = out[r];
    }
  }
}

}  // namespace

void matmul_rows_avx2_int8(int dtype, const uint8_t* w, size_t rb, int64_t cols, const ActQ8& xq, int n_tok,
                           float* y, int64_t ldy, int64_t r0, int64_t r1) {
  const int64_t nb = cols / 32;
  // Each row against every token of a chunk, 4 tokens per pass over it; chunks whose activations (about 1.1
  // bytes per column) stay in L2 while the rows stream past.
  int64_t chunk = (256 * 1024) / (cols + cols / 8);
  chunk = chunk < 1 ? 1 : chunk;
  for (int64_t t0 = 0; t0 < n_tok; t0 += chunk) {
    const int64_t t1 = t0 + chunk < n_tok ? t0 + chunk : n_tok;
    for (int64_t o = r0; o < r1; ++o) {
      const uint8_t* row = w + o * rb;
      int64_t t = t0;
      for (; t + 4 <= t1; t += 4) row_tokens<4>(dtype, row, nb, xq, t, y + o, ldy);
      for_token_tail<4>(int(t1 - t), [&]<int N>() { row_tokens<N>(dtype, row, nb, xq, t, y + o, ldy); });
    }
  }
}

void matmul_packed_avx2_int8(int dtype, const void* packed, int64_t cols, const ActQ8& xq, int n_tok, float* y,
                             int64_t ldy, int64_t r0, int64_t r1) {
  const int64_t nb = cols / 32, nsb = cols / 256;
  const auto* g = static_cast<const KGroup*>(xq.k_groups);
  switch (dtype) {
    case 3:
      packed_rows<Q8Pack>(packed, nb / 2, n_tok, y, ldy, r0, r1,
                          [&](const Q8Pack* p, int t, float* out) { gemv16(p, nb, xq, t, out); });
      break;
    case 4:
      packed_rows<Q4Pack>(packed, nb / 2, n_tok, y, ldy, r0, r1,
                          [&](const Q4Pack* p, int t, float* out) { gemv16(p, nb, xq, t, out); });
      break;
    case 5:
      packed_rows<Q4KPack>(packed, nsb, n_tok, y, ldy, r0, r1,
                           [&](const Q4KPack* p, int t, float* out) { gemv16_q4k(p, nsb, g + t * nsb, out); });
      break;
    default:
      packed_rows<Q6KPack>(packed, nsb, n_tok, y, ldy, r0, r1,
                           [&](const Q6KPack* p, int t, float* out) { gemv16_q6k(p, nsb, g + t * nsb, out); });
      break;
  }
}

}  // namespace glm::kernels::isa_impl
