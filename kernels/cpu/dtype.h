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
};

std::string_view dtype_name(DType t);
// "f32", "f16", "bf16", "q8_0", "q4_0" (case-insensitive); false when unknown.
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

inline bool dtype_is_blocked(DType t) { return t == DType::q8_0 || t == DType::q4_0; }

// Bytes of one row of n elements; n must be a multiple of kQBlock for block types.
inline size_t dtype_row_bytes(DType t, int64_t n) {
  switch (t) {
    case DType::f32: return size_t(n) * 4;
    case DType::f16:
    case DType::bf16: return size_t(n) * 2;
    case DType::q8_0: return size_t(n / kQBlock) * sizeof(BlockQ8_0);
    case DType::q4_0: return size_t(n / kQBlock) * sizeof(BlockQ4_0);
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
// Converts one row of n f32 elements to type t (n % kQBlock == 0 for block types).
void quantize_row(DType t, const float* src, void* dst, int64_t n);

}  // namespace glm::kernels
