// AVX-512 matmul kernels (see matmul.h). Compiled for AVX-512 via the pragma; only called when isa() says so.
#include "kernels/cpu/matmul_isa.h"

#pragma GCC target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/cpu/isa_common.h"

namespace glm::kernels::isa_impl {
namespace {

float* scratch(size_t n) { return static_cast<float*>(thread_scratch(n * sizeof(float))); }

// Each loader yields 32 consecutive weights of block kb (columns 32kb .. 32kb+31) as two f32 vectors,
// and, for the non-block types, single elements for the column tail. The K-quants' values are d·sc·q - dmin·m
// and (d·sc)·q rounded as dequantize_row rounds them (a multiply, then a subtract: no FMA).
struct LoadF32 {
  static constexpr bool kConvert = false;
  static void load32(const uint8_t* row, int64_t kb, __m512& lo, __m512& hi) {
    const float* p = reinterpret_cast<const float*>(row) + kb * 32;
    lo = _mm512_loadu_ps(p);
    hi = _mm512_loadu_ps(p + 16);
  }
  static float at(const uint8_t* row, int64_t k) { return reinterpret_cast<const float*>(row)[k]; }
};
struct LoadBF16 {
  static constexpr bool kConvert = true;
  static __m512 cvt(const uint8_t* p) {
    __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  static void load32(const uint8_t* row, int64_t kb, __m512& lo, __m512& hi) {
    const uint8_t* p = row + kb * 64;
    lo = cvt(p);
    hi = cvt(p + 32);
  }
  static float at(const uint8_t* row, int64_t k) { return bf16f(load_u16(row + 2 * k)); }
};
struct LoadF16 {
  static constexpr bool kConvert = true;
  static void load32(const uint8_t* row, int64_t kb, __m512& lo, __m512& hi) {
    const uint8_t* p = row + kb * 64;
    lo = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    hi = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32)));
  }
  static float at(const uint8_t* row, int64_t k) { return _cvtsh_ss(load_u16(row + 2 * k)); }
};
struct LoadQ8_0 {
  static constexpr bool kConvert = true;
  static void load32(const uint8_t* row, int64_t kb, __m512& lo, __m512& hi) {
    const uint8_t* p = row + kb * 34;
    __m512 d = _mm512_set1_ps(_cvtsh_ss(load_u16(p)));
    __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2));
    lo = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(q))), d);
    hi = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(q, 1))), d);
  }
  static float at(const uint8_t*, int64_t) { return 0; }  // cols % 32 == 0 for block types
};
struct LoadQ4_0 {
  static constexpr bool kConvert = true;
  static void load32(const uint8_t* row, int64_t kb, __m512& lo, __m512& hi) {
    const uint8_t* p = row + kb * 18;
    __m512 d = _mm512_set1_ps(_cvtsh_ss(load_u16(p)));
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2));
    const __m128i m = _mm_set1_epi8(15);
    __m512i l = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_and_si128(v, m)), _mm512_set1_epi32(8));
    __m512i h = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(v, 4), m)), _mm512_set1_epi32(8));
    lo = _mm512_mul_ps(_mm512_cvtepi32_ps(l), d);
    hi = _mm512_mul_ps(_mm512_cvtepi32_ps(h), d);
  }
  static float at(const uint8_t*, int64_t) { return 0; }
};

struct LoadQ4_K {
  static constexpr bool kConvert = true;
  static void load32(const uint8_t* row, int64_t kb, __m512& lo, __m512& hi) {
    const uint8_t* b = row + (kb / 8) * 144;
    const int j = int(kb % 8);
    uint64_t scales, mins;
    q4k_scales(b + 4, &scales, &mins);
    const int sc = int((scales >> (8 * j)) & 63), m = int((mins >> (8 * j)) & 63);
    const __m512 ds = _mm512_set1_ps(_cvtsh_ss(load_u16(b)) * float(sc));
    const __m512 dm = _mm512_set1_ps(_cvtsh_ss(load_u16(b + 2)) * float(m));
    const uint8_t* q = b + 16 + 32 * (j / 2);
    const __m512i sh = _mm512_set1_epi32(4 * (j & 1)), nib = _mm512_set1_epi32(15);
    for (int h = 0; h < 2; ++h) {
      const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16 * h)));
      const __m512i q4 = _mm512_and_si512(_mm512_srlv_epi32(v, sh), nib);
      const __m512 f = _mm512_sub_ps(_mm512_mul_ps(ds, _mm512_cvtepi32_ps(q4)), dm);
      (h ? hi : lo) = f;
    }
  }
  static float at(const uint8_t*, int64_t) { return 0; }
};
struct LoadQ6_K {
  static constexpr bool kConvert = true;
  static void load32(const uint8_t* row, int64_t kb, __m512& lo, __m512& hi) {
    const uint8_t* b = row + (kb / 8) * 210;
    const int j = int(kb % 8), h = j / 4, p = j % 4;
    const uint8_t* ql = b + 64 * h + 32 * (p & 1);
    const uint8_t* qh = b + 128 + 32 * h;
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
    const float d = _cvtsh_ss(load_u16(b + 208));
    const __m512i sl = _mm512_set1_epi32(p >= 2 ? 4 : 0), shh = _mm512_set1_epi32(2 * p);
    for (int k = 0; k < 2; ++k) {
      const __m512i l = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ql + 16 * k)));
      const __m512i u = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qh + 16 * k)));
      const __m512i top = _mm512_and_si512(_mm512_srlv_epi32(u, shh), _mm512_set1_epi32(3));
      const __m512i q = _mm512_or_si512(_mm512_and_si512(_mm512_srlv_epi32(l, sl), _mm512_set1_epi32(15)),
                                        _mm512_slli_epi32(top, 4));
      const __m512 f = _mm512_mul_ps(_mm512_set1_ps(d * float(sc[2 * j + k])),
                                     _mm512_cvtepi32_ps(_mm512_sub_epi32(q, _mm512_set1_epi32(32))));
      (k ? hi : lo) = f;
    }
  }
  static float at(const uint8_t*, int64_t) { return 0; }
};

// Row of cols weights as f32 into out.
template <class L>
void to_f32(const uint8_t* row, int64_t cols, float* out) {
  int64_t kb = 0;
  for (; kb < cols / 32; ++kb) {
    __m512 lo, hi;
    L::load32(row, kb, lo, hi);
    _mm512_storeu_ps(out + kb * 32, lo);
    _mm512_storeu_ps(out + kb * 32 + 16, hi);
  }
  for (int64_t k = kb * 32; k < cols; ++k) out[k] = L::at(row, k);
}

// R weight rows × T token rows; y[t * ldy + r].
template <class L, int R, int T>
inline void tile(const uint8_t* w, size_t rb, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy) {
  __m512 acc[R][T];
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  const int64_t nb = cols / 32;
  for (int64_t kb = 0; kb < nb; ++kb) {
    __m512 xl[T], xh[T];
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      xl[t] = _mm512_loadu_ps(x + t * ldx + kb * 32);
      xh[t] = _mm512_loadu_ps(x + t * ldx + kb * 32 + 16);
    }
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      __m512 lo, hi;
      L::load32(w + r * rb, kb, lo, hi);
      #pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        acc[r][t] = _mm512_fmadd_ps(lo, xl[t], acc[r][t]);
        acc[r][t] = _mm512_fmadd_ps(hi, xh[t], acc[r][t]);
      }
    }
  }
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      float s = _mm512_reduce_add_ps(acc[r][t]);
      for (int64_t k = nb * 32; k < cols; ++k) s += L::at(w + r * rb, k) * x[t * ldx + k];
      y[t * ldy + r] = s;
    }
}

template <class L, int R>
inline void tile_tokens(const uint8_t* w, size_t rb, int64_t cols, const float* x, int64_t ldx, int n_tok, float* y,
                        int64_t ldy) {
  int t = 0;
  for (; t + 4 <= n_tok; t += 4) tile<L, R, 4>(w, rb, cols, x + t * ldx, ldx, y + t * ldy, ldy);
  for_token_tail<4>(n_tok - t, [&]<int N>() { tile<L, R, N>(w, rb, cols, x + t * ldx, ldx, y + t * ldy, ldy); });
}

// ---- prefill / batched decode: a packed GEMM -------------------------------------------------------------
//
// Many tokens share each weight row, so the work is compute-bound: the rows of a 32-row block are converted to
// f32 once (exactly: every dtype is widened, activations stay f32) and packed k-major, bp[k][32]; the micro
// kernel then broadcasts one activation per token and does 2 FMAs per token per k into 2·T accumulators (the
// outer-product form: no horizontal sums, 32 registers used well). Each lane sums its k in segments of
// kGemmSeg, and every output element is computed the same way whatever the row split.

// Packs rows [o, o + nr) (nr <= 32; missing rows zero) of all columns into bp[k][32], 32 columns at a time
// through a 32×32 tile (4 KiB, in L1).
template <class L>
void pack_rows(const uint8_t* w, size_t rb, int64_t cols, int64_t o, int nr, float* bp) {
  alignas(64) float tile[kGemmRows][32];
  const int64_t nb = cols / 32;
  for (int64_t kb = 0; kb < nb; ++kb) {
    for (int r = 0; r < nr; ++r) {
      __m512 lo, hi;
      L::load32(w + (o + r) * rb, kb, lo, hi);
      _mm512_store_ps(tile[r], lo);
      _mm512_store_ps(tile[r] + 16, hi);
    }
    float* dst = bp + kb * 32 * kGemmRows;
    for (int j = 0; j < 32; ++j) {
      int r = 0;
      for (; r < nr; ++r) dst[j * kGemmRows + r] = tile[r][j];
      for (; r < kGemmRows; ++r) dst[j * kGemmRows + r] = 0.0f;
    }
  }
  for (int64_t k = nb * 32; k < cols; ++k) {  // the column tail of the non-block types
    int r = 0;
    for (; r < nr; ++r) bp[k * kGemmRows + r] = L::at(w + (o + r) * rb, k);
    for (; r < kGemmRows; ++r) bp[k * kGemmRows + r] = 0.0f;
  }
}

// T tokens × 32 rows: y[t * ldy + 0..31] (lanes beyond `mask` not stored).
template <int T>
inline void gemm_micro(const float* bp, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy,
                       __mmask16 m0, __mmask16 m1) {
  __m512 tot0[T], tot1[T];
  #pragma GCC unroll 16
  for (int t = 0; t < T; ++t) tot0[t] = tot1[t] = _mm512_setzero_ps();
  for (int64_t k0 = 0; k0 < cols; k0 += kGemmSeg) {
    const int64_t k1 = k0 + kGemmSeg < cols ? k0 + kGemmSeg : cols;
    __m512 c0[T], c1[T];
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) c0[t] = c1[t] = _mm512_setzero_ps();
    for (int64_t k = k0; k < k1; ++k) {
      const __m512 b0 = _mm512_loadu_ps(bp + k * kGemmRows);
      const __m512 b1 = _mm512_loadu_ps(bp + k * kGemmRows + 16);
      #pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const __m512 a = _mm512_set1_ps(x[t * ldx + k]);
        c0[t] = _mm512_fmadd_ps(a, b0, c0[t]);
        c1[t] = _mm512_fmadd_ps(a, b1, c1[t]);
      }
    }
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      tot0[t] = _mm512_add_ps(tot0[t], c0[t]);
      tot1[t] = _mm512_add_ps(tot1[t], c1[t]);
    }
  }
  #pragma GCC unroll 16
  for (int t = 0; t < T; ++t) {
    _mm512_mask_storeu_ps(y + t * ldy, m0, tot0[t]);
    _mm512_mask_storeu_ps(y + t * ldy + 16, m1, tot1[t]);
  }
}

template <class L>
void gemm(const uint8_t* w, size_t rb, int64_t cols, const float* x, int64_t ldx, int n_tok, float* y, int64_t ldy,
          int64_t r0, int64_t r1) {
  float* bp = scratch(size_t(cols) * kGemmRows);
  constexpr int T = 6;  // 24 accumulators + 2 weight vectors + 1 broadcast of 32 zmm registers
  for (int64_t o = r0; o < r1; o += kGemmRows) {
    const int nr = int(r1 - o < kGemmRows ? r1 - o : kGemmRows);
    pack_rows<L>(w, rb, cols, o, nr, bp);
    const __mmask16 m0 = __mmask16(gemm_row_mask(nr)), m1 = __mmask16(gemm_row_mask(nr) >> 16);
    int t = 0;
    for (; t + T <= n_tok; t += T) gemm_micro<T>(bp, cols, x + t * ldx, ldx, y + t * ldy + o, ldy, m0, m1);
    const float* xt = x + t * ldx;
    float* yt = y + t * ldy + o;
    for_token_tail<T>(n_tok - t, [&]<int N>() { gemm_micro<N>(bp, cols, xt, ldx, yt, ldy, m0, m1); });
  }
}

// bf16 decode without AVX-512 BF16 (Skylake to Ice Lake servers), R rows against one token: 32 weights per load,
// widened by interleaving zeros below them (one unpack per 16 instead of a widen and a shift). The unpacks take
// elements 0-3, 8-11, 16-19, 24-27 (low) and the other four of each 8 (high), so each 32 activations are permuted
// into that order once for all R rows.
template <int R>
inline void gemv_bf16(const uint8_t* w, size_t rb, int64_t cols, const float* x, float* y) {
  __m512 acc[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  const __m512i zero = _mm512_setzero_si512();
  const __m512i lo_idx = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
  const __m512i hi_idx = _mm512_add_epi32(lo_idx, _mm512_set1_epi32(4));
  int64_t k = 0;
  for (; k + 32 <= cols; k += 32) {
    const __m512 xa = _mm512_loadu_ps(x + k), xb = _mm512_loadu_ps(x + k + 16);
    const __m512 xlo = _mm512_permutex2var_ps(xa, lo_idx, xb), xhi = _mm512_permutex2var_ps(xa, hi_idx, xb);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512i v = _mm512_loadu_si512(w + r * rb + 2 * k);
      acc[r] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_unpacklo_epi16(zero, v)), xlo, acc[r]);
      acc[r] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_unpackhi_epi16(zero, v)), xhi, acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    float s = _mm512_reduce_add_ps(acc[r]);
    for (int64_t kk = k; kk < cols; ++kk) s += LoadBF16::at(w + r * rb, kk) * x[kk];
    y[r] = s;
  }
}

template <class L>
void run(const uint8_t* w, size_t rb, int64_t cols, const float* x, int64_t ldx, int n_tok, float* y, int64_t ldy,
         int64_t r0, int64_t r1) {
  if (n_tok >= kGemmMinTokens) {
    gemm<L>(w, rb, cols, x, ldx, n_tok, y, ldy, r0, r1);
    return;
  }
  if (n_tok == 1) {  // one row at a time, one sequential stream (see matmul_vnni.cpp); bf16 8, sharing x's permute
    int64_t o = r0;
    if constexpr (__is_same(L, LoadBF16))
      for (; o + 8 <= r1; o += 8) gemv_bf16<8>(w + o * rb, rb, cols, x, y + o);
    for (; o < r1; ++o) tile<L, 1, 1>(w + o * rb, rb, cols, x, ldx, y + o, ldy);
    return;
  }
  // Token chunks small enough that their activations stay in L2 while the weight rows stream past.
  int64_t chunk = (256 * 1024) / (cols * 4);
  chunk = chunk < 4 ? 4 : (chunk / 4) * 4;
  for (int64_t t0 = 0; t0 < n_tok; t0 += chunk) {
    int nt = int(n_tok - t0 < chunk ? n_tok - t0 : chunk);
    const float* xc = x + t0 * ldx;
    float* yc = y + t0 * ldy;
    int64_t o = r0;
    if (L::kConvert && nt >= 4) {
      // Convert each 4-row block to f32 once and reuse it for all nt tokens of the chunk.
      float* buf = scratch(size_t(4 * cols));
      const size_t frb = size_t(cols) * 4;
      for (; o + 4 <= r1; o += 4) {
        for (int r = 0; r < 4; ++r) to_f32<L>(w + (o + r) * rb, cols, buf + r * cols);
        tile_tokens<LoadF32, 4>(reinterpret_cast<const uint8_t*>(buf), frb, cols, xc, ldx, nt, yc + o, ldy);
      }
    }
    for (; o + 4 <= r1; o += 4) tile_tokens<L, 4>(w + o * rb, rb, cols, xc, ldx, nt, yc + o, ldy);
    for (; o < r1; ++o) tile_tokens<L, 1>(w + o * rb, rb, cols, xc, ldx, nt, yc + o, ldy);
  }
}

}  // namespace

void matmul_rows_avx512(int dtype, const uint8_t* w, size_t rb, int64_t cols, const float* x, int64_t ldx, int n_tok,
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
