// AVX-512 VNNI kernels for q8_0 / q4_0 weights against int8-quantized activations (see matmul.h).
// Per 32-block: dpbusd(unsigned weights, signed activations) with the accumulator seeded by the offset
// correction (q8_0: weights stored as w + 128, so -128·Σx; q4_0: nibbles 0..15, so -8·Σx, per 4-byte
// group), giving the exact integer dot; then one fp32 FMA with the two block scales.
#include "kernels/cpu/matmul_isa.h"

#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")
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

inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

struct WQ8 {
  static constexpr int kBlockBytes = 34;
  static constexpr bool kNibbles = false;
  static __m256i load(const uint8_t* b) {
    return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2)), _mm256_set1_epi8(char(0x80)));
  }
};
struct WQ4 {
  static constexpr int kBlockBytes = 18;
  static constexpr bool kNibbles = true;
  static __m256i load(const uint8_t* b) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 2));
    __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(v), _mm_srli_epi16(v, 4), 1);
    return _mm256_and_si256(both, _mm256_set1_epi8(15));
  }
};

template <class W, int R, int T>
inline void tile(const uint8_t* w, size_t rb, int64_t nb, const ActQ8& xq, int t0, float* y, int64_t ldy) {
  __m256 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  for (int64_t kb = 0; kb < nb; ++kb) {
    __m256i xv[T], xc[T];
    float xd[T];
    for (int t = 0; t < T; ++t) {
      const int64_t i = int64_t(t0 + t) * nb + kb;
      xv[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.q + i * 32));
      xc[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.corr + i * 8));
      xd[t] = xq.d[i];
    }
#pragma GCC unroll 16  // acc stays in registers (a loop over r kept it on the stack)
    for (int r = 0; r < R; ++r) {
      const uint8_t* b = w + r * rb + kb * W::kBlockBytes;
      const __m256i wv = W::load(b);
      const float dw = _cvtsh_ss(load_u16(b));
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        __m256i s = _mm256_dpbusd_epi32(xc[t], wv, xv[t]);
        acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(dw * xd[t]), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) {
      y[int64_t(t) * ldy + r] = hsum256(acc[r][t]);
    }
}

// Decode of one row, two blocks per 512-bit step (half the instructions of the 256-bit tile per byte).
// Block kb of one row against the token's activations: the exact integer dot times both scales.
template <class W>
inline float block_dot(const uint8_t* row, int64_t kb, const ActQ8& xq) {
  const uint8_t* b = row + kb * W::kBlockBytes;
  const __m256i s = _mm256_dpbusd_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.corr + kb * 8)),
                                        W::load(b), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.q + kb * 32)));
  return hsum256(_mm256_mul_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(_cvtsh_ss(load_u16(b)) * xq.d[kb])));
}

template <class W>
inline void gemv_row(const uint8_t* row, int64_t nb, const ActQ8& xq, float* y) {
  __m512 acc = _mm512_setzero_ps();
  int64_t kb = 0;
  for (; kb + 2 <= nb; kb += 2) {
    const uint8_t* b0 = row + kb * W::kBlockBytes;
    const uint8_t* b1 = b0 + W::kBlockBytes;
    const __m512i wv = _mm512_inserti64x4(_mm512_castsi256_si512(W::load(b0)), W::load(b1), 1);
    const __m512i xv = _mm512_loadu_si512(xq.q + kb * 32);
    const __m512i xc = _mm512_loadu_si512(xq.corr + kb * 8);
    const __m512i s = _mm512_dpbusd_epi32(xc, wv, xv);
    const __m512 sc = _mm512_shuffle_f32x4(_mm512_set1_ps(_cvtsh_ss(load_u16(b0)) * xq.d[kb]),
                                           _mm512_set1_ps(_cvtsh_ss(load_u16(b1)) * xq.d[kb + 1]), 0x44);
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), sc, acc);
  }
  float sum = _mm512_reduce_add_ps(acc);
  if (kb < nb) sum += block_dot<W>(row, kb, xq);
  *y = sum;
}

// ---- q4_0 decode: four blocks per 512-bit step ------------------------------------------------------------
//
// A q4_0 block's byte j holds weight j (low nibble) and weight j+16 (high nibble). Four blocks' 16 nibble
// bytes fill one 512-bit vector; its low nibbles pair with the first halves of the four activation blocks
// and its high nibbles with the second halves. So the activations of one token are regrouped once per call
// (Q4Group, in ActQ8::q4_groups: a few KiB) and every row then needs one and + one shift per four blocks
// instead of an unpack per block. Lane 4b+i of the int32 sum is block b's k-quads i and 4+i; its correction
// is their sum.

struct Q4Group {  // activations of four consecutive blocks, regrouped for q4_0
  int8_t lo[64];  // block b's x[0..15] at 16b
  int8_t hi[64];  // block b's x[16..31] at 16b
  int32_t corr[16];
  float d[4];
};

// acc + four blocks' sum: the nibble bytes in one vector (four 16-byte loads), the four f16 scales in one
// 64-bit word (the blocks are 18 bytes apart; a vpermw gather of them was slower on Zen 4).
inline __m512 q4_group(const uint8_t* b, const Q4Group& g, __m512 acc) {
  const __m512i nib = _mm512_set1_epi8(15);
  const __m512i spread = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  __m512i w = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 2)));
  w = _mm512_inserti32x4(w, _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 20)), 1);
  w = _mm512_inserti32x4(w, _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 38)), 2);
  w = _mm512_inserti32x4(w, _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 56)), 3);
  __m512i s = _mm512_dpbusd_epi32(_mm512_loadu_si512(g.corr), _mm512_and_si512(w, nib), _mm512_loadu_si512(g.lo));
  s = _mm512_dpbusd_epi32(s, _mm512_and_si512(_mm512_srli_epi16(w, 4), nib), _mm512_loadu_si512(g.hi));
  const uint64_t dw = uint64_t(load_u16(b)) | uint64_t(load_u16(b + 18)) << 16 | uint64_t(load_u16(b + 36)) << 32 |
                      uint64_t(load_u16(b + 54)) << 48;
  const __m128 sc4 = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi64_si128(int64_t(dw))), _mm_loadu_ps(g.d));
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(sc4)), acc);
}

inline void gemv_row_q4(const uint8_t* row, int64_t nb, const Q4Group* g, const ActQ8& xq, float* y) {
  constexpr int64_t kGroupBytes = 4 * WQ4::kBlockBytes;
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();  // two chains: the FMAs do not wait on each other
  const int64_t ng = nb / 4;
  int64_t i = 0;
  for (; i + 2 <= ng; i += 2) {
    acc0 = q4_group(row + i * kGroupBytes, g[i], acc0);
    acc1 = q4_group(row + (i + 1) * kGroupBytes, g[i + 1], acc1);
  }
  if (i < ng) acc0 = q4_group(row + i * kGroupBytes, g[i], acc0);
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  for (int64_t kb = ng * 4; kb < nb; ++kb) sum += block_dot<WQ4>(row, kb, xq);
  *y = sum;
}

template <class W, int R>
inline void tile_tokens(const uint8_t* w, size_t rb, int64_t nb, const ActQ8& xq, int t0, int nt, float* y,
                        int64_t ldy) {
  int t = 0;
  for (; t + 4 <= nt; t += 4) tile<W, R, 4>(w, rb, nb, xq, t0 + t, y + t * ldy, ldy);
  for_token_tail<4>(nt - t, [&]<int N>() { tile<W, R, N>(w, rb, nb, xq, t0 + t, y + t * ldy, ldy); });
}

// ---- prefill / batched decode: a packed int8 GEMM -------------------------------------------------------
//
// Weights of 16 rows × one 32-block are packed as 8 vectors of signed bytes (k-quad g: row r's 4 weights at
// bytes 4r..4r+3), with the 16 block scales and the correction -128·Σw of each row; activations (int8 per
// block, as for decode) enter as unsigned bytes x+128, one broadcast 4-byte quad per token, so dpbusd forms
// Σ(x+128)·w and the correction makes it Σx·w. 16 rows × 4 tokens × 32 k take 8 dpbusd per token and group.

struct PackedBlock {  // one 16-row group of one 32-block
  int8_t w[8][64];
  float d[16];
  int32_t corr[16];
};

PackedBlock* pack_scratch(size_t n) { return static_cast<PackedBlock*>(thread_scratch(n * sizeof(PackedBlock))); }

// Row r's 32 weights of block kb as signed bytes, and the block's scale.
template <class W>
inline float unpack_row(const uint8_t* row, int64_t kb, int8_t* out);
template <>
inline float unpack_row<WQ8>(const uint8_t* row, int64_t kb, int8_t* out) {
  const uint8_t* b = row + kb * WQ8::kBlockBytes;
  __builtin_memcpy(out, b + 2, 32);
  return _cvtsh_ss(load_u16(b));
}
template <>
inline float unpack_row<WQ4>(const uint8_t* row, int64_t kb, int8_t* out) {
  const uint8_t* b = row + kb * WQ4::kBlockBytes;
  const __m256i q = _mm256_sub_epi8(WQ4::load(b), _mm256_set1_epi8(8));  // nibbles 0..15 -> -8..7
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), q);
  return _cvtsh_ss(load_u16(b));
}

// Packs rows [o, o + nr) (nr <= 16; missing rows zero) into pk[kb] for every block.
template <class W>
void pack_group(const uint8_t* w, size_t rb, int64_t nb, int64_t o, int nr, PackedBlock* pk) {
  int8_t tmp[32];
  for (int64_t kb = 0; kb < nb; ++kb) {
    PackedBlock& p = pk[kb];
    for (int r = 0; r < 16; ++r) {
      if (r >= nr) {
        for (int g = 0; g < 8; ++g) __builtin_memset(&p.w[g][4 * r], 0, 4);
        p.d[r] = 0.0f;
        p.corr[r] = 0;
        continue;
      }
      p.d[r] = unpack_row<W>(w + (o + r) * rb, kb, tmp);
      int32_t sum = 0;
      for (int j = 0; j < 32; ++j) sum += tmp[j];
      p.corr[r] = -128 * sum;
      for (int g = 0; g < 8; ++g) __builtin_memcpy(&p.w[g][4 * r], tmp + 4 * g, 4);
    }
  }
}

template <int T>
inline void gemm_micro(const PackedBlock* p0, const PackedBlock* p1, int64_t nb, const ActQ8& xq, int t0, float* y,
                       int64_t ldy, __mmask16 m0, __mmask16 m1) {
  __m512 f0[T], f1[T];
  #pragma GCC unroll 16
  for (int t = 0; t < T; ++t) f0[t] = f1[t] = _mm512_setzero_ps();
  const __m512i flip = _mm512_set1_epi32(int(0x80808080u));
  for (int64_t kb = 0; kb < nb; ++kb) {
    __m512i i0[T], i1[T];
    const __m512i c0 = _mm512_loadu_si512(p0[kb].corr), c1 = _mm512_loadu_si512(p1[kb].corr);
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      i0[t] = c0;
      i1[t] = c1;
    }
    #pragma GCC unroll 16
    for (int g = 0; g < 8; ++g) {
      const __m512i w0 = _mm512_loadu_si512(p0[kb].w[g]), w1 = _mm512_loadu_si512(p1[kb].w[g]);
      #pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        int32_t quad;
        __builtin_memcpy(&quad, xq.q + (int64_t(t0 + t) * nb + kb) * 32 + 4 * g, 4);
        const __m512i a = _mm512_xor_si512(_mm512_set1_epi32(quad), flip);
        i0[t] = _mm512_dpbusd_epi32(i0[t], a, w0);
        i1[t] = _mm512_dpbusd_epi32(i1[t], a, w1);
      }
    }
    const __m512 d0 = _mm512_loadu_ps(p0[kb].d), d1 = _mm512_loadu_ps(p1[kb].d);
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m512 s = _mm512_set1_ps(xq.d[int64_t(t0 + t) * nb + kb]);
      f0[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0[t]), _mm512_mul_ps(d0, s), f0[t]);
      f1[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1[t]), _mm512_mul_ps(d1, s), f1[t]);
    }
  }
  #pragma GCC unroll 16
  for (int t = 0; t < T; ++t) {
    _mm512_mask_storeu_ps(y + int64_t(t) * ldy, m0, f0[t]);
    _mm512_mask_storeu_ps(y + int64_t(t) * ldy + 16, m1, f1[t]);
  }
}

template <class W>
void gemm(const uint8_t* w, size_t rb, int64_t cols, const ActQ8& xq, int n_tok, float* y, int64_t ldy, int64_t r0,
          int64_t r1) {
  const int64_t nb = cols / 32;
  PackedBlock* pk = pack_scratch(size_t(2 * nb));
  constexpr int T = 4;
  for (int64_t o = r0; o < r1; o += kGemmRows) {
    const int nr = int(r1 - o < kGemmRows ? r1 - o : kGemmRows);
    pack_group<W>(w, rb, nb, o, nr < 16 ? nr : 16, pk);
    pack_group<W>(w, rb, nb, o + 16, nr > 16 ? nr - 16 : 0, pk + nb);
    const __mmask16 m0 = __mmask16(gemm_row_mask(nr)), m1 = __mmask16(gemm_row_mask(nr) >> 16);
    int t = 0;
    for (; t + T <= n_tok; t += T) gemm_micro<T>(pk, pk + nb, nb, xq, t, y + t * ldy + o, ldy, m0, m1);
    for_token_tail<T>(n_tok - t, [&]<int N>() { gemm_micro<N>(pk, pk + nb, nb, xq, t, y + t * ldy + o, ldy, m0, m1); });
  }
}

template <class W>
void run(const uint8_t* w, size_t rb, int64_t cols, const ActQ8& xq, int n_tok, float* y, int64_t ldy, int64_t r0,
         int64_t r1) {
  const int64_t nb = cols / 32;
  if (n_tok >= kGemmMinTokens) {
    gemm<W>(w, rb, cols, xq, n_tok, y, ldy, r0, r1);
    return;
  }
  if (n_tok == 1) {
    // One row at a time: its blocks are one sequential stream. Interleaving 8 rows (8 streams 2 KiB apart) looked
    // like more parallelism but read DRAM at ~17 GB/s per core where one stream reaches ~30.
    if constexpr (W::kNibbles) {
      const auto* g = static_cast<const Q4Group*>(xq.q4_groups);
      for (int64_t o = r0; o < r1; ++o) gemv_row_q4(w + o * rb, nb, g, xq, y + o);
    } else {
      for (int64_t o = r0; o < r1; ++o) gemv_row<W>(w + o * rb, nb, xq, y + o);
    }
    return;
  }
  int64_t chunk = (256 * 1024) / (cols + 36);
  chunk = chunk < 4 ? 4 : (chunk / 4) * 4;
  for (int64_t t0 = 0; t0 < n_tok; t0 += chunk) {
    int nt = int(n_tok - t0 < chunk ? n_tok - t0 : chunk);
    float* yc = y + t0 * ldy;
    int64_t o = r0;
    for (; o + 4 <= r1; o += 4) tile_tokens<W, 4>(w + o * rb, rb, nb, xq, int(t0), nt, yc + o, ldy);
    for (; o < r1; ++o) tile_tokens<W, 1>(w + o * rb, rb, nb, xq, int(t0), nt, yc + o, ldy);
  }
}

}  // namespace

size_t q4_groups_bytes(int64_t nb) { return size_t(nb / 4) * sizeof(Q4Group); }

void regroup_q4(const ActQ8& xq, int64_t nb, void* out) {
  auto* g = static_cast<Q4Group*>(out);
  for (int64_t i = 0; i < nb / 4; ++i)
    for (int b = 0; b < 4; ++b) {
      const int64_t kb = 4 * i + b;
      __builtin_memcpy(g[i].lo + 16 * b, xq.q + kb * 32, 16);
      __builtin_memcpy(g[i].hi + 16 * b, xq.q + kb * 32 + 16, 16);
      for (int q = 0; q < 4; ++q) g[i].corr[4 * b + q] = xq.corr[kb * 8 + q] + xq.corr[kb * 8 + 4 + q];
      g[i].d[b] = xq.d[kb];
    }
}

void matmul_rows_vnni(int dtype, const uint8_t* w, size_t rb, int64_t cols, const ActQ8& xq, int n_tok, float* y,
                      int64_t ldy, int64_t r0, int64_t r1) {
  switch (dtype) {
    case 3: run<WQ8>(w, rb, cols, xq, n_tok, y, ldy, r0, r1); break;
    case 4: run<WQ4>(w, rb, cols, xq, n_tok, y, ldy, r0, r1); break;
    default: __builtin_trap();
  }
}

}  // namespace glm::kernels::isa_impl
