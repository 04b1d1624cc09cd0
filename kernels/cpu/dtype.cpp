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
    case DType::q4_k: return "q4_k";
    case DType::q6_k: return "q6_k";
  }
  return "?";
}

bool dtype_from_name(std::string_view name, DType* out) {
  std::string s(name);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  for (DType t : {DType::f32, DType::f16, DType::bf16, DType::q8_0, DType::q4_0, DType::q4_k, DType::q6_k}) {
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
    case DType::q4_k: {
      auto* b = static_cast<const BlockQ4_K*>(src);
      for (int64_t i = 0; i < n / kQKBlock; ++i, dst += kQKBlock) {
        const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
        for (int j = 0; j < 8; ++j) {
          uint8_t sc, m;
          q4k_scale_min(b[i].scales, j, &sc, &m);
          const float ds = d * sc, dm = dmin * m;
          for (int l = 0; l < 32; ++l) dst[32 * j + l] = ds * float(q4k_code(b[i], 32 * j + l)) - dm;
        }
      }
      return;
    }
    case DType::q6_k: {
      auto* b = static_cast<const BlockQ6_K*>(src);
      for (int64_t i = 0; i < n / kQKBlock; ++i, dst += kQKBlock) {
        const float d = f16_to_f32(b[i].d);
        for (int e = 0; e < kQKBlock; ++e) dst[e] = (d * float(b[i].scales[e / 16])) * float(q6k_code(b[i], e) - 32);
      }
      return;
    }
  }
}

namespace {
// One Q4_K super-block: per sub-block the range [min(0, lo), hi] over 15 steps; the scales and mins then in 6
// bits of d and dmin, rounded up; the quants against the scales actually stored.
void quantize_q4_k(const float* x, BlockQ4_K* b) {
  float scale[8], mins[8], max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    float lo = 0, hi = -INFINITY;
    for (int l = 0; l < 32; ++l) {
      lo = std::min(lo, x[32 * j + l]);
      hi = std::max(hi, x[32 * j + l]);
    }
    scale[j] = std::max(0.0f, (hi - lo) / 15);
    mins[j] = -lo;
    max_scale = std::max(max_scale, scale[j]);
    max_min = std::max(max_min, mins[j]);
  }
  b->d = f32_to_f16(max_scale / 63);
  b->dmin = f32_to_f16(max_min / 63);
  const float d = f16_to_f32(b->d), dmin = f16_to_f32(b->dmin);
  uint8_t sc[8], m[8];
  for (int j = 0; j < 8; ++j) {
    // Rounded up, so no value of the range falls off the top (small scales lose most to a 6-bit round).
    sc[j] = uint8_t(d > 0 ? std::min(63.0f, std::ceil(scale[j] / d)) : 0);
    m[j] = uint8_t(dmin > 0 ? std::min(63.0f, std::ceil(mins[j] / dmin)) : 0);
  }
  for (int j = 0; j < 4; ++j) {
    b->scales[j] = uint8_t(sc[j] | (sc[j + 4] >> 4) << 6);
    b->scales[j + 4] = uint8_t(m[j] | (m[j + 4] >> 4) << 6);
    b->scales[j + 8] = uint8_t((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
  }
  std::memset(b->qs, 0, sizeof b->qs);
  for (int j = 0; j < 8; ++j) {
    const float ds = d * sc[j], dm = dmin * m[j];
    for (int l = 0; l < 32; ++l) {
      const long q = ds > 0 ? std::clamp(std::lround((x[32 * j + l] + dm) / ds), 0L, 15L) : 0;
      b->qs[32 * (j / 2) + l] |= uint8_t(q << (4 * (j & 1)));
    }
  }
}

// One Q6_K super-block: per 16 elements the signed extreme maps to -32 (as q4_0 maps it to -8); the 16 scales
// in int8 steps of d = max |scale| / 127.
void quantize_q6_k(const float* x, BlockQ6_K* b) {
  float scale[16], max_abs = 0;
  for (int s = 0; s < 16; ++s) {
    float amax = 0, ext = 0;
    for (int l = 0; l < 16; ++l)
      if (std::fabs(x[16 * s + l]) > amax) {
        amax = std::fabs(x[16 * s + l]);
        ext = x[16 * s + l];
      }
    scale[s] = ext / -32;
    max_abs = std::max(max_abs, amax / 32);
  }
  b->d = f32_to_f16(max_abs / 127);
  const float d = f16_to_f32(b->d);
  uint8_t q[kQKBlock];
  for (int s = 0; s < 16; ++s) {
    // Magnitude rounded up, so the extreme stays within -32 steps.
    const float r = std::min(127.0f, d > 0 ? std::ceil(std::fabs(scale[s]) / d) : 0.0f);
    b->scales[s] = int8_t(scale[s] < 0 ? -r : r);
    const float ds = d * float(b->scales[s]);
    for (int l = 0; l < 16; ++l)
      q[16 * s + l] = uint8_t(ds != 0 ? std::clamp(std::lround(x[16 * s + l] / ds) + 32, 0L, 63L) : 32);
  }
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      const uint8_t* e = q + 128 * h + l;  // e[32p] for p < 4
      b->ql[64 * h + l] = uint8_t((e[0] & 15) | (e[64] & 15) << 4);
      b->ql[64 * h + 32 + l] = uint8_t((e[32] & 15) | (e[96] & 15) << 4);
      b->qh[32 * h + l] = uint8_t(e[0] >> 4 | (e[32] >> 4) << 2 | (e[64] >> 4) << 4 | (e[96] >> 4) << 6);
    }
}
}  // namespace

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
    case DType::q4_k:
      for (int64_t i = 0; i < n / kQKBlock; ++i) quantize_q4_k(src + i * kQKBlock, static_cast<BlockQ4_K*>(dst) + i);
      return;
    case DType::q6_k:
      for (int64_t i = 0; i < n / kQKBlock; ++i) quantize_q6_k(src + i * kQKBlock, static_cast<BlockQ6_K*>(dst) + i);
      return;
  }
}

}  // namespace glm::kernels
