// The small ops: RMSNorm, RoPE (adjacent pairs, partial), SwiGLU (gate first), softmax, the GQA products.
#include <gtest/gtest.h>

#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12 on the AVX-512 intrinsics
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/gqa.h"
#include "kernels/cpu/simd_exp.h"
#include "kernels/cpu/rms_norm.h"
#include "kernels/cpu/rope.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cpu/swiglu.h"

namespace glm::kernels {
namespace {

TEST(OpsTest, RmsNorm) {
  std::vector<float> x = {1, 2, 3, 4}, w = {1, 0.5f, 2, 1}, y(4);
  rms_norm(y.data(), x.data(), w.data(), 4, 1e-5f);
  double r = 1.0 / std::sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-5);
  EXPECT_NEAR(y[0], 1 * r, 1e-6);
  EXPECT_NEAR(y[1], 0.5 * 2 * r, 1e-6);
  EXPECT_NEAR(y[2], 2 * 3 * r, 1e-6);
}

TEST(OpsTest, RopeRotatesAdjacentPairsOfTheFirstDimsOnly) {
  const int head_dim = 8, n_rot = 4;
  auto inv = rope_inv_freq(n_rot, 10000.0);
  ASSERT_EQ(inv.size(), 2u);
  EXPECT_DOUBLE_EQ(inv[0], 1.0);
  EXPECT_DOUBLE_EQ(inv[1], 0.01);  // 10000^(-2/4)
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 1, 0, 0, 1, 9, 9, 9, 9};  // two heads
  rope_apply(x.data(), 2, head_dim, n_rot, 3, inv.data());
  const double t0 = 3.0, t1 = 0.03;
  EXPECT_NEAR(x[0], 1 * std::cos(t0) - 2 * std::sin(t0), 1e-6);
  EXPECT_NEAR(x[1], 1 * std::sin(t0) + 2 * std::cos(t0), 1e-6);
  EXPECT_NEAR(x[2], 3 * std::cos(t1) - 4 * std::sin(t1), 1e-6);
  EXPECT_NEAR(x[3], 3 * std::sin(t1) + 4 * std::cos(t1), 1e-6);
  EXPECT_EQ(x[4], 5);
  EXPECT_EQ(x[7], 8);
  EXPECT_NEAR(x[8], std::cos(t0), 1e-6);  // second head, same angles
  EXPECT_NEAR(x[9], std::sin(t0), 1e-6);
  EXPECT_EQ(x[15], 9);
  std::vector<float> y = {1, 2, 3, 4};
  rope_apply(y.data(), 1, 4, 4, 0, inv.data());  // position 0 is the identity
  EXPECT_EQ(y, (std::vector<float>{1, 2, 3, 4}));
}

TEST(OpsTest, SwigluTakesTheGateFromTheFirstHalf) {
  std::vector<float> gu = {1, -2, 3, 4}, out(2);
  swiglu(out.data(), gu.data(), 2);
  EXPECT_NEAR(out[0], 1 / (1 + std::exp(-1.0)) * 3, 1e-6);
  EXPECT_NEAR(out[1], -2 / (1 + std::exp(2.0)) * 4, 1e-6);
}

TEST(OpsTest, SoftmaxIsStable) {
  std::vector<float> x = {1000, 1001, 1002};
  softmax(x.data(), 3);
  double e0 = std::exp(-2.0), e1 = std::exp(-1.0), s = e0 + e1 + 1;
  EXPECT_NEAR(x[0], e0 / s, 1e-6);
  EXPECT_NEAR(x[2], 1 / s, 1e-6);
}

__attribute__((target("avx2,fma"))) void exp8_all(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; i += 8) _mm256_storeu_ps(y + i, simd::exp8(_mm256_loadu_ps(x + i)));
}
__attribute__((target("avx512f"))) void exp16_all(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; i += 16) _mm512_storeu_ps(y + i, simd::exp16(_mm512_loadu_ps(x + i)));
}

// The SIMD e^x of softmax and SwiGLU against double exp: within 2 ulp over [-87.3, 88], 0 below, inf above.
TEST(OpsTest, SimdExpIsWithinTwoUlp) {
  if (int(isa()) < int(Isa::avx2)) GTEST_SKIP() << "no AVX2 on this CPU (the scalar paths call expf)";
  std::vector<float> xs;
  for (float x = -87.3f; x <= 88.0f; x += 0.000731f) xs.push_back(x);
  for (float x : {0.0f, -0.0f, 1e-30f, -1e-30f, 0.5f, -0.34657359f, 0.34657359f}) xs.push_back(x);
  while (xs.size() % 16) xs.push_back(1.0f);
  std::vector<float> y8(xs.size()), y16(xs.size());
  exp8_all(xs.data(), y8.data(), xs.size());
  const bool has16 = isa() == Isa::avx512;
  if (has16) exp16_all(xs.data(), y16.data(), xs.size());
  double worst = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double ref = std::exp(double(xs[i]));
    const double ulp = std::ldexp(1.0, std::ilogb(ref) - 23);  // spacing of floats at ref
    worst = std::max(worst, std::fabs(y8[i] - ref) / ulp);
    ASSERT_LE(std::fabs(y8[i] - ref), 2 * ulp) << "exp8(" << xs[i] << ")";
    if (has16) {
      ASSERT_LE(std::fabs(y16[i] - ref), 2 * ulp) << "exp16(" << xs[i] << ")";
    }
  }
  std::cerr << "[ info ] worst error " << worst << " ulp over " << xs.size() << " points\n";
  float edge[8] = {-88.0f, -100.0f, -1e30f, 88.5f, 100.0f, 1e30f, -87.0f, 87.0f}, out[8];
  exp8_all(edge, out, 8);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(out[i], 0.0f) << edge[i];
  for (int i = 3; i < 6; ++i) EXPECT_EQ(out[i], __builtin_inff()) << edge[i];
  EXPECT_NEAR(out[6], std::exp(-87.0), 2e-7 * std::exp(-87.0));
  EXPECT_NEAR(out[7], std::exp(87.0), 2e-7 * std::exp(87.0));
}

// Long rows (the SIMD bodies and their tails) against double formulas.
TEST(OpsTest, SoftmaxAndSwigluOnLongRows) {
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0, 4);
  for (int64_t n : {1, 7, 8, 16, 37, 1000, 5632}) {
    std::vector<float> x(static_cast<size_t>(n)), gu(static_cast<size_t>(2 * n)), out(static_cast<size_t>(n));
    for (auto& v : x) v = nd(rng);
    for (auto& v : gu) v = nd(rng);
    std::vector<float> p = x;
    softmax(p.data(), n);
    double m = x[0], sum = 0;
    for (float v : x) m = std::max(m, double(v));
    for (float v : x) sum += std::exp(double(v) - m);
    for (int64_t i = 0; i < n; ++i) {
      const double ref = std::exp(double(x[size_t(i)]) - m) / sum;
      ASSERT_NEAR(p[size_t(i)], ref, 1e-6 * ref + 1e-12) << "softmax n " << n << " at " << i;
    }
    swiglu(out.data(), gu.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double g = gu[size_t(i)], ref = g / (1 + std::exp(-g)) * gu[size_t(n + i)];
      ASSERT_NEAR(out[size_t(i)], ref, 1e-6 * std::fabs(ref) + 1e-12) << "swiglu n " << n << " at " << i;
    }
  }
}

// Both products at every SIMD level against double sums, and each output the same bits whatever the tile it
// falls in: all positions at once = one position at a time, all heads at once = one head at a time.
TEST(OpsTest, GqaProductsMatchReferenceAndDoNotDependOnTheSplit) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0, 1);
  std::vector<Isa> levels = {Isa::scalar};
  if (int(isa()) >= int(Isa::avx2)) levels.push_back(Isa::avx2);
  if (isa() == Isa::avx512) levels.push_back(Isa::avx512);
  for (Isa level : levels)
    for (int d : {128, 80, 100, 8})
      for (int64_t n : {1, 2, 3, 5, 9, 33})
        for (int heads = 1; heads <= kGqaHeads; ++heads) {
          const int64_t ldq = d + 5, ldk = 3 * d, lds = n + 2;
          std::vector<float> q(size_t(heads * ldq)), k(size_t(n * ldk)), v(size_t(n * ldk)), p(size_t(heads * lds));
          for (auto* vec : {&q, &k, &v, &p})
            for (auto& x : *vec) x = nd(rng);
          std::vector<float> s(size_t(heads * lds)), o(size_t(heads * d));
          gqa_scores(q.data(), ldq, heads, k.data(), ldk, n, d, 0.125f, s.data(), lds, level);
          gqa_values(p.data(), lds, heads, v.data(), ldk, n, d, o.data(), d, level);
          const std::string at = std::string(isa_name(level)) + " d " + std::to_string(d) + " n " + std::to_string(n) +
                                 " heads " + std::to_string(heads);
          for (int g = 0; g < heads; ++g) {
            for (int64_t t = 0; t < n; ++t) {
              double ref = 0, mag = 0;
              for (int c = 0; c < d; ++c) {
                ref += double(q[size_t(g * ldq + c)]) * k[size_t(t * ldk + c)];
                mag += std::fabs(double(q[size_t(g * ldq + c)]) * k[size_t(t * ldk + c)]);
              }
              ASSERT_NEAR(s[size_t(g * lds + t)], 0.125 * ref, 1e-6 * mag) << at;
              float one;
              gqa_scores(q.data() + g * ldq, ldq, 1, k.data() + t * ldk, ldk, 1, d, 0.125f, &one, 1, level);
              ASSERT_EQ(one, s[size_t(g * lds + t)]) << at << ": one head, one position";
            }
            std::vector<float> one_head(static_cast<size_t>(d));
            gqa_values(p.data() + g * lds, lds, 1, v.data(), ldk, n, d, one_head.data(), d, level);
            for (int c = 0; c < d; ++c) {
              double ref = 0, mag = 0;
              for (int64_t t = 0; t < n; ++t) {
                ref += double(p[size_t(g * lds + t)]) * v[size_t(t * ldk + c)];
                mag += std::fabs(double(p[size_t(g * lds + t)]) * v[size_t(t * ldk + c)]);
              }
              ASSERT_NEAR(o[size_t(g * d + c)], ref, 1e-6 * mag) << at;
              ASSERT_EQ(one_head[size_t(c)], o[size_t(g * d + c)]) << at << ": one head";
            }
          }
        }
}

}  // namespace
}  // namespace glm::kernels
