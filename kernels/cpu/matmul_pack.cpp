// The int8 kernels' packed layouts (matmul_isa.h: Q8Pack, Q4Pack, Q4KPack, Q6KPack), written from the stored rows
// in plain C++: the AVX-512 VNNI and the AVX2 kernels read the same records, so every CPU packs the same way.
#include <cstring>

#include "kernels/cpu/dtype.h"
#include "kernels/cpu/matmul_isa.h"

namespace glm::kernels::isa_impl {
namespace {

uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// q8_0 / q4_0: two 32-blocks per record; q8_0 codes + 128.
void pack_b32_group(bool q4, const uint8_t* w, size_t rb, int64_t rows, int64_t nb, int64_t g, uint8_t* out) {
  const int block_bytes = q4 ? 18 : 34, quads = q4 ? 4 : 8;
  const size_t record = q4 ? sizeof(Q4Pack) : sizeof(Q8Pack);
  for (int64_t c = 0; c < nb / 2; ++c) {
    uint8_t* p = out + size_t(g * (nb / 2) + c) * record;
    std::memset(p, 0, record);
    auto* d = reinterpret_cast<uint16_t*>(p);  // d[2][16], then the codes
    uint8_t* q = p + 64;
    for (int r = 0; r < kPackRows && g * kPackRows + r < rows; ++r)
      for (int h = 0; h < 2; ++h) {
        const uint8_t* b = w + (g * kPackRows + r) * rb + (2 * c + h) * block_bytes;
        d[16 * h + r] = load_u16(b);
        for (int k = 0; k < quads; ++k)
          for (int e = 0; e < 4; ++e)
            q[(h * quads + k) * 64 + 4 * r + e] = uint8_t(b[2 + 4 * k + e] ^ (q4 ? 0 : 0x80));
      }
  }
}

// Row r's 256 codes (q4_k: 0..15, q6_k: 0..63) of one super-block, in column order (the layouts of dtype.h).
void q4k_codes(const uint8_t* b, uint8_t* q) {
  for (int j = 0; j < 8; ++j)
    for (int e = 0; e < 32; ++e) {
      const uint8_t v = b[16 + 32 * (j / 2) + e];
      q[32 * j + e] = uint8_t(j & 1 ? v >> 4 : v & 15);
    }
}
void q6k_codes(const uint8_t* b, uint8_t* q) {
  for (int h = 0; h < 2; ++h)
    for (int p = 0; p < 4; ++p)
      for (int l = 0; l < 32; ++l) {
        const uint8_t lo = b[64 * h + 32 * (p & 1) + l];
        const uint8_t hi = uint8_t((b[128 + 32 * h + l] >> (2 * p)) & 3);
        q[128 * h + 32 * p + l] = uint8_t((p >= 2 ? lo >> 4 : lo & 15) | hi << 4);
      }
}

void pack_k_group(bool q4k, const uint8_t* w, size_t rb, int64_t rows, int64_t nsb, int64_t g, uint8_t* out) {
  const size_t record = q4k ? sizeof(Q4KPack) : sizeof(Q6KPack);
  for (int64_t s = 0; s < nsb; ++s) {
    uint8_t* rec = out + size_t(g * nsb + s) * record;
    std::memset(rec, 0, record);
    for (int r = 0; r < kPackRows && g * kPackRows + r < rows; ++r) {
      const uint8_t* row = w + (g * kPackRows + r) * rb;
      uint8_t q[256];
      if (q4k) {
        auto* p = reinterpret_cast<Q4KPack*>(rec);
        const uint8_t* b = row + s * sizeof(BlockQ4_K);
        q4k_codes(b, q);
        for (int j = 0; j < 8; ++j) {
          q4k_scale_min(b + 4, j, &p->sc[j][r], &p->m[j / 2][r][j % 2]);
          for (int pp = 0; pp < 4; ++pp)
            for (int e = 0; e < 4; ++e)
              p->qs[j][pp][4 * r + e] = uint8_t(q[32 * j + 4 * pp + e] | q[32 * j + 16 + 4 * pp + e] << 4);
        }
        p->d[r] = load_u16(b);
        p->dmin[r] = load_u16(b + 2);
      } else {
        auto* p = reinterpret_cast<Q6KPack*>(rec);
        const uint8_t* b = row + s * sizeof(BlockQ6_K);
        q6k_codes(b, q);
        for (int i = 0; i < 16; ++i) {
          p->c[i / 4].sc[i % 4][r] = int8_t(b[192 + i]);
          for (int pp = 0; pp < 2; ++pp)
            for (int e = 0; e < 4; ++e)
              p->c[i / 4].q[i % 4].ql[pp][4 * r + e] =
                  uint8_t((q[16 * i + 4 * pp + e] & 15) | (q[16 * i + 8 + 4 * pp + e] & 15) << 4);
          for (int e = 0; e < 4; ++e) {
            uint8_t h = 0;
            for (int qq = 0; qq < 4; ++qq) h = uint8_t(h | (q[16 * i + 4 * qq + e] >> 4) << (2 * qq));
            p->c[i / 4].q[i % 4].qh[4 * r + e] = h;
          }
        }
        p->d[r] = load_u16(b + 208);
      }
    }
  }
}

}  // namespace

void pack_groups(int dtype, const uint8_t* w, size_t rb, int64_t rows, int64_t cols, int64_t g_begin, int64_t g_end,
                 void* out) {
  auto* o = static_cast<uint8_t*>(out);
  const auto t = DType(dtype);
  for (int64_t g = g_begin; g < g_end; ++g) {
    if (t == DType::q8_0 || t == DType::q4_0) pack_b32_group(t == DType::q4_0, w, rb, rows, cols / 32, g, o);
    else pack_k_group(t == DType::q4_k, w, rb, rows, cols / 256, g, o);
  }
}

}  // namespace glm::kernels::isa_impl
