// The small ops: RMSNorm, RoPE (adjacent pairs, partial), SwiGLU (gate first), softmax, the GQA products.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/gqa.h"
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
