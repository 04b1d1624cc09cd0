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

struct WQ8 {
  static constexpr int kBlockBytes = 34;
  static __m256i load(const uint8_t* b) {
    return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2)), _mm256_set1_epi8(char(0x80)));
  }
};
struct WQ4 {
  static constexpr int kBlockBytes = 18;
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
    for (int r = 0; r < R; ++r) {
      const uint8_t* b = w + r * rb + kb * W::kBlockBytes;
      const __m256i wv = W::load(b);
      const float dw = _cvtsh_ss(load_u16(b));
      for (int t = 0; t < T; ++t) {
        __m256i s = _mm256_dpbusd_epi32(xc[t], wv, xv[t]);
        acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(dw * xd[t]), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) {
      __m256 v = acc[r][t];
      __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
      s = _mm_add_ps(s, _mm_movehl_ps(s, s));
      s = _mm_add_ss(s, _mm_movehdup_ps(s));
      y[int64_t(t) * ldy + r] = _mm_cvtss_f32(s);
    }
}

template <class W, int R>
inline void tile_tokens(const uint8_t* w, size_t rb, int64_t nb, const ActQ8& xq, int t0, int nt, float* y,
                        int64_t ldy) {
  int t = 0;
  for (; t + 4 <= nt; t += 4) tile<W, R, 4>(w, rb, nb, xq, t0 + t, y + t * ldy, ldy);
  switch (nt - t) {
    case 3: tile<W, R, 3>(w, rb, nb, xq, t0 + t, y + t * ldy, ldy); break;
    case 2: tile<W, R, 2>(w, rb, nb, xq, t0 + t, y + t * ldy, ldy); break;
    case 1: tile<W, R, 1>(w, rb, nb, xq, t0 + t, y + t * ldy, ldy); break;
    default: break;
  }
}

template <class W>
void run(const uint8_t* w, size_t rb, int64_t cols, const ActQ8& xq, int n_tok, float* y, int64_t ldy, int64_t r0,
         int64_t r1) {
  const int64_t nb = cols / 32;
  if (n_tok == 1) {
    int64_t o = r0;
    for (; o + 8 <= r1; o += 8) tile<W, 8, 1>(w + o * rb, rb, nb, xq, 0, y + o, ldy);
    for (; o < r1; ++o) tile<W, 1, 1>(w + o * rb, rb, nb, xq, 0, y + o, ldy);
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

void matmul_rows_vnni(int dtype, const uint8_t* w, size_t rb, int64_t cols, const ActQ8& xq, int n_tok, float* y,
                      int64_t ldy, int64_t r0, int64_t r1) {
  switch (dtype) {
    case 3: run<WQ8>(w, rb, cols, xq, n_tok, y, ldy, r0, r1); break;
    case 4: run<WQ4>(w, rb, cols, xq, n_tok, y, ldy, r0, r1); break;
    default: __builtin_trap();
  }
}

}  // namespace glm::kernels::isa_impl
