// kernels/cpu/dtype.h — element types of weight tensors and their scalar conversions.
//
// Owns nothing: plain enums, block layouts (identical to ggml's, so GGUF bytes are used as they are)
// and inline converters. Threads: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace glm::kernels {

enum class DType : uint8_t {
  f32,
  f16,
  bf16,
  q8_0,  // blocks of 32: f16 scale d, int8 q[32]; x = d * q
  q4_0,  // blocks of 32: f16 scale d, uint8 qs[16]; x[j] = d * ((qs[j] & 15) - 8), x[j+16] = d * ((qs[j] >> 4) - 8)
  q4_k,  // super-blocks of 256 (BlockQ4_K): 8 sub-blocks of 32 with 6-bit scale and min; x = d·sc·q - dmin·m
  q6_k,  // super-blocks of 256 (BlockQ6_K): 16 sub-blocks of 16 with int8 scale; x = d·sc·(q - 32), q 6 bits
};

std::string_view dtype_name(DType t);
// "f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q6_k" (case-insensitive); false when unknown.
bool dtype_from_name(std::string_view name, DType* out);

inline constexpr int kQBlock = 32;

struct BlockQ8_0 {
  uint16_t d;  // f16
  int8_t q[kQBlock];
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ4_0 {
  uint16_t d;  // f16
  uint8_t qs[kQBlock / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

// The K-quants of llama.cpp (the bulk of its Q4_K_M / Q6_K files), byte for byte.
inline constexpr int kQKBlock = 256;

// Element i of sub-block j (32 wide) is nibble (j & 1) of qs[32 * (j / 2) + i]. The 12 scale bytes hold eight
// 6-bit scales and eight 6-bit mins (q4k_scale_min).
struct BlockQ4_K {
  uint16_t d;     // f16, multiplies the scales
  uint16_t dmin;  // f16, multiplies the mins
  uint8_t scales[12];
  uint8_t qs[kQKBlock / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

// Element e = 128h + 32p + i (h < 2, p < 4, i < 32) takes 4 low bits from ql[64h + 32(p & 1) + i] (low nibble
// for p < 2, high for p >= 2) and 2 high bits from qh[32h + i] at bit 2p; scale scales[e / 16].
struct BlockQ6_K {
  uint8_t ql[kQKBlock / 2];
  uint8_t qh[kQKBlock / 4];
  int8_t scales[kQKBlock / 16];
  uint16_t d;  // f16
};
static_assert(sizeof(BlockQ6_K) == 210);

// Element e's unsigned code: q4_k 0..15 (value d·scale·code - dmin·min), q6_k 0..63 (value d·scale·(code - 32)).
inline int q4k_code(const BlockQ4_K& b, int e) { return (b.qs[32 * (e / 64) + e % 32] >> (4 * ((e / 32) & 1))) & 15; }
inline int q6k_code(const BlockQ6_K& b, int e) {
  const int h = e / 128, p = (e / 32) % 4, l = e % 32;
  const int lo = (b.ql[64 * h + 32 * (p & 1) + l] >> (p >= 2 ? 4 : 0)) & 15;
  return lo | ((b.qh[32 * h + l] >> (2 * p)) & 3) << 4;
}

// Scale and min of sub-block j < 8 of a Q4_K (and Q5_K) super-block's 12 scale bytes: j < 4 in the low 6 bits of
// bytes j and j + 4; j >= 4 in byte j + 4's nibbles with the top 2 bits of bytes j - 4 and j.
inline void q4k_scale_min(const uint8_t* s, int j, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = uint8_t((s[j + 4] & 15) | ((s[j - 4] >> 6) << 4));
    *m = uint8_t((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

// Elements per block: 1 for f32/f16/bf16, 32 for q8_0/q4_0, 256 for the K-quants. Row lengths of a type are
// multiples of it.
inline int dtype_block(DType t) {
  switch (t) {
    case DType::f32:
    case DType::f16:
    case DType::bf16: return 1;
    case DType::q8_0:
    case DType::q4_0: return kQBlock;
    case DType::q4_k:
    case DType::q6_k: return kQKBlock;
  }
  return 1;
}
inline bool dtype_is_blocked(DType t) { return dtype_block(t) > 1; }

// Bytes of one row of n elements; n must be a multiple of dtype_block(t).
inline size_t dtype_row_bytes(DType t, int64_t n) {
  switch (t) {
    case DType::f32: return size_t(n) * 4;
    case DType::f16:
    case DType::bf16: return size_t(n) * 2;
    case DType::q8_0: return size_t(n / kQBlock) * sizeof(BlockQ8_0);
    case DType::q4_0: return size_t(n / kQBlock) * sizeof(BlockQ4_0);
    case DType::q4_k: return size_t(n / kQKBlock) * sizeof(BlockQ4_K);
    case DType::q6_k: return size_t(n / kQKBlock) * sizeof(BlockQ6_K);
  }
  return 0;
}

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even; NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

// Converts one row of n elements of type t to f32.
void dequantize_row(DType t, const void* src, float* dst, int64_t n);
// Converts one row of n f32 elements to type t (n a multiple of dtype_block(t)). The K-quants take one pass of
// min/max scales (no search for the best scale, as llama.cpp's quantizer does): fine for tests and quick
// conversions; llama-quantize's files are the better Q4_K/Q6_K.
void quantize_row(DType t, const float* src, void* dst, int64_t n);

}  // namespace glm::kernels
