// AVX-512 VNNI kernels for q8_0 / q4_0 / q4_k / q6_k weights against int8-quantized activations (see matmul.h).
// Per 32-block: dpbusd(unsigned weights, signed activations) with the accumulator seeded by the offset
// correction (q8_0: weights stored as w + 128, so -128·Σx; q4_0: nibbles 0..15, so -8·Σx; q6_k: 6-bit 0..63,
// so -32·Σx; per 4-byte group), giving the exact integer dot; then one fp32 FMA with the scales. q4_k's nibbles
// need no correction; its mins enter once per 256-super-block as dmin · Σ m_j · (d·Σq)_j.
#include "kernels/cpu/matmul_isa.h"

#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/cpu/isa_common.h"

namespace glm::kernels::isa_impl {
namespace {

struct WQ8 {
  using Pack = Q8Pack;  // its packed layout (pack_groups)
  static constexpr int kBlockBytes = 34;
  static constexpr bool kNibbles = false;
  static constexpr bool kHalves = false;  // two scales per 32-block (one per 16)
  static constexpr bool kMins = false;    // a min term per 32-block
  static __m256i load(const uint8_t* b) {
    return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2)), _mm256_set1_epi8(char(0x80)));
  }
};
struct WQ4 {
  using Pack = Q4Pack;
  static constexpr int kBlockBytes = 18;
  static constexpr bool kNibbles = true;
  static constexpr bool kHalves = false;
  static constexpr bool kMins = false;
  static __m256i load(const uint8_t* b) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 2));
    __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(v), _mm_srli_epi16(v, 4), 1);
    return _mm256_and_si256(both, _mm256_set1_epi8(15));
  }
};

// The K-quants are read only through their own decode kernels and unpack_row (GEMM).
struct WQ4K {
  static constexpr int kSuperBytes = 144;
  static constexpr bool kHalves = false;
  static constexpr bool kMins = true;
};
struct WQ6K {
  static constexpr int kSuperBytes = 210;
  static constexpr bool kHalves = true;
  static constexpr bool kMins = false;
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


// ---- K-quant decode on the stored rows: one 256-super-block per step -----------------------------------------
//
// As llama.cpp's Q8_K: a token's activations are quantized per 256 (KGroup, by group_k), so the products of a
// super-block sum in int32 with the weights' integer sub-block scales applied there (maddubs: u8 weights × s8
// activations into s16 pairs; dpwssd: × the s16 scale into the s32 sums), and take one float multiply per
// super-block instead of one per 32-block. q4_k's mins and q6_k's offset 32 enter through the activations'
// sums per sub-block. These run when the matrix is not packed (mapped, too big to copy) or a row range does not
// start on a 16-row group; the packed kernels below do about 2.5 times less work per weight.

// Pickers of the scale vectors (maddubs word i covers elements 2i, 2i + 1 of its 64). q4k: pshufb controls on the
// 8 scale words broadcast to every 128-bit lane; vector 2v (low nibbles of qs bytes 64v..) takes blocks 4v and
// 4v + 2, vector 2v + 1 (high nibbles) 4v + 1 and 4v + 3, 16 words each. q6k: vpermw indices on the 16 scale
// words; vector u (elements 64u..) takes scales 4u + i / 8.
struct KPick {
  __m512i q4k[4], q6k[4];
  KPick() {
    alignas(64) int8_t c[64];
    alignas(64) int16_t t[32];
    for (int u = 0; u < 4; ++u) {
      const int first = 4 * (u / 2) + (u & 1);
      for (int i = 0; i < 64; ++i) c[i] = int8_t(2 * (i / 16 < 2 ? first : first + 2) + (i & 1));
      q4k[u] = _mm512_load_si512(c);
      for (int i = 0; i < 32; ++i) t[i] = int16_t(4 * u + i / 8);
      q6k[u] = _mm512_load_si512(t);
    }
  }
};

// A q4_k super-block's 6-bit sub-block scales (words 0-7) and mins (words 8-15) from its 12 scale bytes s:
// j < 4 in the low 6 bits of s[j] and s[j + 4]; j >= 4 in s[j + 4]'s nibbles with the top 2 bits of s[j - 4], s[j].
inline __m256i q4k_scale_words(const uint8_t* b) {
  const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 4));  // 12 scale bytes, 4 quant bytes
  const __m128i low = _mm_shuffle_epi8(s, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
  const __m128i top = _mm_shuffle_epi8(s, _mm_setr_epi8(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7));
  const __m128i nibs = _mm_mask_blend_epi8(0xF000, low, _mm_srli_epi16(low, 4));  // mins 4-7: the high nibbles
  const __m128i lo6 =
      _mm_and_si128(nibs, _mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 15, 15, 15, 15));
  const __m128i hi2 = _mm_and_si128(_mm_srli_epi16(top, 2), _mm_set1_epi8(0x30));
  return _mm256_cvtepu8_epi16(_mm_or_si128(lo6, hi2));
}

inline float gemv_row_q4k(const uint8_t* row, int64_t nsb, const KGroup* g, const KPick& pk) {
  const __m512i nib = _mm512_set1_epi8(15);
  __m512 acc = _mm512_setzero_ps();
  __m256 accm = _mm256_setzero_ps();
  for (int64_t s = 0; s < nsb; ++s) {
    const uint8_t* b = row + s * WQ4K::kSuperBytes;
    const KGroup& x = g[s];
    const __m256i scm = q4k_scale_words(b);
    const __m512i scw = _mm512_broadcast_i32x4(_mm256_castsi256_si128(scm));
    __m512i sum[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};  // two chains: dpwssd's latency
#pragma GCC unroll 2
    for (int v = 0; v < 2; ++v) {
      const __m512i w = _mm512_loadu_si512(b + 16 + 64 * v);
      const __m512i lo = _mm512_maddubs_epi16(_mm512_and_si512(w, nib), _mm512_loadu_si512(x.q + 128 * v));
      const __m512i hi =
          _mm512_maddubs_epi16(_mm512_and_si512(_mm512_srli_epi16(w, 4), nib), _mm512_loadu_si512(x.q + 128 * v + 64));
      sum[v] = _mm512_dpwssd_epi32(sum[v], lo, _mm512_shuffle_epi8(scw, pk.q4k[2 * v]));
      sum[v] = _mm512_dpwssd_epi32(sum[v], hi, _mm512_shuffle_epi8(scw, pk.q4k[2 * v + 1]));
    }
    uint32_t dd;
    __builtin_memcpy(&dd, b, 4);
    const __m128 dx = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(int(dd))), _mm_set1_ps(x.d));  // d·dx, dmin·dx
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(sum[0], sum[1])), _mm512_broadcastss_ps(dx), acc);
    // Lanes 4-7: mins · Σx of each 32 (lanes 0-3 meet the zeros).
    const __m256i mins = _mm256_madd_epi16(scm, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.zero)));
    accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_broadcastss_ps(_mm_movehdup_ps(dx)), accm);
  }
  return _mm512_reduce_add_ps(acc) - hsum256(accm);
}

// Half h of a q6_k super-block: ql's 64 bytes give elements 128h + 0..63 (low nibbles) and + 64..127 (high);
// qh's 32 bytes their top two bits (bits 0-1 and 2-3 for the first 64, 4-5 and 6-7 for the rest).
inline float gemv_row_q6k(const uint8_t* row, int64_t nsb, const KGroup* g, const KPick& pk) {
  const __m512i nib = _mm512_set1_epi8(15), b01 = _mm512_set1_epi8(3), b45 = _mm512_set1_epi8(0x30);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t s = 0; s < nsb; ++s) {
    const uint8_t* b = row + s * WQ6K::kSuperBytes;
    const KGroup& x = g[s];
    const __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 192)));
    const __m512i scw = _mm512_castsi256_si512(sc);
    // The offset: Σ sc·(q - 32)·x = Σ sc·q·x - 32 · Σ_i sc_i · (Σx of 16-block i).
    const __m256i off = _mm256_madd_epi16(sc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.bsum16)));
    __m512i sum[2] = {_mm512_castsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 5))),
                      _mm512_setzero_si512()};  // two chains: dpwssd's latency
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const __m512i ql = _mm512_loadu_si512(b + 64 * h);
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 128 + 32 * h));
      const __m512i qh2 = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
      const __m512i qa = _mm512_or_si512(_mm512_and_si512(ql, nib), _mm512_slli_epi16(_mm512_and_si512(qh2, b01), 4));
      const __m512i qb = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), nib), _mm512_and_si512(qh2, b45));
      const __m512i pa = _mm512_maddubs_epi16(qa, _mm512_loadu_si512(x.q + 128 * h));
      const __m512i pb = _mm512_maddubs_epi16(qb, _mm512_loadu_si512(x.q + 128 * h + 64));
      sum[h] = _mm512_dpwssd_epi32(sum[h], pa, _mm512_permutexvar_epi16(pk.q6k[2 * h], scw));
      sum[h] = _mm512_dpwssd_epi32(sum[h], pb, _mm512_permutexvar_epi16(pk.q6k[2 * h + 1], scw));
    }
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(sum[0], sum[1])),
                          _mm512_set1_ps(_cvtsh_ss(load_u16(b + 208)) * x.d), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

template <class W>
inline float gemv_row_k(const uint8_t* row, int64_t nsb, const KGroup* g, const KPick& pk) {
  if constexpr (W::kMins) return gemv_row_q4k(row, nsb, g, pk);
  else return gemv_row_q6k(row, nsb, g, pk);
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
  float d_hi[16];       // kHalves: the scales and corrections of k 16..31 (d, corr then cover k 0..15)
  int32_t corr_hi[16];
  float mn[16];         // kMins: each row's min term, times the token's d·Σq of the block
};

// Row r's 32 weights of one 32-block as signed bytes, their scale (d_hi: of the second 16 where they differ)
// and the min term (x = d·q + mn per element).
struct RowBlock {
  float d, d_hi, mn;
};

PackedBlock* pack_scratch(size_t n) { return static_cast<PackedBlock*>(thread_scratch(n * sizeof(PackedBlock))); }

template <class W>
inline RowBlock unpack_row(const uint8_t* row, int64_t kb, int8_t* out);
template <>
inline RowBlock unpack_row<WQ8>(const uint8_t* row, int64_t kb, int8_t* out) {
  const uint8_t* b = row + kb * WQ8::kBlockBytes;
  __builtin_memcpy(out, b + 2, 32);
  const float d = _cvtsh_ss(load_u16(b));
  return {d, d, 0.0f};
}
template <>
inline RowBlock unpack_row<WQ4>(const uint8_t* row, int64_t kb, int8_t* out) {
  const uint8_t* b = row + kb * WQ4::kBlockBytes;
  const __m256i q = _mm256_sub_epi8(WQ4::load(b), _mm256_set1_epi8(8));  // nibbles 0..15 -> -8..7
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), q);
  const float d = _cvtsh_ss(load_u16(b));
  return {d, d, 0.0f};
}
template <>
inline RowBlock unpack_row<WQ4K>(const uint8_t* row, int64_t kb, int8_t* out) {
  const uint8_t* b = row + (kb / 8) * WQ4K::kSuperBytes;
  const int j = int(kb % 8);
  uint64_t sc, m;
  q4k_scales(b + 4, &sc, &m);
  const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16 + 32 * (j / 2)));
  const __m256i v = (j & 1) ? _mm256_srli_epi16(q, 4) : q;
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_and_si256(v, _mm256_set1_epi8(15)));
  const float d = _cvtsh_ss(load_u16(b)) * float((sc >> (8 * j)) & 63);
  return {d, d, -(_cvtsh_ss(load_u16(b + 2)) * float((m >> (8 * j)) & 63))};
}
template <>
inline RowBlock unpack_row<WQ6K>(const uint8_t* row, int64_t kb, int8_t* out) {
  const uint8_t* b = row + (kb / 8) * WQ6K::kSuperBytes;
  const int j = int(kb % 8), h = j / 4, p = j % 4;
  __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 64 * h + 32 * (p & 1)));
  if (p >= 2) lo = _mm256_srli_epi16(lo, 4);
  __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 128 + 32 * h));
  hi = _mm256_srl_epi16(hi, _mm_cvtsi32_si128(2 * p));
  const __m256i q = _mm256_or_si256(_mm256_and_si256(lo, _mm256_set1_epi8(15)),
                                    _mm256_slli_epi16(_mm256_and_si256(hi, _mm256_set1_epi8(3)), 4));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_sub_epi8(q, _mm256_set1_epi8(32)));
  const float d = _cvtsh_ss(load_u16(b + 208));
  const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
  return {d * float(sc[2 * j]), d * float(sc[2 * j + 1]), 0.0f};
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
        p.d[r] = p.d_hi[r] = p.mn[r] = 0.0f;
        p.corr[r] = p.corr_hi[r] = 0;
        continue;
      }
      const RowBlock rbk = unpack_row<W>(w + (o + r) * rb, kb, tmp);
      p.d[r] = rbk.d;
      p.d_hi[r] = rbk.d_hi;
      p.mn[r] = rbk.mn;
      int32_t lo = 0, hi = 0;
      for (int j = 0; j < 16; ++j) lo += tmp[j];
      for (int j = 16; j < 32; ++j) hi += tmp[j];
      p.corr[r] = -128 * (W::kHalves ? lo : lo + hi);
      p.corr_hi[r] = -128 * hi;
      for (int g = 0; g < 8; ++g) __builtin_memcpy(&p.w[g][4 * r], tmp + 4 * g, 4);
    }
  }
}

template <class W, int T>
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
      if constexpr (W::kHalves) {
        if (g == 4) {  // k 0..15 done: scale them, start k 16..31
          const __m512 d0 = _mm512_loadu_ps(p0[kb].d), d1 = _mm512_loadu_ps(p1[kb].d);
          const __m512i h0 = _mm512_loadu_si512(p0[kb].corr_hi), h1 = _mm512_loadu_si512(p1[kb].corr_hi);
          #pragma GCC unroll 16
          for (int t = 0; t < T; ++t) {
            const __m512 s = _mm512_set1_ps(xq.d[int64_t(t0 + t) * nb + kb]);
            f0[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0[t]), _mm512_mul_ps(d0, s), f0[t]);
            f1[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1[t]), _mm512_mul_ps(d1, s), f1[t]);
            i0[t] = h0;
            i1[t] = h1;
          }
        }
      }
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
    const __m512 d0 = _mm512_loadu_ps(W::kHalves ? p0[kb].d_hi : p0[kb].d);
    const __m512 d1 = _mm512_loadu_ps(W::kHalves ? p1[kb].d_hi : p1[kb].d);
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m512 s = _mm512_set1_ps(xq.d[int64_t(t0 + t) * nb + kb]);
      f0[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0[t]), _mm512_mul_ps(d0, s), f0[t]);
      f1[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1[t]), _mm512_mul_ps(d1, s), f1[t]);
    }
    if constexpr (W::kMins) {
      const __m512 n0 = _mm512_loadu_ps(p0[kb].mn), n1 = _mm512_loadu_ps(p1[kb].mn);
      #pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const __m512 bs = _mm512_set1_ps(xq.bsum[int64_t(t0 + t) * nb + kb]);
        f0[t] = _mm512_fmadd_ps(n0, bs, f0[t]);
        f1[t] = _mm512_fmadd_ps(n1, bs, f1[t]);
      }
    }
  }
  #pragma GCC unroll 16
  for (int t = 0; t < T; ++t) {
    _mm512_mask_storeu_ps(y + int64_t(t) * ldy, m0, f0[t]);
    _mm512_mask_storeu_ps(y + int64_t(t) * ldy + 16, m1, f1[t]);
  }
}

// ---- K-quant decode on packed 16-row groups (MatView::packed) ---------------------------------------------
//
// Rows in lanes (Q4KPack, Q6KPack; pack_groups): each group of 16 rows is rewritten super-block by super-block
// so that a 64-byte load holds 4 columns of all 16 rows (two such quads as the two nibbles), and one dpbusd takes
// them against one broadcast quad of activations. Sub-block scales (unpacked to bytes at load) multiply each
// row's int32 sum lane-wise; no horizontal sums until the end of the row. Measured on one Zen 4 core, 2048
// columns, in cache: q4_k 24 -> 60 GB/s of weights, q6_k 31 -> 47 against the row kernels above. The prefill
// GEMM reads the same layout (pack_group_packed).

// fn(o, mask) for each packed group [o, o + 16) of rows [r0, r1) (r0 % 16 == 0); mask: its rows below r1.
template <class F>
inline void for_packed_groups(int64_t r0, int64_t r1, F&& fn) {
  for (int64_t o = r0; o < r1; o += kPackRows) fn(o, __mmask16(r1 - o >= kPackRows ? 0xffff : (1u << (r1 - o)) - 1));
}

// A PackedBlock's scales, min terms and corrections from its rows' code sums (sum_hi: of k 16..31 for the types
// with two scales a block; zero otherwise), as pack_group makes them from the rows.
inline void set_block_scales(PackedBlock& b, __m512 d, __m512 d_hi, __m512 mn, __m512i sum, __m512i sum_hi) {
  const __m512i zero = _mm512_setzero_si512();
  _mm512_storeu_ps(b.d, d);
  _mm512_storeu_ps(b.d_hi, d_hi);
  _mm512_storeu_ps(b.mn, mn);
  _mm512_storeu_si512(b.corr, _mm512_slli_epi32(_mm512_sub_epi32(zero, sum), 7));
  _mm512_storeu_si512(b.corr_hi, _mm512_slli_epi32(_mm512_sub_epi32(zero, sum_hi), 7));
}

// The four quads of 16-block i of a Q6KPack as unsigned 6-bit codes (q[qq]: columns 16i + 4qq + e of each row).
inline void q6_codes(const Q6KPack* p, int i, __m512i q[4]) {
  const __m512i nib = _mm512_set1_epi8(15), b45 = _mm512_set1_epi8(0x30);
  const auto& b = p->c[i / 4].q[i % 4];
  __m512i l0 = _mm512_load_si512(b.ql[0]), l1 = _mm512_load_si512(b.ql[1]), h = _mm512_load_si512(b.qh);
  // Each vector loaded once: the compiler would fold every use into a memory operand, and on Zen 4 each such
  // operand is another 64-byte load (the load ports, not the ALUs, were the limit).
  __asm__("" : "+v"(l0), "+v"(l1), "+v"(h));
  q[0] = _mm512_or_si512(_mm512_and_si512(l0, nib), _mm512_and_si512(_mm512_slli_epi16(h, 4), b45));
  q[1] = _mm512_or_si512(_mm512_and_si512(l1, nib), _mm512_and_si512(_mm512_slli_epi16(h, 2), b45));
  q[2] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l0, 4), nib), _mm512_and_si512(h, b45));
  q[3] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l1, 4), nib),
                         _mm512_and_si512(_mm512_srli_epi16(h, 2), b45));
}

inline __m512i bcast4(const int8_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// y[0..15] (lanes of `mask`) = the 16 rows of one packed group against one token.
inline void gemv16_q4k(const Q4KPack* p, int64_t nsb, const KGroup* g, float* y, __mmask16 mask) {
  const __m512i nib = _mm512_set1_epi8(15);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t s = 0; s < nsb; ++s, ++p) {
    const KGroup& x = g[s];
    __m512i isum = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      const int8_t* xj = x.q + 32 * kQ4kPlace[j];
      __m512i sa = _mm512_setzero_si512(), sb = _mm512_setzero_si512();  // two chains
#pragma GCC unroll 4
      for (int pp = 0; pp < 4; ++pp) {
        const __m512i w = _mm512_load_si512(p->qs[j][pp]);
        sa = _mm512_dpbusd_epi32(sa, _mm512_and_si512(w, nib), bcast4(xj + 4 * pp));
        sb = _mm512_dpbusd_epi32(sb, _mm512_and_si512(_mm512_srli_epi16(w, 4), nib), bcast4(xj + 16 + 4 * pp));
      }
      const __m512i sc = _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(p->sc[j])));
      isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(_mm512_add_epi32(sa, sb), sc));
    }
    __m512i msum = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      int32_t pair;
      __builtin_memcpy(&pair, x.bsum32 + 2 * i, 4);
      const __m512i m = _mm512_cvtepu8_epi16(_mm256_load_si256(reinterpret_cast<const __m256i*>(p->m[i])));
      msum = _mm512_dpwssd_epi32(msum, m, _mm512_set1_epi32(pair));
    }
    const __m512 dx = _mm512_set1_ps(x.d);
    const __m512 d = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p->d))), dx);
    const __m512 dm = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p->dmin))), dx);
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), d, acc);
    acc = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum), dm, acc);
  }
  _mm512_mask_storeu_ps(y, mask, acc);
}

inline void gemv16_q6k(const Q6KPack* p, int64_t nsb, const KGroup* g, float* y, __mmask16 mask) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t s = 0; s < nsb; ++s, ++p) {
    const KGroup& x = g[s];
    __m512i isum = _mm512_setzero_si512();
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {
      const int8_t* xi = x.q + 16 * i;
      __m512i q[4];
      q6_codes(p, i, q);
      __m512i sa = _mm512_dpbusd_epi32(_mm512_set1_epi32(x.q6off[i]), q[0], bcast4(xi));
      __m512i sb = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[1], bcast4(xi + 4));
      sa = _mm512_dpbusd_epi32(sa, q[2], bcast4(xi + 8));
      sb = _mm512_dpbusd_epi32(sb, q[3], bcast4(xi + 12));
      const __m512i sc = _mm512_cvtepi8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(p->c[i / 4].sc[i % 4])));
      isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(_mm512_add_epi32(sa, sb), sc));
    }
    const __m512 d = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p->d))),
                                   _mm512_set1_ps(x.d));
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), d, acc);
  }
  _mm512_mask_storeu_ps(y, mask, acc);
}

// The PackedBlocks of pack_group<W> for the 16 rows of packed group g (bit-identical: the same codes, the
// same float products for the scales).
template <class W>
void pack_group_packed(const uint8_t* packed, int64_t nsb, int64_t g, PackedBlock* pk) {
  const __m512i nib = _mm512_set1_epi8(15), ones = _mm512_set1_epi8(1);
  for (int64_t s = 0; s < nsb; ++s) {
    if constexpr (W::kMins) {
      const auto* p = reinterpret_cast<const Q4KPack*>(packed) + g * nsb + s;
      const __m512 d = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p->d)));
      const __m512 dmin = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p->dmin)));
      for (int j = 0; j < 8; ++j) {
        PackedBlock& b = pk[8 * s + j];
        __m512i sum = _mm512_setzero_si512();
        for (int pp = 0; pp < 4; ++pp) {
          const __m512i w = _mm512_load_si512(p->qs[j][pp]);
          const __m512i lo = _mm512_and_si512(w, nib), hi = _mm512_and_si512(_mm512_srli_epi16(w, 4), nib);
          _mm512_storeu_si512(b.w[pp], lo);
          _mm512_storeu_si512(b.w[pp + 4], hi);
          sum = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(sum, lo, ones), hi, ones);
        }
        const __m512 ds = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_load_si128(
                                               reinterpret_cast<const __m128i*>(p->sc[j])))));
        alignas(16) uint8_t mb[16];  // row r's min of sub-block j: byte j % 2 of pair r
        for (int r = 0; r < 16; ++r) mb[r] = p->m[j / 2][r][j % 2];
        const __m128i mj = _mm_load_si128(reinterpret_cast<const __m128i*>(mb));
        const __m512 mn = _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(mj)));
        set_block_scales(b, ds, ds, _mm512_sub_ps(_mm512_setzero_ps(), mn), sum, _mm512_setzero_si512());
      }
    } else {
      const auto* p = reinterpret_cast<const Q6KPack*>(packed) + g * nsb + s;
      const __m512 d = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p->d)));
      const __m512i off = _mm512_set1_epi8(32);
      for (int j = 0; j < 8; ++j) {
        PackedBlock& b = pk[8 * s + j];
        __m512 ds[2];
        __m512i sum[2];
        for (int h = 0; h < 2; ++h) {  // 16-block 2j + h: k 16h..16h + 15 of the block
          const int i = 2 * j + h;
          __m512i q[4];
          q6_codes(p, i, q);
          sum[h] = _mm512_setzero_si512();
          for (int qq = 0; qq < 4; ++qq) {
            const __m512i w = _mm512_sub_epi8(q[qq], off);  // signed, as unpack_row<WQ6K>
            _mm512_storeu_si512(b.w[4 * h + qq], w);
            sum[h] = _mm512_dpbusd_epi32(sum[h], ones, w);
          }
          const __m128i sc = _mm_load_si128(reinterpret_cast<const __m128i*>(p->c[i / 4].sc[i % 4]));
          ds[h] = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(sc)));
        }
        set_block_scales(b, ds[0], ds[1], _mm512_setzero_ps(), sum[0], sum[1]);
      }
    }
  }
}

// ---- q8_0 / q4_0 decode on packed 16-row groups (Q8Pack, Q4Pack) -----------------------------------------
// Each block's sum is seeded with -offset · Σx.

template <class W>
inline void gemv16_b32(const typename W::Pack* p, int64_t nb, const ActQ8& xq, float* y, __mmask16 mask) {
  const __m512i nib = _mm512_set1_epi8(15);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t c = 0; c < nb / 2; ++c, ++p) {
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const int64_t kb = 2 * c + h;
      const int8_t* xb = xq.q + kb * 32;
      __m512i sa = _mm512_set1_epi32(xq.seed[kb]), sb = _mm512_setzero_si512();  // two chains
      if constexpr (W::kNibbles) {
#pragma GCC unroll 4
        for (int pp = 0; pp < 4; ++pp) {
          const __m512i w = _mm512_load_si512(p->q[h][pp]);
          sa = _mm512_dpbusd_epi32(sa, _mm512_and_si512(w, nib), bcast4(xb + 4 * pp));
          sb = _mm512_dpbusd_epi32(sb, _mm512_and_si512(_mm512_srli_epi16(w, 4), nib), bcast4(xb + 16 + 4 * pp));
        }
      } else {
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q) {
          sa = _mm512_dpbusd_epi32(sa, _mm512_load_si512(p->q[h][q]), bcast4(xb + 4 * q));
          sb = _mm512_dpbusd_epi32(sb, _mm512_load_si512(p->q[h][q + 4]), bcast4(xb + 16 + 4 * q));
        }
      }
      const __m512 d = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p->d[h]))),
                                     _mm512_set1_ps(xq.d[kb]));
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(sa, sb)), d, acc);
    }
  }
  _mm512_mask_storeu_ps(y, mask, acc);
}

// pack_group<W>'s PackedBlocks (bit-identical) for the 16 rows of packed group g of a q8_0 / q4_0 matrix.
template <class W>
void pack_group_b32(const uint8_t* packed, int64_t nb, int64_t g, PackedBlock* pk) {
  const __m512i nib = _mm512_set1_epi8(15), ones = _mm512_set1_epi8(1);
  const auto* p = reinterpret_cast<const typename W::Pack*>(packed) + g * (nb / 2);
  for (int64_t c = 0; c < nb / 2; ++c, ++p)
    for (int h = 0; h < 2; ++h) {
      PackedBlock& b = pk[2 * c + h];
      __m512i sum = _mm512_setzero_si512();
      for (int q = 0; q < 8; ++q) {
        __m512i w;
        if constexpr (W::kNibbles) {
          const __m512i v = _mm512_load_si512(p->q[h][q % 4]);
          w = _mm512_sub_epi8(_mm512_and_si512(q < 4 ? v : _mm512_srli_epi16(v, 4), nib), _mm512_set1_epi8(8));
        } else {
          w = _mm512_xor_si512(_mm512_load_si512(p->q[h][q]), _mm512_set1_epi8(char(0x80)));
        }
        _mm512_storeu_si512(b.w[q], w);
        sum = _mm512_dpbusd_epi32(sum, ones, w);
      }
      const __m512 d = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p->d[h])));
      set_block_scales(b, d, d, _mm512_setzero_ps(), sum, _mm512_setzero_si512());
    }
}

// packed (may be null): pack_groups' layout of the same weights, read instead of w when r0 % 16 == 0.
template <class W>
void gemm(const uint8_t* w, size_t rb, int64_t cols, const uint8_t* packed, const ActQ8& xq, int n_tok, float* y,
          int64_t ldy, int64_t r0, int64_t r1) {
  const int64_t nb = cols / 32;
  PackedBlock* pk = pack_scratch(size_t(2 * nb));
  constexpr int T = 4;
  if (r0 % kPackRows != 0) packed = nullptr;
  for (int64_t o = r0; o < r1; o += kGemmRows) {
    const int nr = int(r1 - o < kGemmRows ? r1 - o : kGemmRows);
    if (packed) {
      auto from_packed = [&](int64_t g, PackedBlock* out) {
        if constexpr (W::kMins || W::kHalves) pack_group_packed<W>(packed, nb / 8, g, out);
        else pack_group_b32<W>(packed, nb, g, out);
      };
      from_packed(o / kPackRows, pk);
      if (nr > 16) from_packed(o / kPackRows + 1, pk + nb);
      else pack_group<W>(w, rb, nb, o + 16, 0, pk + nb);
    } else {
      pack_group<W>(w, rb, nb, o, nr < 16 ? nr : 16, pk);
      pack_group<W>(w, rb, nb, o + 16, nr > 16 ? nr - 16 : 0, pk + nb);
    }
    const __mmask16 m0 = __mmask16(gemm_row_mask(nr)), m1 = __mmask16(gemm_row_mask(nr) >> 16);
    int t = 0;
    for (; t + T <= n_tok; t += T) gemm_micro<W, T>(pk, pk + nb, nb, xq, t, y + t * ldy + o, ldy, m0, m1);
    for_token_tail<T>(n_tok - t,
                      [&]<int N>() { gemm_micro<W, N>(pk, pk + nb, nb, xq, t, y + t * ldy + o, ldy, m0, m1); });
  }
}

// K-quants: the GEMM from kGemmMinTokens on; below, each row against every token's KGroups while it is in L1.
template <class W>
void run_k(const uint8_t* w, size_t rb, int64_t cols, const uint8_t* packed, const ActQ8& xq, int n_tok, float* y,
           int64_t ldy, int64_t r0, int64_t r1) {
  if (n_tok >= kGemmMinTokens) {
    gemm<W>(w, rb, cols, packed, xq, n_tok, y, ldy, r0, r1);
    return;
  }
  const int64_t nsb = cols / 256;
  const auto* g = static_cast<const KGroup*>(xq.k_groups);
  if (packed && r0 % kPackRows == 0) {  // each group against every token while it is in L1
    for_packed_groups(r0, r1, [&](int64_t o, __mmask16 mask) {
      const int64_t first = (o / kPackRows) * nsb;  // the group's first record
      for (int t = 0; t < n_tok; ++t) {
        if constexpr (W::kMins)
          gemv16_q4k(reinterpret_cast<const Q4KPack*>(packed) + first, nsb, g + t * nsb, y + t * ldy + o, mask);
        else
          gemv16_q6k(reinterpret_cast<const Q6KPack*>(packed) + first, nsb, g + t * nsb, y + t * ldy + o, mask);
      }
    });
    return;
  }
  const KPick pk;
  for (int64_t o = r0; o < r1; ++o)
    for (int t = 0; t < n_tok; ++t) y[t * ldy + o] = gemv_row_k<W>(w + o * rb, nsb, g + t * nsb, pk);
}

template <class W>
void run(const uint8_t* w, size_t rb, int64_t cols, const uint8_t* packed, const ActQ8& xq, int n_tok, float* y,
         int64_t ldy, int64_t r0, int64_t r1) {
  const int64_t nb = cols / 32;
  if (n_tok >= kGemmMinTokens) {
    gemm<W>(w, rb, cols, packed, xq, n_tok, y, ldy, r0, r1);
    return;
  }
  if (packed && r0 % kPackRows == 0) {  // each group against every token while it is in L1
    for_packed_groups(r0, r1, [&](int64_t o, __mmask16 mask) {
      const auto* p = reinterpret_cast<const typename W::Pack*>(packed) + (o / kPackRows) * (nb / 2);
      for (int t = 0; t < n_tok; ++t) {
        const ActQ8 xt = {xq.q + t * nb * 32, xq.d + t * nb, nullptr, nullptr, nullptr, nullptr, xq.seed + t * nb};
        gemv16_b32<W>(p, nb, xt, y + t * ldy + o, mask);
      }
    });
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

void matmul_rows_vnni(int dtype, const uint8_t* w, size_t rb, int64_t cols, const void* packed, const ActQ8& xq,
                      int n_tok, float* y, int64_t ldy, int64_t r0, int64_t r1) {
  const auto* pk = static_cast<const uint8_t*>(packed);
  switch (dtype) {
    case 3: run<WQ8>(w, rb, cols, pk, xq, n_tok, y, ldy, r0, r1); break;
    case 4: run<WQ4>(w, rb, cols, pk, xq, n_tok, y, ldy, r0, r1); break;
    case 5: run_k<WQ4K>(w, rb, cols, pk, xq, n_tok, y, ldy, r0, r1); break;
    case 6: run_k<WQ6K>(w, rb, cols, pk, xq, n_tok, y, ldy, r0, r1); break;
    default: __builtin_trap();
  }
}

}  // namespace glm::kernels::isa_impl
