// The int8 kernels' packed layouts (matmul_isa.h: Q8Pack, Q4Pack, Q4KPack, Q6KPack), written from the stored rows
// in plain C++: the AVX-512 VNNI and the AVX2 kernels read the same records, so every CPU packs the same way.
#include <cstring>

#include "kernels/cpu/dtype.h"
#include "kernels/cpu/matmul_isa.h"

namespace glm::kernels::isa_impl {
namespace {

const uint8_t* code_bytes(const BlockQ8_0& b) { return reinterpret_cast<const uint8_t*>(b.q); }
const uint8_t* code_bytes(const BlockQ4_0& b) { return b.qs; }

// Group g's records (rows 16g .. 16g + 15, `records` of them along the columns), each zeroed and then filled row
// by row: fill(record, row's blocks, record index, r) for the rows that exist (a last group may be short).
template <class Block, class Pack, class Fill>
void pack_group(const uint8_t* w, size_t rb, int64_t rows, int64_t records, int64_t g, Pack* out, Fill&& fill) {
  for (int64_t s = 0; s < records; ++s) {
    Pack& p = out[g * records + s];
    std::memset(&p, 0, sizeof(Pack));
    for (int r = 0; r < kPackRows && g * kPackRows + r < rows; ++r)
      fill(p, reinterpret_cast<const Block*>(w + (g * kPackRows + r) * rb), s, r);
  }
}

// q8_0 / q4_0: two 32-blocks per record; q8_0 codes + 128.
template <class Block, class Pack>
void pack_b32_group(const uint8_t* w, size_t rb, int64_t rows, int64_t nb, int64_t g, Pack* out) {
  constexpr bool kQ4 = sizeof(Block) == sizeof(BlockQ4_0);
  constexpr int kQuads = kQ4 ? 4 : 8;
  pack_group<Block>(w, rb, rows, nb / 2, g, out, [](Pack& p, const Block* row, int64_t c, int r) {
    for (int h = 0; h < 2; ++h) {
      const Block& b = row[2 * c + h];
      p.d[h][r] = b.d;
      const uint8_t* qs = code_bytes(b);
      for (int k = 0; k < kQuads; ++k)
        for (int e = 0; e < 4; ++e) p.q[h][k][4 * r + e] = uint8_t(qs[4 * k + e] ^ (kQ4 ? 0 : 0x80));
    }
  });
}

void pack_q4k_group(const uint8_t* w, size_t rb, int64_t rows, int64_t nsb, int64_t g, Q4KPack* out) {
  pack_group<BlockQ4_K>(w, rb, rows, nsb, g, out, [](Q4KPack& p, const BlockQ4_K* row, int64_t s, int r) {
    const BlockQ4_K& b = row[s];
    for (int j = 0; j < 8; ++j) {
      q4k_scale_min(b.scales, j, &p.sc[j][r], &p.m[j / 2][r][j % 2]);
      for (int pp = 0; pp < 4; ++pp)
        for (int e = 0; e < 4; ++e)
          p.qs[j][pp][4 * r + e] =
              uint8_t(q4k_code(b, 32 * j + 4 * pp + e) | q4k_code(b, 32 * j + 16 + 4 * pp + e) << 4);
    }
    p.d[r] = b.d;
    p.dmin[r] = b.dmin;
  });
}

void pack_q6k_group(const uint8_t* w, size_t rb, int64_t rows, int64_t nsb, int64_t g, Q6KPack* out) {
  pack_group<BlockQ6_K>(w, rb, rows, nsb, g, out, [](Q6KPack& p, const BlockQ6_K* row, int64_t s, int r) {
    const BlockQ6_K& b = row[s];
    for (int i = 0; i < 16; ++i) {
      auto& q = p.c[i / 4].q[i % 4];
      p.c[i / 4].sc[i % 4][r] = b.scales[i];
      for (int pp = 0; pp < 2; ++pp)
        for (int e = 0; e < 4; ++e)
          q.ql[pp][4 * r + e] =
              uint8_t((q6k_code(b, 16 * i + 4 * pp + e) & 15) | (q6k_code(b, 16 * i + 8 + 4 * pp + e) & 15) << 4);
      for (int e = 0; e < 4; ++e) {
        uint8_t h = 0;
        for (int qq = 0; qq < 4; ++qq) h = uint8_t(h | (q6k_code(b, 16 * i + 4 * qq + e) >> 4) << (2 * qq));
        q.qh[4 * r + e] = h;
      }
    }
    p.d[r] = b.d;
  });
}

}  // namespace

void pack_groups(int dtype, const uint8_t* w, size_t rb, int64_t rows, int64_t cols, int64_t g_begin, int64_t g_end,
                 void* out) {
  for (int64_t g = g_begin; g < g_end; ++g) {
    switch (DType(dtype)) {
      case DType::q8_0: pack_b32_group<BlockQ8_0>(w, rb, rows, cols / 32, g, static_cast<Q8Pack*>(out)); break;
      case DType::q4_0: pack_b32_group<BlockQ4_0>(w, rb, rows, cols / 32, g, static_cast<Q4Pack*>(out)); break;
      case DType::q4_k: pack_q4k_group(w, rb, rows, cols / 256, g, static_cast<Q4KPack*>(out)); break;
      default: pack_q6k_group(w, rb, rows, cols / 256, g, static_cast<Q6KPack*>(out)); break;
    }
  }
}

}  // namespace glm::kernels::isa_impl
