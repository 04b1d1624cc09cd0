// kernels/cpu/isa_common.h — small helpers every ISA file of matmul uses (internal to kernels/cpu).
//
// Included by each matmul_*.cpp after its `#pragma GCC target` and <immintrin.h>: the functions have internal
// linkage, so every file compiles its own copy for its own ISA and the linker can never hand an AVX-512 copy to
// AVX2 code (which one shared inline definition would allow).
#pragma once

#include <cstdint>

namespace glm::kernels::isa_impl {
namespace {

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  __builtin_memcpy(&v, p, 2);
  return v;
}

inline float bf16f(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// A q4_k super-block's eight 6-bit sub-block scales (bytes of *sc) and mins (*m) from its 12 scale bytes s:
// j < 4 in the low 6 bits of s[j] and s[j + 4]; j >= 4 in s[j + 4]'s nibbles with the top 2 bits of s[j - 4], s[j].
inline void q4k_scales(const uint8_t* s, uint64_t* sc, uint64_t* m) {
  uint32_t w0, w1, w2;
  __builtin_memcpy(&w0, s, 4);
  __builtin_memcpy(&w1, s + 4, 4);
  __builtin_memcpy(&w2, s + 8, 4);
  const uint32_t sc_hi = (w2 & 0x0f0f0f0fu) | ((w0 >> 6) & 0x03030303u) << 4;
  const uint32_t m_hi = ((w2 >> 4) & 0x0f0f0f0fu) | ((w1 >> 6) & 0x03030303u) << 4;
  *sc = uint64_t(w0 & 0x3f3f3f3fu) | uint64_t(sc_hi) << 32;
  *m = uint64_t(w1 & 0x3f3f3f3fu) | uint64_t(m_hi) << 32;
}

}  // namespace
}  // namespace glm::kernels::isa_impl
