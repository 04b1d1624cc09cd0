#include "kernels/cpu/dtype.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

namespace glm::kernels {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
    case DType::q8_0: return "q8_0";
    case DType::q4_0: return "q4_0";
  }
  return "?";
}

bool dtype_from_name(std::string_view name, DType* out) {
  std::string s(name);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  for (DType t : {DType::f32, DType::f16, DType::bf16, DType::q8_0, DType::q4_0}) {
    if (s == dtype_name(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t u;
  if (exp == 0) {
    if (mant == 0) {
      u = sign;
    } else {  // subnormal: normalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400));
      mant &= 0x3ff;
      u = sign | uint32_t(127 - 15 - e) << 23 | mant << 13;
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | mant << 13;
  } else {
    u = sign | (exp + 112) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint16_t sign = uint16_t((u >> 16) & 0x8000);
  uint32_t au = u & 0x7fffffffu;
  if (au > 0x7f800000u) return sign | 0x7e00;   // NaN
  if (au >= 0x477ff000u) return sign | 0x7c00;  // overflow (>= 65520 rounds to inf)
  if (au < 0x38800000u) {                        // subnormal or zero in f16
    float a;
    std::memcpy(&a, &au, 4);
    // a * 2^24 rounded to nearest even gives the subnormal mantissa.
    float m = std::nearbyint(a * 16777216.0f);
    return sign | uint16_t(m);
  }
  uint32_t mant = au & 0x7fffff;
  uint32_t exp = (au >> 23) - 112;
  uint32_t h = exp << 10 | mant >> 13;
  uint32_t rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;
  return sign | uint16_t(h);
}

void dequantize_row(DType t, const void* src, float* dst, int64_t n) {
  switch (t) {
    case DType::f32:
      std::memcpy(dst, src, size_t(n) * 4);
      return;
    case DType::f16: {
      auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      return;
    }
    case DType::bf16: {
      auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    case DType::q8_0: {
      auto* b = static_cast<const BlockQ8_0*>(src);
      for (int64_t i = 0; i < n / kQBlock; ++i) {
        float d = f16_to_f32(b[i].d);
        for (int j = 0; j < kQBlock; ++j) dst[i * kQBlock + j] = d * b[i].q[j];
      }
      return;
    }
    case DType::q4_0: {
      auto* b = static_cast<const BlockQ4_0*>(src);
      for (int64_t i = 0; i < n / kQBlock; ++i) {
        float d = f16_to_f32(b[i].d);
        for (int j = 0; j < kQBlock / 2; ++j) {
          dst[i * kQBlock + j] = d * (int(b[i].qs[j] & 15) - 8);
          dst[i * kQBlock + j + 16] = d * (int(b[i].qs[j] >> 4) - 8);
        }
      }
      return;
    }
  }
}

void quantize_row(DType t, const float* src, void* dst, int64_t n) {
  switch (t) {
    case DType::f32:
      std::memcpy(dst, src, size_t(n) * 4);
      return;
    case DType::f16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
      return;
    }
    case DType::bf16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
      return;
    }
    case DType::q8_0: {  // as ggml quantize_row_q8_0_ref: d = amax / 127, q = round(x / d)
      auto* b = static_cast<BlockQ8_0*>(dst);
      for (int64_t i = 0; i < n / kQBlock; ++i) {
        const float* x = src + i * kQBlock;
        float amax = 0;
        for (int j = 0; j < kQBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
        float d = amax / 127.0f;
        float id = d ? 1.0f / d : 0.0f;
        b[i].d = f32_to_f16(d);
        for (int j = 0; j < kQBlock; ++j) b[i].q[j] = int8_t(std::lround(x[j] * id));
      }
      return;
    }
    case DType::q4_0: {  // as ggml quantize_row_q4_0_ref: d = max / -8 (signed max by magnitude)
      auto* b = static_cast<BlockQ4_0*>(dst);
      for (int64_t i = 0; i < n / kQBlock; ++i) {
        const float* x = src + i * kQBlock;
        float amax = 0, max = 0;
        for (int j = 0; j < kQBlock; ++j) {
          if (std::fabs(x[j]) > amax) {
            amax = std::fabs(x[j]);
            max = x[j];
          }
        }
        float d = max / -8.0f;
        float id = d ? 1.0f / d : 0.0f;
        b[i].d = f32_to_f16(d);
        for (int j = 0; j < kQBlock / 2; ++j) {
          int q0 = std::min(15, int(x[j] * id + 8.5f));
          int q1 = std::min(15, int(x[j + 16] * id + 8.5f));
          b[i].qs[j] = uint8_t(q0 | q1 << 4);
        }
      }
      return;
    }
  }
}

}  // namespace glm::kernels
