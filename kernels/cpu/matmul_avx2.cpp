// AVX2/FMA matmul kernels (see matmul.h). Compiled for AVX2 via the pragma; only called when isa() says so.
#include "kernels/cpu/matmul_isa.h"

#pragma GCC target("avx2,fma,f16c")
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/cpu/isa_common.h"

namespace glm::kernels::isa_impl {
namespace {

// load8(row, kb, j): weights 32kb + 8j .. +7 as f32.
struct LoadF32 {
  static __m256 load8(const uint8_t* row, int64_t kb, int j) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + kb * 32 + j * 8);
  }
  static float at(const uint8_t* row, int64_t k) { return reinterpret_cast<const float*>(row)[k]; }
};
struct LoadBF16 {
  static __m256 load8(const uint8_t* row, int64_t kb, int j) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + kb * 64 + j * 16));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static float at(const uint8_t* row, int64_t k) { return bf16f(load_u16(row + 2 * k)); }
};
struct LoadF16 {
  static __m256 load8(const uint8_t* row, int64_t kb, int j) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + kb * 64 + j * 16)));
  }
  static float at(const uint8_t* row, int64_t k) { return _cvtsh_ss(load_u16(row + 2 * k)); }
};
struct LoadQ8_0 {
  static __m256 load8(const uint8_t* row, int64_t kb, int j) {
    const uint8_t* p = row + kb * 34;
    __m256 d = _mm256_set1_ps(_cvtsh_ss(load_u16(p)));
    __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 2 + j * 8));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), d);
  }
  static float at(const uint8_t*, int64_t) { return 0; }
};
struct LoadQ4_0 {
  static __m256 load8(const uint8_t* row, int64_t kb, int j) {
    const uint8_t* p = row + kb * 18;
    __m256 d = _mm256_set1_ps(_cvtsh_ss(load_u16(p)));
    __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 2 + (j & 1) * 8));
    if (j >= 2) v = _mm_srli_epi16(v, 4);
    v = _mm_and_si128(v, _mm_set1_epi8(15));
    __m256i i = _mm256_sub_epi32(_mm256_cvtepu8_epi32(v), _mm256_set1_epi32(8));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(i), d);
  }
  static float at(const uint8_t*, int64_t) { return 0; }
};

struct LoadQ4_K {
  static __m256 load8(const uint8_t* row, int64_t kb, int j8) {
    const uint8_t* b = row + (kb / 8) * 144;
    const int j = int(kb % 8);
    uint64_t scales, mins;
    q4k_scales(b + 4, &scales, &mins);
    const int sc = int((scales >> (8 * j)) & 63), m = int((mins >> (8 * j)) & 63);
    __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + 16 + 32 * (j / 2) + 8 * j8));
    if (j & 1) v = _mm_srli_epi16(v, 4);
    const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_and_si128(v, _mm_set1_epi8(15))));
    return _mm256_sub_ps(_mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(load_u16(b)) * float(sc)), q),
                         _mm256_set1_ps(_cvtsh_ss(load_u16(b + 2)) * float(m)));
  }
  static float at(const uint8_t*, int64_t) { return 0; }
};
struct LoadQ6_K {
  static __m256 load8(const uint8_t* row, int64_t kb, int j8) {
    const uint8_t* b = row + (kb / 8) * 210;
    const int j = int(kb % 8), h = j / 4, p = j % 4;
    __m128i l = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + 64 * h + 32 * (p & 1) + 8 * j8));
    if (p >= 2) l = _mm_srli_epi16(l, 4);
    __m128i u = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + 128 + 32 * h + 8 * j8));
    u = _mm_srl_epi16(u, _mm_cvtsi32_si128(2 * p));
    const __m128i q = _mm_sub_epi8(
        _mm_or_si128(_mm_and_si128(l, _mm_set1_epi8(15)), _mm_slli_epi16(_mm_and_si128(u, _mm_set1_epi8(3)), 4)),
        _mm_set1_epi8(32));
    const float d = _cvtsh_ss(load_u16(b + 208)) * float(reinterpret_cast<const int8_t*>(b + 192)[2 * j + j8 / 2]);
    return _mm256_mul_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)));
  }
  static float at(const uint8_t*, int64_t) { return 0; }
};

template <class L, int R, int T>
inline void tile(const uint8_t* w, size_t rb, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy) {
  __m256 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  const int64_t nb = cols / 32;
  for (int64_t kb = 0; kb < nb; ++kb) {
    for (int j = 0; j < 4; ++j) {
      __m256 xv[T];
      for (int t = 0; t < T; ++t) xv[t] = _mm256_loadu_ps(x + t * ldx + kb * 32 + j * 8);
      for (int r = 0; r < R; ++r) {
        __m256 wv = L::load8(w + r * rb, kb, j);
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) {
      float s = hsum256(acc[r][t]);
      for (int64_t k = nb * 32; k < cols; ++k) s += L::at(w + r * rb, k) * x[t * ldx + k];
      y[t * ldy + r] = s;
    }
}

template <class L, int R>
inline void tile_tokens(const uint8_t* w, size_t rb, int64_t cols, const float* x, int64_t ldx, int n_tok, float* y,
                        int64_t ldy) {
  int t = 0;
  for (; t + 2 <= n_tok; t += 2) tile<L, R, 2>(w, rb, cols, x + t * ldx, ldx, y + t * ldy, ldy);
  if (t < n_tok) tile<L, R, 1>(w, rb, cols, x + t * ldx, ldx, y + t * ldy, ldy);
}

// bf16 decode, R rows against one token: 16 weights per load, widened by interleaving zeros below them (one
// unpack per 8 instead of a widen and a shift); the unpacks take elements 0-3 | 8-11 and 4-7 | 12-15, so the
// activations are loaded in that order once for all R rows.
template <int R>
inline void gemv_bf16(const uint8_t* w, size_t rb, int64_t cols, const float* x, float* y) {
  __m256 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
  const __m256i zero = _mm256_setzero_si256();
  int64_t k = 0;
  for (; k + 16 <= cols; k += 16) {
    const __m256 xlo = _mm256_loadu2_m128(x + k + 8, x + k), xhi = _mm256_loadu2_m128(x + k + 12, x + k + 4);
    for (int r = 0; r < R; ++r) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + r * rb + 2 * k));
      acc[r] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, v)), xlo, acc[r]);
      acc[r] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, v)), xhi, acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    float s = hsum256(acc[r]);
    for (int64_t kk = k; kk < cols; ++kk) s += LoadBF16::at(w + r * rb, kk) * x[kk];
    y[r] = s;
  }
}

template <class L>
void run(const uint8_t* w, size_t rb, int64_t cols, const float* x, int64_t ldx, int n_tok, float* y, int64_t ldy,
         int64_t r0, int64_t r1) {
  if (n_tok == 1) {
    int64_t o = r0;
    if constexpr (__is_same(L, LoadBF16)) {
      for (; o + 8 <= r1; o += 8) gemv_bf16<8>(w + o * rb, rb, cols, x, y + o);
      for (; o < r1; ++o) gemv_bf16<1>(w + o * rb, rb, cols, x, y + o);
      return;
    }
    for (; o + 8 <= r1; o += 8) tile<L, 8, 1>(w + o * rb, rb, cols, x, ldx, y + o, ldy);
    for (; o < r1; ++o) tile<L, 1, 1>(w + o * rb, rb, cols, x, ldx, y + o, ldy);
    return;
  }
  int64_t chunk = (256 * 1024) / (cols * 4);
  chunk = chunk < 2 ? 2 : (chunk / 2) * 2;
  for (int64_t t0 = 0; t0 < n_tok; t0 += chunk) {
    int nt = int(n_tok - t0 < chunk ? n_tok - t0 : chunk);
    const float* xc = x + t0 * ldx;
    float* yc = y + t0 * ldy;
    int64_t o = r0;
    if (!__is_same(L, LoadF32) && nt >= 4) {  // a converting loader: widening once pays for every token
      // Widen each 4-row block to f32 once for all nt tokens (the same values load8 gives every tile: the sums
      // are unchanged), instead of once per token pair.
      float* buf = static_cast<float*>(thread_scratch(size_t(4 * cols) * sizeof(float)));
      const int64_t nb = cols / 32;
      for (; o + 4 <= r1; o += 4) {
        for (int r = 0; r < 4; ++r) {
          float* dst = buf + r * cols;
          for (int64_t kb = 0; kb < nb; ++kb)
            for (int j = 0; j < 4; ++j) _mm256_storeu_ps(dst + kb * 32 + j * 8, L::load8(w + (o + r) * rb, kb, j));
          for (int64_t k = nb * 32; k < cols; ++k) dst[k] = L::at(w + (o + r) * rb, k);
        }
        tile_tokens<LoadF32, 4>(reinterpret_cast<const uint8_t*>(buf), size_t(cols) * 4, cols, xc, ldx, nt, yc + o,
                                ldy);
      }
    }
    for (; o + 4 <= r1; o += 4) tile_tokens<L, 4>(w + o * rb, rb, cols, xc, ldx, nt, yc + o, ldy);
    for (; o < r1; ++o) tile_tokens<L, 1>(w + o * rb, rb, cols, xc, ldx, nt, yc + o, ldy);
  }
}

}  // namespace

void matmul_rows_avx2(int dtype, const uint8_t* w, size_t rb, int64_t cols, const float* x, int64_t ldx, int n_tok,
                      float* y, int64_t ldy, int64_t r0, int64_t r1) {
  switch (dtype) {  // DType order: f32, f16, bf16, q8_0, q4_0, q4_k, q6_k
    case 0: run<LoadF32>(w, rb, cols, x, ldx, n_tok, y, ldy, r0, r1); break;
    case 1: run<LoadF16>(w, rb, cols, x, ldx, n_tok, y, ldy, r0, r1); break;
    case 2: run<LoadBF16>(w, rb, cols, x, ldx, n_tok, y, ldy, r0, r1); break;
    case 3: run<LoadQ8_0>(w, rb, cols, x, ldx, n_tok, y, ldy, r0, r1); break;
    case 4: run<LoadQ4_0>(w, rb, cols, x, ldx, n_tok, y, ldy, r0, r1); break;
    case 5: run<LoadQ4_K>(w, rb, cols, x, ldx, n_tok, y, ldy, r0, r1); break;
    case 6: run<LoadQ6_K>(w, rb, cols, x, ldx, n_tok, y, ldy, r0, r1); break;
    default: __builtin_trap();
  }
}

}  // namespace glm::kernels::isa_impl
