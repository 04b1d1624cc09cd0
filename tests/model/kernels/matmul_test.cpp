// matmul at every SIMD level and weight type against a double-precision dot of the dequantized weights.
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/matmul_isa.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

namespace glm::kernels {
namespace {

struct Mat {
  MatView view;
  std::vector<uint8_t> bytes;
};

Mat random_mat(DType t, int64_t rows, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> nd(0, 1);
  Mat m;
  m.view = {t, rows, cols, nullptr, dtype_row_bytes(t, cols)};
  m.bytes.resize(m.view.n_bytes());
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = nd(rng);
    quantize_row(t, row.data(), m.bytes.data() + r * m.view.row_bytes, cols);
  }
  m.view.data = m.bytes.data();
  return m;
}

TEST(MatmulTest, EveryIsaAndTypeMatchesDoubleReference) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0, 1);
  using Acts = MatmulActs;
  std::vector<std::pair<Isa, Acts>> paths = {{Isa::scalar, Acts::f32}};
  if (int(isa()) >= int(Isa::avx2)) paths.push_back({Isa::avx2, Acts::f32});
  if (int(isa()) >= int(Isa::avx2)) paths.push_back({Isa::avx2, Acts::compact});  // int8 decode: maddubs
  if (isa() == Isa::avx512) paths.push_back({Isa::avx512, Acts::f32});
  if (has_vnni() || has_avx512_bf16()) paths.push_back({Isa::avx512, Acts::compact});
  for (DType t : {DType::f32, DType::f16, DType::bf16, DType::q8_0, DType::q4_0, DType::q4_k, DType::q6_k}) {
    for (int64_t cols : {32, 64, 100, 288, 512, 1024}) {  // 288: a partial block of the AVX2 panel
      if (cols % dtype_block(t)) continue;
      if (t != DType::q4_k && t != DType::q6_k && cols == 512) continue;  // the K-quants' short row
      for (int64_t rows : {1, 7, 19, 40}) {
        Mat m = random_mat(t, rows, cols, rng);
        for (int n_tok : {1, 2, 3, 4, 5, 8, 9, 13}) {  // 8 on: the packed GEMM
          const int64_t ldx = cols + 3, ldy = rows + 2;
          std::vector<float> x(static_cast<size_t>(n_tok * ldx));
          for (auto& v : x) v = nd(rng);
          // Reference in double over the dequantized weights.
          std::vector<float> wrow(static_cast<size_t>(cols));
          std::vector<double> ref(static_cast<size_t>(n_tok * ldy)), mag(ref.size());
          for (int64_t o = 0; o < rows; ++o) {
            dequantize_row(t, m.view.row(o), wrow.data(), cols);
            for (int tt = 0; tt < n_tok; ++tt) {
              double s = 0, a = 0;
              for (int64_t k = 0; k < cols; ++k) {
                s += double(wrow[size_t(k)]) * x[size_t(tt * ldx + k)];
                a += std::fabs(double(wrow[size_t(k)]) * x[size_t(tt * ldx + k)]);
              }
              ref[size_t(tt * ldy + o)] = s;
              mag[size_t(tt * ldy + o)] = a;
            }
          }
          for (auto [level, acts] : paths) {
            std::vector<float> y(ref.size(), -777.0f);
            matmul_rows_at(level, acts, m.view, x.data(), ldx, n_tok, y.data(), ldy, 0, rows);
            const bool compact = acts == Acts::compact;
            // Compact activations add their rounding error: int8 blocks half a step of amax/127 each, bf16 half
            // an ulp of 8 significant bits, 2^-9 of each product.
            double rel = 1e-5;
            const bool int8 = level == Isa::avx512 ? has_vnni() : true;  // AVX2: maddubs for every block type
            if (compact && dtype_is_blocked(t) && int8) rel = 1e-2;
            if (compact && t == DType::bf16 && has_avx512_bf16()) rel = 2.5e-3;
            for (int tt = 0; tt < n_tok; ++tt)
              for (int64_t o = 0; o < rows; ++o) {
                size_t i = size_t(tt * ldy + o);
                ASSERT_NEAR(y[i], ref[i], rel * mag[i] + 1e-6)
                    << "isa " << isa_name(level) << (compact ? "+compact" : "") << " type " << dtype_name(t)
                    << " cols " << cols << " rows " << rows << " n_tok " << n_tok << " at (" << tt << ", " << o << ")";
              }
            // Padding columns of y are untouched.
            for (int tt = 0; tt < n_tok; ++tt) ASSERT_EQ(y[size_t(tt * ldy + rows)], -777.0f);
          }
        }
      }
    }
  }
}

TEST(MatmulTest, ThreadedEqualsSingleThreaded) {
  std::mt19937 rng(3);
  ThreadPool one(1), three(3);
  for (DType t : {DType::bf16, DType::q8_0, DType::q4_0, DType::q4_k, DType::q6_k, DType::f32}) {
    for (int n_tok : {1, 5, 20}) {
      Mat m = random_mat(t, 301, 256, rng);
      std::vector<float> x(static_cast<size_t>(n_tok * 256));
      std::normal_distribution<float> nd(0, 1);
      for (auto& v : x) v = nd(rng);
      std::vector<float> a(static_cast<size_t>(n_tok * 301)), b(a.size());
      for (MatmulActs acts : {MatmulActs::f32, MatmulActs::compact}) {
        matmul(m.view, x.data(), 256, n_tok, a.data(), 301, one, acts);
        matmul(m.view, x.data(), 256, n_tok, b.data(), 301, three, acts);
        EXPECT_EQ(a, b) << dtype_name(t) << " n_tok " << n_tok << " compact " << (acts == MatmulActs::compact);
      }
    }
  }
}

TEST(QuantizeTest, Q8AndQ4ErrorsAreWithinTheirStep) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0, 1);
  std::vector<float> x(256), y(256);
  for (auto& v : x) v = nd(rng);
  for (DType t : {DType::q8_0, DType::q4_0}) {
    std::vector<uint8_t> q(dtype_row_bytes(t, 256));
    quantize_row(t, x.data(), q.data(), 256);
    dequantize_row(t, q.data(), y.data(), 256);
    for (int b = 0; b < 8; ++b) {
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[size_t(b * 32 + j)]));
      // q8_0: half a step of amax/127; q4_0 (d = max/-8): up to one step where +8 is clipped to +7.
      float step = t == DType::q8_0 ? amax / 127 : 2 * amax / 8;
      for (int j = 0; j < 32; ++j)
        EXPECT_LE(std::fabs(x[size_t(b * 32 + j)] - y[size_t(b * 32 + j)]), step * 0.5f + amax * 2e-3f)
            << dtype_name(t);
    }
  }
}

// The K-quants' one-pass quantizers: each value within a step of its sub-block's scale (q4_k: plus the rounded-up
// min, up to one dmin step), and the whole row close (relative RMS error of a 4- and a 6-bit code).
TEST(QuantizeTest, KQuantErrorsAreWithinTheirStep) {
  std::mt19937 rng(13);
  std::normal_distribution<float> nd(0, 1);
  std::vector<float> x(1024), y(1024);
  for (size_t i = 0; i < x.size(); ++i) x[i] = nd(rng) * (1.0f + float(i % 256) / 64);  // scales differ in a block
  for (DType t : {DType::q4_k, DType::q6_k}) {
    std::vector<uint8_t> q(dtype_row_bytes(t, 1024));
    quantize_row(t, x.data(), q.data(), 1024);
    dequantize_row(t, q.data(), y.data(), 1024);
    double err2 = 0, x2 = 0;
    const int sub = t == DType::q4_k ? 32 : 16;
    for (int s = 0; s < 1024 / sub; ++s) {
      float lo = 0, hi = 0;
      for (int j = 0; j < sub; ++j) {
        lo = std::min(lo, x[size_t(s * sub + j)]);
        hi = std::max(hi, x[size_t(s * sub + j)]);
      }
      // Largest sub-block range in the super-block: the unit of the 6-/8-bit scale steps.
      float big = 0;
      for (int j = 0; j < 256; ++j) big = std::max(big, std::fabs(x[size_t((s * sub / 256) * 256 + j)]));
      const float step =
          t == DType::q4_k ? (hi - lo) / 15 + 2 * big / 15 / 63 : 2 * std::max(hi, -lo) / 32 + big / 32 / 127;
      for (int j = 0; j < sub; ++j) {
        const size_t i = size_t(s * sub + j);
        EXPECT_LE(std::fabs(x[i] - y[i]), step + (t == DType::q4_k ? big / 63 : 0.0f)) << dtype_name(t) << " at " << i;
        err2 += double(x[i] - y[i]) * (x[i] - y[i]);
        x2 += double(x[i]) * x[i];
      }
    }
    EXPECT_LT(std::sqrt(err2 / x2), t == DType::q4_k ? 0.12 : 0.03) << dtype_name(t);
  }
}

TEST(DtypeTest, HalfConversionsAreExact) {
  // Every f16 value converts to the f32 of the same value, and back.
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = f16_to_f32(uint16_t(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16(f), uint16_t(h)) << h;
  }
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00);                       // overflow to inf
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie rounds to even
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f32_to_bf16(bf16_to_f32(0x1234)), 0x1234);
}

TEST(ThreadPoolTest, RunsEveryThreadOnceAndSplitCoversTheRange) {
  ThreadPool pool(4);
  for (int rep = 0; rep < 100; ++rep) {
    std::vector<int> hits(4, 0);
    pool.run([&](int ith, int nth) { hits[size_t(ith)] += nth; });
    EXPECT_EQ(hits, (std::vector<int>{4, 4, 4, 4}));
  }
  int64_t covered = 0, last_end = 0;
  for (int i = 0; i < 3; ++i) {
    int64_t b, e;
    ThreadPool::split(100, i, 3, 16, &b, &e);
    EXPECT_EQ(b, last_end);
    EXPECT_TRUE(b % 16 == 0);
    covered += e - b;
    last_end = e;
  }
  EXPECT_EQ(covered, 100);
}

// Weights packed at load (MatView::packed) against the same weights unpacked per call: the GEMM is the same
// arithmetic in the same order (bit-identical); decode sums in another order (within float rounding). Row
// ranges that start off a block boundary fall back to the rows; threads split on block boundaries.
TEST(MatmulTest, PackedMatchesRowLayout) {
  if (isa() != Isa::avx512) GTEST_SKIP() << "no AVX-512: its packed kernels are not run (AVX2's: below)";
  std::mt19937 rng(21);
  std::normal_distribution<float> nd(0, 1);
  ThreadPool three(3);
  for (DType t : {DType::bf16, DType::q8_0, DType::q4_0, DType::q4_k, DType::q6_k})
  for (int64_t cols : {2, 34, 64, 96, 192, 256, 768, 1030}) {
    if (cols % dtype_block(t) != 0 || (dtype_block(t) == 32 && cols % 64 != 0)) continue;
    for (int64_t rows : {3, 32, 45, 130}) {
      Mat m = random_mat(t, rows, cols, rng);
      if (!packing_wanted(m.view)) {
        std::cerr << "[ skip ] " << dtype_name(t) << ": this CPU has no kernels that read it packed\n";
        break;
      }
      std::vector<uint8_t> buf(packed_bytes(m.view) + 64);
      auto* packed = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(buf.data()) + 63) & ~uintptr_t(63));
      pack_matrix(m.view, packed, &three);
      MatView pv = m.view;
      pv.packed = packed;
      for (int n_tok : {1, 2, 3, 7, 8, 13, 25}) {
        std::vector<float> x(static_cast<size_t>(n_tok * cols));
        for (auto& v : x) v = nd(rng);
        std::vector<float> a(static_cast<size_t>(n_tok * rows)), b(a.size()), c(a.size()), d(a.size());
        matmul_rows_at(Isa::avx512, MatmulActs::compact, m.view, x.data(), cols, n_tok, a.data(), rows, 0, rows);
        matmul_rows_at(Isa::avx512, MatmulActs::compact, pv, x.data(), cols, n_tok, b.data(), rows, 0, rows);
        matmul(pv, x.data(), cols, n_tok, c.data(), rows, three, MatmulActs::compact);
        // Rows [5, rows) start inside block 0: those come from the row layout.
        matmul_rows_at(Isa::avx512, MatmulActs::compact, pv, x.data(), cols, n_tok, d.data(), rows, 0,
                       std::min<int64_t>(5, rows));
        if (rows > 5)
          matmul_rows_at(Isa::avx512, MatmulActs::compact, pv, x.data(), cols, n_tok, d.data(), rows, 5, rows);
        EXPECT_EQ(b, c) << dtype_name(t) << " threads, cols " << cols << " rows " << rows << " n_tok " << n_tok;
        for (size_t i = 0; i < a.size(); ++i) {
          if (n_tok >= 8) {
            ASSERT_EQ(a[i], b[i]) << dtype_name(t) << " GEMM, cols " << cols << " rows " << rows << " n_tok "
                                  << n_tok << " at " << i;
          } else {
            ASSERT_NEAR(a[i], b[i], 1e-4 * (1 + std::fabs(a[i]))) << dtype_name(t) << " decode, cols " << cols
                                                                  << " rows " << rows << " n_tok " << n_tok
                                                                  << " at " << i;
          }
          ASSERT_NEAR(d[i], a[i], 1e-4 * (1 + std::fabs(a[i]))) << "split at 5, cols " << cols << " rows " << rows;
        }
      }
    }
  }
}

}  // namespace
}  // namespace glm::kernels

namespace glm::kernels {
namespace {

// The int8 paths' activations: ggml's q8_0 rounding (step amax / 127, half away from zero) and the sums the
// kernels take, against a scalar model of them. Ties (x exactly k + 0.5 steps, both signs) and an all-zero
// block included.
TEST(ActQuantTest, MatchesScalarRoundingAndSums) {
  if (int(isa()) < int(Isa::avx2)) GTEST_SKIP() << "no AVX2 on this CPU (no int8 path runs)";
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0, 2);
  const int64_t cols = 512, nb = cols / 32;
  std::vector<float> x(static_cast<size_t>(cols));
  for (auto& v : x) v = nd(rng);
  for (int j = 0; j < 32; ++j) x[size_t(32 + j)] = j == 0 ? 127.0f : float(j % 2 ? -1 : 1) * (float(j) + 0.5f);
  for (int j = 0; j < 32; ++j) x[size_t(64 + j)] = 0.0f;
  auto round_ggml = [](float v, float step) {
    const float r = v * (step ? 1.0f / step : 0.0f);
    return int(r + (r >= 0 ? 0.5f : -0.5f));
  };
  for (int span : {32, 256})
    for (int32_t offset : {128, 8, 0}) {
      std::vector<int8_t> q(static_cast<size_t>(cols));
      std::vector<float> d(static_cast<size_t>(nb)), bsum(d.size());
      std::vector<int32_t> corr(static_cast<size_t>(nb * 8)), seed(d.size());
      isa_impl::quantize_token(x.data(), nb, span, offset, q.data(), d.data(), corr.data(), seed.data(), bsum.data());
      for (int64_t b = 0; b < nb; ++b) {
        const int64_t s0 = b * 32 / span * span;
        float amax = 0;
        for (int64_t k = s0; k < s0 + span; ++k) amax = std::max(amax, std::fabs(x[size_t(k)]));
        const float step = amax / 127.0f;
        ASSERT_EQ(d[size_t(b)], step) << "span " << span << " block " << b;
        int32_t sum = 0;
        for (int g = 0; g < 8; ++g) {
          int32_t gs = 0;
          for (int e = 0; e < 4; ++e) {
            const int64_t k = b * 32 + 4 * g + e;
            ASSERT_EQ(q[size_t(k)], round_ggml(x[size_t(k)], step)) << "span " << span << " at " << k;
            gs += q[size_t(k)];
          }
          ASSERT_EQ(corr[size_t(b * 8 + g)], -offset * gs);
          sum += gs;
        }
        ASSERT_EQ(seed[size_t(b)], -offset * sum);
        ASSERT_EQ(bsum[size_t(b)], step * float(sum));
      }
    }
  for (int dtype : {5, 6}) {  // q4_k, q6_k
    std::vector<isa_impl::KGroup> g(static_cast<size_t>(cols / 256));
    isa_impl::group_k(dtype, x.data(), cols, g.data());
    for (int64_t s = 0; s < cols / 256; ++s) {
      const isa_impl::KGroup& kg = g[size_t(s)];
      float amax = 0;
      for (int64_t k = 0; k < 256; ++k) amax = std::max(amax, std::fabs(x[size_t(s * 256 + k)]));
      ASSERT_EQ(kg.d, amax / 127.0f);
      int16_t sum16[16] = {};
      for (int64_t k = 0; k < 256; ++k) {
        const int blk = int(k / 32), place = dtype == 5 ? isa_impl::kQ4kPlace[blk] : blk;
        const int q = round_ggml(x[size_t(s * 256 + k)], kg.d);
        ASSERT_EQ(kg.q[32 * place + k % 32], q) << "dtype " << dtype << " at " << s * 256 + k;
        sum16[k / 16] = int16_t(sum16[k / 16] + q);
      }
      for (int i = 0; i < 16; ++i) {
        ASSERT_EQ(kg.bsum16[i], sum16[i]);
        ASSERT_EQ(kg.q6off[i], -32 * sum16[i]);
      }
      for (int j = 0; j < 8; ++j) {
        ASSERT_EQ(kg.bsum32[j], sum16[2 * j] + sum16[2 * j + 1]);
        ASSERT_EQ(kg.zero[j], 0);
      }
    }
  }
}

// The int8 path equals an exact integer model of itself: dot of the quantized activations and weights.
TEST(MatmulTest, Int8PathIsExactOnQuantizedActivations) {
  if (int(isa()) < int(Isa::avx2)) GTEST_SKIP() << "no AVX2 on this CPU";
  if (!has_vnni()) std::cerr << "[ info ] no AVX-512 VNNI on this CPU: only the AVX2 int8 kernels are checked\n";
  std::mt19937 rng(5);
  // q4_0 decode runs pairs of 4-block groups, then a last group, then single blocks: 608 columns (19 blocks) and
  // 224 (7) take every one of those paths.
  std::vector<Isa> levels = {Isa::avx2};  // AVX2's maddubs kernels
  if (has_vnni()) levels.push_back(Isa::avx512);
  for (Isa level : levels)
  for (DType t : {DType::q8_0, DType::q4_0, DType::q4_k, DType::q6_k})
  for (int64_t cols : {256, 224, 608, 640, 768})
  for (int n_tok : {1, 3, 9}) {  // decode, a few sequences, the GEMM
    if (cols % dtype_block(t)) continue;
    const int64_t rows = 37;
    Mat m = random_mat(t, rows, cols, rng);
    // Activations already on the int8 grid of their blocks (multiples of amax/127), so quantizing is exact; the
    // grid is one per 256, so that the K-quants' decode activations (quantized per 256) are exact too.
    std::vector<float> x(static_cast<size_t>(cols * n_tok));
    std::uniform_int_distribution<int> qd(-127, 127);
    for (int64_t b = 0; b < cols / 32 * n_tok; ++b) {
      const float d = 0.01f * float(b / 8 % 7 + 1);
      for (int j = 0; j < 32; ++j) x[size_t(b * 32 + j)] = d * float(j == b % 32 ? 127 : qd(rng));
    }
    std::vector<float> y(size_t(rows * n_tok)), wrow(static_cast<size_t>(cols));
    matmul_rows_at(level, MatmulActs::compact, m.view, x.data(), cols, n_tok, y.data(), rows, 0, rows);
    for (int64_t o = 0; o < rows; ++o) {
      dequantize_row(t, m.view.row(o), wrow.data(), cols);
      for (int tt = 0; tt < n_tok; ++tt) {
        const float* xt = x.data() + tt * cols;
        double s = 0, a = 0;
        for (int64_t k = 0; k < cols; ++k) {
          s += double(wrow[size_t(k)]) * xt[k];
          a += std::fabs(double(wrow[size_t(k)]) * xt[k]);
        }
        EXPECT_NEAR(y[size_t(tt * rows + o)], s, 1e-5 * a)
            << isa_name(level) << " " << dtype_name(t) << " cols " << cols << " n_tok " << n_tok << " row " << o
            << " token " << tt;
      }
    }
  }
}

// AVX2 reads the int8 packed layouts 8 rows at a time (decode and prefill): the same values as its row kernels,
// to float rounding; partial last groups and row ranges split at a group.
TEST(MatmulTest, Avx2PackedMatchesRowLayout) {
  if (int(isa()) < int(Isa::avx2)) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(17);
  std::normal_distribution<float> nd(0, 1);
  for (DType t : {DType::q8_0, DType::q4_0, DType::q4_k, DType::q6_k})
    for (int64_t cols : {64, 192, 256, 1024})
      for (int64_t rows : {3, 16, 45, 130}) {
        if (cols % (dtype_block(t) == 32 ? 64 : 256) != 0) continue;
        Mat m = random_mat(t, rows, cols, rng);
        ASSERT_TRUE(packing_wanted(m.view));
        std::vector<uint8_t> buf(packed_bytes(m.view) + 64);
        auto* packed = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(buf.data()) + 63) & ~uintptr_t(63));
        pack_matrix(m.view, packed, nullptr);
        MatView pv = m.view;
        pv.packed = packed;
        for (int n_tok : {1, 2, 7, 9, 13}) {
          std::vector<float> x(static_cast<size_t>(n_tok * cols));
          for (auto& v : x) v = nd(rng);
          std::vector<float> a(static_cast<size_t>(n_tok * rows)), b(a.size()), c(a.size());
          matmul_rows_at(Isa::avx2, MatmulActs::compact, m.view, x.data(), cols, n_tok, a.data(), rows, 0, rows);
          matmul_rows_at(Isa::avx2, MatmulActs::compact, pv, x.data(), cols, n_tok, b.data(), rows, 0, rows);
          const int64_t split = std::min<int64_t>(16, rows);  // [0, 16) packed, [16, rows) packed again
          matmul_rows_at(Isa::avx2, MatmulActs::compact, pv, x.data(), cols, n_tok, c.data(), rows, 0, split);
          if (rows > split)
            matmul_rows_at(Isa::avx2, MatmulActs::compact, pv, x.data(), cols, n_tok, c.data(), rows, split, rows);
          for (size_t i = 0; i < a.size(); ++i) {
            ASSERT_NEAR(b[i], a[i], 1e-4 * (1 + std::fabs(a[i])))
                << dtype_name(t) << " cols " << cols << " rows " << rows << " n_tok " << n_tok << " at " << i;
            ASSERT_EQ(c[i], b[i]) << dtype_name(t) << " split at 16, rows " << rows << " at " << i;
          }
        }
      }
}

// The AVX2 int8 kernels take 4 tokens per pass over a row (prefill); each token's result is bit for bit what it
// gets alone (decode), for the full passes and every tail.
TEST(MatmulTest, Avx2Int8TokenTilesEqualOneTokenAtATime) {
  if (int(isa()) < int(Isa::avx2)) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(13);
  std::normal_distribution<float> nd(0, 1);
  const int64_t cols = 512, rows = 5;
  for (DType t : {DType::q8_0, DType::q4_0, DType::q4_k, DType::q6_k}) {
    Mat m = random_mat(t, rows, cols, rng);
    for (int n_tok : {5, 6, 7, 8}) {
      std::vector<float> x(static_cast<size_t>(n_tok * cols));
      for (auto& v : x) v = nd(rng);
      std::vector<float> all(static_cast<size_t>(n_tok * rows)), one(all.size());
      matmul_rows_at(Isa::avx2, MatmulActs::compact, m.view, x.data(), cols, n_tok, all.data(), rows, 0, rows);
      for (int tt = 0; tt < n_tok; ++tt)
        matmul_rows_at(Isa::avx2, MatmulActs::compact, m.view, x.data() + tt * cols, cols, 1, one.data() + tt * rows,
                       rows, 0, rows);
      EXPECT_EQ(all, one) << dtype_name(t) << " n_tok " << n_tok;
    }
  }
}

// The bf16 kernels (GEMM from 8 tokens, per-row decode below) equal an exact model of themselves: with
// activations already bf16 (so rounding them is exact), only the fp32 accumulation differs from a double dot
// product. Odd tails of pairs and rows are covered.
TEST(MatmulTest, Bf16GemmIsExactOnBf16Activations) {
  if (!has_avx512_bf16()) GTEST_SKIP() << "no AVX-512 BF16 on this CPU";
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0, 1);
  for (int64_t cols : {2, 34, 96, 1030}) {
    for (int64_t rows : {3, 32, 45}) {
      Mat m = random_mat(DType::bf16, rows, cols, rng);
      for (int n_tok : {1, 3, 7, 8, 13, 25}) {
        const int64_t ldx = cols + 1;
        std::vector<float> x(static_cast<size_t>(n_tok * ldx));
        for (auto& v : x) v = bf16_to_f32(f32_to_bf16(nd(rng)));
        std::vector<float> y(static_cast<size_t>(n_tok * rows)), wrow(static_cast<size_t>(cols));
        matmul_rows_at(Isa::avx512, MatmulActs::compact, m.view, x.data(), ldx, n_tok, y.data(), rows, 0, rows);
        for (int64_t o = 0; o < rows; ++o) {
          dequantize_row(DType::bf16, m.view.row(o), wrow.data(), cols);
          for (int tt = 0; tt < n_tok; ++tt) {
            double s = 0, a = 0;
            for (int64_t k = 0; k < cols; ++k) {
              s += double(wrow[size_t(k)]) * x[size_t(tt * ldx + k)];
              a += std::fabs(double(wrow[size_t(k)]) * x[size_t(tt * ldx + k)]);
            }
            ASSERT_NEAR(y[size_t(tt * rows + o)], s, 1e-5 * a + 1e-6)
                << "cols " << cols << " rows " << rows << " n_tok " << n_tok << " at (" << tt << ", " << o << ")";
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace glm::kernels

namespace glm::kernels {
namespace {

TEST(ThreadPoolTest, ParallelForCoversEveryItemOnce) {
  ThreadPool pool(3);
  for (int rep = 0; rep < 200; ++rep) {
    const int64_t n = 1 + rep * 7;
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    const int64_t chunk = 1 + rep % 5;
    std::atomic<int> misaligned{0};
    pool.parallel_for(n, chunk, [&](int64_t b, int64_t e) {
      if (b % chunk != 0 || (e % chunk != 0 && e != n)) misaligned.fetch_add(1);
      for (int64_t i = b; i < e; ++i) hits[size_t(i)].fetch_add(1);
    });
    ASSERT_EQ(misaligned.load(), 0) << "n " << n << ": a chunk of " << chunk << " did not start or end on a multiple";
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[size_t(i)].load(), 1) << "n " << n << " item " << i;
    // Interleave with static runs.
    std::atomic<int> calls{0};
    pool.run([&](int, int) { calls.fetch_add(1); });
    ASSERT_EQ(calls.load(), 3);
  }
}

// A thread that stalls inside its first chunk (as one the OS deschedules) must not hold up the rest of its share:
// the others take it from the back. The stalled call waits for every item outside its own chunk.
TEST(ThreadPoolTest, ParallelForTakesOverAStalledThreadsShare) {
  ThreadPool pool(3);
  const int64_t n = 3000;
  std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
  std::atomic<int64_t> done{0};
  std::atomic<bool> timed_out{false};
  pool.parallel_for(n, 10, [&](int64_t b, int64_t e) {
    if (b == 0) {  // the calling thread's first chunk
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (done.load() < n - e) {
        if (std::chrono::steady_clock::now() > until) {
          timed_out = true;
          break;
        }
        std::this_thread::yield();
      }
    }
    for (int64_t i = b; i < e; ++i) hits[size_t(i)].fetch_add(1);
    if (b != 0) done.fetch_add(e - b);
  });
  EXPECT_FALSE(timed_out.load()) << "the stalled thread's share was left to it (" << done.load() << " of " << n
                                 << " items done by the others)";
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[size_t(i)].load(), 1) << "item " << i;
}

}  // namespace
}  // namespace glm::kernels
