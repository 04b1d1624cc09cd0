// AVX-512 BF16 kernels: bf16 weights against bf16-rounded activations (MatmulActs::compact, see matmul.h),
// a packed GEMM for prefill and per-row dot products for decode.
// Compiled for AVX-512 BF16 via the pragma; only called when has_avx512_bf16() says so.
#include "kernels/cpu/matmul_isa.h"

#pragma GCC target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

namespace glm::kernels::isa_impl {
namespace {

// 16 vectors of 16 words, transposed in registers: r[k] becomes column k (word k of every input, in order).
inline void transpose16(__m512i r[16]) {
  __m512i t[16];
  #pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  #pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  #pragma GCC unroll 8
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) {
      t[8 * i + k] = _mm512_shuffle_i32x4(r[8 * i + k], r[8 * i + 4 + k], 0x88);
      t[8 * i + 4 + k] = _mm512_shuffle_i32x4(r[8 * i + k], r[8 * i + 4 + k], 0xDD);
    }
  #pragma GCC unroll 8
  for (int k = 0; k < 8; ++k) {
    r[k] = _mm512_shuffle_i32x4(t[k], t[8 + k], 0x88);
    r[k + 8] = _mm512_shuffle_i32x4(t[k], t[8 + k], 0xDD);
  }
}

// A bf16 row read as 32-bit words is already a row of (k even, k odd) pairs, the operand vdpbf16ps takes:
// packing a 32-row block is a transpose of those words into bp[pair][32] (rows beyond nr zero), 16 pairs × 16
// rows at a time in registers.
void pack_pairs(const uint8_t* w, size_t rb, int64_t n_pairs, int64_t o, int nr, uint32_t* bp) {
  int64_t p = 0;
  for (; p + 16 <= n_pairs; p += 16) {
    for (int h = 0; h < 2; ++h) {
      __m512i r[16];
      #pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) {
        const int row = 16 * h + i;
        r[i] = row < nr ? _mm512_loadu_si512(w + size_t(o + row) * rb + size_t(p) * 4) : _mm512_setzero_si512();
      }
      transpose16(r);
      #pragma GCC unroll 16
      for (int k = 0; k < 16; ++k) _mm512_storeu_si512(bp + (p + k) * kGemmRows + 16 * h, r[k]);
    }
  }
  for (; p < n_pairs; ++p) {
    int r = 0;
    for (; r < nr; ++r) __builtin_memcpy(&bp[p * kGemmRows + r], w + size_t(o + r) * rb + size_t(p) * 4, 4);
    for (; r < kGemmRows; ++r) bp[p * kGemmRows + r] = 0;
  }
}

// T tokens × 16·V rows (V/2 packed 32-row blocks): V vdpbf16ps per token per pair of columns into V·T
// accumulators (outer-product form, as the f32 GEMM in matmul_avx512.cpp, with half the instructions per column).
template <int V, int T>
inline void micro(const uint32_t* const* bps, int64_t n_pairs, const uint32_t* xp, int64_t ldxp, float* y,
                  int64_t ldy, const __mmask16* m) {
  __m512 c[V][T];
  #pragma GCC unroll 16
  for (int v = 0; v < V; ++v)
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) c[v][t] = _mm512_setzero_ps();
  for (int64_t p = 0; p < n_pairs; ++p) {
    __m512bh b[V];
    #pragma GCC unroll 4
    for (int v = 0; v < V; ++v) b[v] = (__m512bh)_mm512_loadu_si512(bps[v / 2] + p * kGemmRows + 16 * (v % 2));
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(int(xp[t * ldxp + p]));
      #pragma GCC unroll 4
      for (int v = 0; v < V; ++v) c[v][t] = _mm512_dpbf16_ps(c[v][t], a, b[v]);
    }
  }
  #pragma GCC unroll 16
  for (int t = 0; t < T; ++t)
    #pragma GCC unroll 4
    for (int v = 0; v < V; ++v) _mm512_mask_storeu_ps(y + t * ldy + 16 * v, m[v], c[v][t]);
}

// All tokens against V/2 packed blocks: T = 24 / V tokens per micro-kernel (24 accumulators, V weight vectors and
// a broadcast of the 32 zmm registers).
template <int V>
void blocks_times_tokens(const uint32_t* const* bps, int64_t n_pairs, const uint32_t* xp, int n_tok, float* y,
                         int64_t ldy, const __mmask16* m) {
  constexpr int T = 24 / V;
  int t = 0;
  for (; t + T <= n_tok; t += T) micro<V, T>(bps, n_pairs, xp + t * n_pairs, n_pairs, y + t * ldy, ldy, m);
  for_token_tail<T>(n_tok - t,
                    [&]<int N>() { micro<V, N>(bps, n_pairs, xp + t * n_pairs, n_pairs, y + t * ldy, ldy, m); });
}

// Decode (fewer than kGemmMinTokens tokens): one row at a time, as one sequential stream (see the int8
// decode in matmul_vnni.cpp), each 64-byte load of 32 weights dotted with every token's activations by one
// vdpbf16ps: a quarter of the instructions per byte of the f32 path's widen-and-FMA.
template <int T>
inline void gemv_rows(const uint8_t* w, size_t rb, int64_t n_pairs, const uint32_t* xp, float* y, int64_t ldy,
                      int64_t r0, int64_t r1) {
  const int64_t full = n_pairs / 16 * 16;
  const __mmask16 tail = __mmask16((1u << (n_pairs - full)) - 1);
  for (int64_t o = r0; o < r1; ++o) {
    const auto* row = reinterpret_cast<const uint32_t*>(w + size_t(o) * rb);
    __m512 acc[T];
    #pragma GCC unroll 8
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t p = 0; p < full; p += 16) {
      const __m512bh wv = (__m512bh)_mm512_loadu_si512(row + p);
      #pragma GCC unroll 8
      for (int t = 0; t < T; ++t)
        acc[t] = _mm512_dpbf16_ps(acc[t], (__m512bh)_mm512_loadu_si512(xp + t * n_pairs + p), wv);
    }
    if (tail) {
      const __m512bh wv = (__m512bh)_mm512_maskz_loadu_epi32(tail, row + full);
      #pragma GCC unroll 8
      for (int t = 0; t < T; ++t)
        acc[t] = _mm512_dpbf16_ps(acc[t], (__m512bh)_mm512_maskz_loadu_epi32(tail, xp + t * n_pairs + full), wv);
    }
    #pragma GCC unroll 8
    for (int t = 0; t < T; ++t) y[t * ldy + o] = _mm512_reduce_add_ps(acc[t]);
  }
}

// Decode against weights packed at load (pack_bf16_pairs): per pair of columns, the block's 32 rows in two
// vectors, each dotted with a broadcast of every token's pair (the GEMM's outer-product form without its
// per-call packing; no horizontal sums). With one or two tokens, even and odd pairs accumulate apart so the
// FMA chains do not wait on each other.
template <int T>
inline void gemv_packed(const uint32_t* packed, int64_t n_pairs, const uint32_t* xp, float* y, int64_t ldy,
                        int64_t r0, int64_t r1) {
  constexpr int U = T <= 2 ? 2 : 1;
  for (int64_t o = r0; o < r1; o += kGemmRows) {
    const int nr = int(r1 - o < kGemmRows ? r1 - o : kGemmRows);
    const uint32_t* bp = packed + (o / kGemmRows) * n_pairs * kGemmRows;
    __m512 c[U][2][T];
    #pragma GCC unroll 16
    for (int u = 0; u < U; ++u)
      #pragma GCC unroll 16
      for (int t = 0; t < T; ++t) c[u][0][t] = c[u][1][t] = _mm512_setzero_ps();
    auto step = [&](int u, int64_t p) __attribute__((always_inline)) {
      const __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp + p * kGemmRows);
      const __m512bh b1 = (__m512bh)_mm512_loadu_si512(bp + p * kGemmRows + 16);
      #pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const __m512bh a = (__m512bh)_mm512_set1_epi32(int(xp[t * n_pairs + p]));
        c[u][0][t] = _mm512_dpbf16_ps(c[u][0][t], a, b0);
        c[u][1][t] = _mm512_dpbf16_ps(c[u][1][t], a, b1);
      }
    };
    int64_t p = 0;
    for (; p + U <= n_pairs; p += U)
      #pragma GCC unroll 2
      for (int u = 0; u < U; ++u) step(u, p + u);
    for (; p < n_pairs; ++p) step(0, p);
    const __mmask16 m0 = __mmask16(gemm_row_mask(nr)), m1 = __mmask16(gemm_row_mask(nr) >> 16);
    #pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      __m512 lo = c[0][0][t], hi = c[0][1][t];
      if constexpr (U == 2) lo = _mm512_add_ps(lo, c[1][0][t]), hi = _mm512_add_ps(hi, c[1][1][t]);
      _mm512_mask_storeu_ps(y + t * ldy + o, m0, lo);
      _mm512_mask_storeu_ps(y + t * ldy + o + 16, m1, hi);
    }
  }
}

}  // namespace

void pack_bf16_pairs(const uint8_t* w, size_t rb, int64_t rows, int64_t cols, int64_t block_begin, int64_t block_end,
                     uint32_t* out) {
  const int64_t n_pairs = cols / 2;
  for (int64_t b = block_begin; b < block_end; ++b) {
    const int64_t o = b * kGemmRows;
    pack_pairs(w, rb, n_pairs, o, int(rows - o < kGemmRows ? rows - o : kGemmRows), out + b * n_pairs * kGemmRows);
  }
}

void acts_to_bf16(const float* x, int64_t ldx, int n_tok, int64_t cols, uint16_t* out) {
  for (int t = 0; t < n_tok; ++t) {
    const float* xs = x + t * ldx;
    uint16_t* o = out + t * cols;
    int64_t k = 0;
    for (; k + 32 <= cols; k += 32) {  // round to nearest even, as the weights were when they became bf16
      const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(xs + k + 16), _mm512_loadu_ps(xs + k));
      _mm512_storeu_si512(o + k, (__m512i)v);
    }
    if (k < cols) {
      const __mmask16 m = __mmask16((1u << (cols - k)) - 1);
      const __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, xs + k));
      _mm256_mask_storeu_epi16(o + k, m, (__m256i)v);
    }
  }
}

void gemm_bf16(const uint8_t* w, size_t rb, int64_t cols, const uint32_t* packed, const uint16_t* xb, int n_tok,
               float* y, int64_t ldy, int64_t r0, int64_t r1) {
  const int64_t n_pairs = cols / 2;
  const auto* xp = reinterpret_cast<const uint32_t*>(xb);
  const bool use_packed = packed && r0 % kGemmRows == 0;
  if (n_tok < kGemmMinTokens) {
    if (use_packed)
      for_token_tail<kGemmMinTokens>(n_tok, [&]<int N>() { gemv_packed<N>(packed, n_pairs, xp, y, ldy, r0, r1); });
    else
      for_token_tail<kGemmMinTokens>(n_tok, [&]<int N>() { gemv_rows<N>(w, rb, n_pairs, xp, y, ldy, r0, r1); });
    return;
  }
  // The pairs of the block at row o: from the copy packed at load, or packed now into this thread's scratch.
  auto* scratch =
      use_packed ? nullptr : static_cast<uint32_t*>(thread_scratch(size_t(2 * n_pairs) * kGemmRows * sizeof(uint32_t)));
  auto block = [&](int64_t o, int nr, int slot) -> const uint32_t* {
    if (use_packed) return packed + (o / kGemmRows) * n_pairs * kGemmRows;
    uint32_t* bp = scratch + slot * n_pairs * kGemmRows;
    pack_pairs(w, rb, n_pairs, o, nr, bp);
    return bp;
  };
  for (int64_t o = r0; o < r1;) {
    // Two blocks (64 rows) at a time where the range allows: 4 weight vectors per broadcast instead of 2.
    const int nr0 = int(r1 - o < kGemmRows ? r1 - o : kGemmRows);
    const int64_t o1 = o + nr0;
    const int nr1 = int(r1 - o1 < kGemmRows ? r1 - o1 : kGemmRows);  // 0 when the range ends at o1
    const __mmask16 m[4] = {__mmask16(gemm_row_mask(nr0)), __mmask16(gemm_row_mask(nr0) >> 16),
                            __mmask16(gemm_row_mask(nr1)), __mmask16(gemm_row_mask(nr1) >> 16)};
    const uint32_t* bps[2] = {block(o, nr0, 0), nullptr};
    if (nr0 == kGemmRows && nr1 > 0) {
      bps[1] = block(o1, nr1, 1);
      blocks_times_tokens<4>(bps, n_pairs, xp, n_tok, y + o, ldy, m);
      o = o1 + nr1;
    } else {
      blocks_times_tokens<2>(bps, n_pairs, xp, n_tok, y + o, ldy, m);
      o = o1;
    }
  }
}

}  // namespace glm::kernels::isa_impl
