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

// bf16 decode, R rows against T tokens (T < kPanelMinTokens: a decode step of up to 4 sequences): 16 weights per
// load, widened by interleaving zeros below them (one unpack per 8 instead of a widen and a shift); the unpacks
// take elements 0-3 | 8-11 and 4-7 | 12-15, so the activations are loaded in that order once for all R rows.
template <int R, int T>
inline void gemv_bf16(const uint8_t* w, size_t rb, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy) {
  __m256 acc[R][T];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  const __m256i zero = _mm256_setzero_si256();
  int64_t k = 0;
  for (; k + 16 <= cols; k += 16) {
    __m256 xlo[T], xhi[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      const float* xt = x + t * ldx + k;
      xlo[t] = _mm256_loadu2_m128(xt + 8, xt);
      xhi[t] = _mm256_loadu2_m128(xt + 12, xt + 4);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + r * rb + 2 * k));
      const __m256 lo = _mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, v));
      const __m256 hi = _mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, v));
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        acc[r][t] = _mm256_fmadd_ps(lo, xlo[t], acc[r][t]);
        acc[r][t] = _mm256_fmadd_ps(hi, xhi[t], acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) {
      float s = hsum256(acc[r][t]);
      for (int64_t kk = k; kk < cols; ++kk) s += LoadBF16::at(w + r * rb, kk) * x[t * ldx + kk];
      y[t * ldy + r] = s;
    }
}

// Rows [r0, r1) of bf16 against T tokens, R rows at a time: 8 × 1, 4 × 2, 2 × 3 and 2 × 4 (that one spills a
// little, and still beats the panel: bench matmul --tokens 4, in cache, 96 against 63 GFLOP/s).
template <int T>
void gemv_bf16_rows(const uint8_t* w, size_t rb, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy,
                    int64_t r0, int64_t r1) {
  constexpr int R = T == 1 ? 8 : T == 2 ? 4 : 2;
  int64_t o = r0;
  for (; o + R <= r1; o += R) gemv_bf16<R, T>(w + o * rb, rb, cols, x, ldx, y + o, ldy);
  for (; o < r1; ++o) gemv_bf16<1, T>(w + o * rb, rb, cols, x, ldx, y + o, ldy);
}

// Prefill: 16 rows against 6 tokens in registers (12 accumulators), as an outer product per k: the rows' weights,
// widened and transposed into a panel of [k][16] floats, are two loads per k, and each token's activation one
// broadcast, so 12 FMAs take 8 loads and no horizontal sums. The panel holds kPanelK columns (16 KB, in L1) and
// each weight is widened once per call; the segment sums (kGemmSeg) fold into y. From 5 tokens on: below, the
// widening costs more than it saves (bf16 takes gemv_bf16, the other loaders the dot-product tiles).
constexpr int kPanelRows = 16, kPanelK = 256, kTileTokens = 6, kPanelMinTokens = 5;
static_assert(kPanelK % kGemmSeg == 0);

// The 8 rows v[0..7] (8 columns each) as 8 columns (8 rows each): v[i] becomes column i.
inline void transpose8(__m256 v[8]) {
  __m256 t[8], u[8];
#pragma GCC unroll 8
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(v[2 * i], v[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(v[2 * i], v[2 * i + 1]);
  }
#pragma GCC unroll 8
  for (int i = 0; i < 2; ++i) {
    u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
    u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
  }
#pragma GCC unroll 8
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    v[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}

// Rows w[0..15] at 32-blocks [kb0, kb0 + nkb) into panel[k][16].
template <class L>
void widen_panel(const uint8_t* w, size_t rb, int64_t kb0, int64_t nkb, float* panel) {
  for (int64_t kb = 0; kb < nkb; ++kb)
    for (int j = 0; j < 4; ++j)
      for (int half = 0; half < 2; ++half) {
        __m256 v[8];
#pragma GCC unroll 8
        for (int r = 0; r < 8; ++r) v[r] = L::load8(w + (8 * half + r) * rb, kb0 + kb, j);
        transpose8(v);
        float* dst = panel + (kb * 32 + j * 8) * kPanelRows + 8 * half;
#pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) _mm256_store_ps(dst + i * kPanelRows, v[i]);
      }
}

// y[t][0..15] (+)= panel · x[t] over kc columns, for T tokens; `first`: y holds no sum yet.
template <int T>
inline void panel_tile(const float* panel, int64_t kc, const float* x, int64_t ldx, float* y, int64_t ldy,
                       bool first) {
  for (int64_t k0 = 0; k0 < kc; k0 += kGemmSeg, first = false) {
    const int64_t k1 = k0 + kGemmSeg < kc ? k0 + kGemmSeg : kc;
    __m256 acc[T][2];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
    for (int64_t k = k0; k < k1; ++k) {
      const __m256 w0 = _mm256_load_ps(panel + k * kPanelRows), w1 = _mm256_load_ps(panel + k * kPanelRows + 8);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const __m256 xb = _mm256_broadcast_ss(x + t * ldx + k);
        acc[t][0] = _mm256_fmadd_ps(w0, xb, acc[t][0]);
        acc[t][1] = _mm256_fmadd_ps(w1, xb, acc[t][1]);
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
      for (int h = 0; h < 2; ++h) {
        float* yt = y + t * ldy + 8 * h;
        _mm256_storeu_ps(yt, first ? acc[t][h] : _mm256_add_ps(_mm256_loadu_ps(yt), acc[t][h]));
      }
  }
}

// Into L2: the 16 rows from `rows` (rb apart, nb 32-blocks each) at the panel block starting with 32-block kb0.
inline void prefetch_block(const uint8_t* rows, size_t rb, int64_t nb, int64_t kb0) {
  const int64_t kb1 = kb0 + kPanelK / 32 < nb ? kb0 + kPanelK / 32 : nb;
  const size_t b0 = size_t(kb0) * rb / size_t(nb), b1 = size_t(kb1) * rb / size_t(nb);
  for (int r = 0; r < kPanelRows; ++r)
    for (size_t b = b0; b < b1; b += 64) _mm_prefetch(reinterpret_cast<const char*>(rows + r * rb + b), _MM_HINT_T1);
}

// Rows [o, r1) in panels of 16 (returns the first row not done): the column blocks outermost within a panel, so
// each weight is widened once, and every token tile reads the panel from L1.
template <class L>
int64_t panel_rows(const uint8_t* w, size_t rb, int64_t cols, const float* x, int64_t ldx, int n_tok, float* y,
                   int64_t ldy, int64_t o, int64_t r1) {
  float* panel = static_cast<float*>(thread_scratch(size_t(kPanelRows * kPanelK) * sizeof(float)));
  const int64_t nb = cols / 32;
  for (; o + kPanelRows <= r1; o += kPanelRows)
    for (int64_t kb0 = 0; kb0 < nb; kb0 += kPanelK / 32) {
      const int64_t nkb = nb - kb0 < kPanelK / 32 ? nb - kb0 : kPanelK / 32;
      widen_panel<L>(w + o * rb, rb, kb0, nkb, panel);
      const int64_t k0 = kb0 * 32, kc = nkb * 32;
      // The next block (the next panel's first after the last) comes from DRAM in 16 strided pieces that the
      // prefetchers do not follow: fetched into L2 while the tiles run, the widening does not wait for it.
      if (kb0 + kPanelK / 32 < nb) prefetch_block(w + o * rb, rb, nb, kb0 + kPanelK / 32);
      else if (o + 2 * kPanelRows <= r1) prefetch_block(w + (o + kPanelRows) * rb, rb, nb, 0);
      const bool first = kb0 == 0;
      int t = 0;
      for (; t + kTileTokens <= n_tok; t += kTileTokens)
        panel_tile<kTileTokens>(panel, kc, x + t * ldx + k0, ldx, y + t * ldy + o, ldy, first);
      const float* xt = x + t * ldx + k0;
      float* yt = y + t * ldy + o;
      for_token_tail<kTileTokens>(n_tok - t, [&]<int N>() { panel_tile<N>(panel, kc, xt, ldx, yt, ldy, first); });
    }
  return o;
}

template <class L>
void run(const uint8_t* w, size_t rb, int64_t cols, const float* x, int64_t ldx, int n_tok, float* y, int64_t ldy,
         int64_t r0, int64_t r1) {
  int64_t o = r0;
  if constexpr (__is_same(L, LoadBF16)) {
    static_assert(kPanelMinTokens == 5);
    switch (n_tok) {
      case 1: return gemv_bf16_rows<1>(w, rb, cols, x, ldx, y, ldy, r0, r1);
      case 2: return gemv_bf16_rows<2>(w, rb, cols, x, ldx, y, ldy, r0, r1);
      case 3: return gemv_bf16_rows<3>(w, rb, cols, x, ldx, y, ldy, r0, r1);
      case 4: return gemv_bf16_rows<4>(w, rb, cols, x, ldx, y, ldy, r0, r1);
      default: break;
    }
  }
  if (n_tok == 1) {
    for (; o + 8 <= r1; o += 8) tile<L, 8, 1>(w + o * rb, rb, cols, x, ldx, y + o, ldy);
    for (; o < r1; ++o) tile<L, 1, 1>(w + o * rb, rb, cols, x, ldx, y + o, ldy);
    return;
  }
  if (n_tok >= kPanelMinTokens && cols % 32 == 0) o = panel_rows<L>(w, rb, cols, x, ldx, n_tok, y, ldy, o, r1);
  for (; o + 4 <= r1; o += 4) tile_tokens<L, 4>(w + o * rb, rb, cols, x, ldx, n_tok, y + o, ldy);
  for (; o < r1; ++o) tile_tokens<L, 1>(w + o * rb, rb, cols, x, ldx, n_tok, y + o, ldy);
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
