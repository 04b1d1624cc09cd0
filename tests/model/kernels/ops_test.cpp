// The small ops: RMSNorm, RoPE (adjacent pairs, partial), SwiGLU (gate first), softmax, dot/axpy.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/dot.h"
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

TEST(OpsTest, DotAndAxpy) {
  std::vector<float> a(77), b(77), y(77, 1.0f);
  double ref = 0;
  for (int i = 0; i < 77; ++i) {
    a[size_t(i)] = float(i) * 0.5f;
    b[size_t(i)] = float(77 - i) * 0.25f;
    ref += double(a[size_t(i)]) * b[size_t(i)];
  }
  EXPECT_NEAR(dot_f32(a.data(), b.data(), 77), ref, 1e-3);
  axpy_f32(2.0f, a.data(), y.data(), 77);
  for (int i = 0; i < 77; ++i) EXPECT_FLOAT_EQ(y[size_t(i)], 1.0f + 2.0f * a[size_t(i)]);
}

}  // namespace
}  // namespace glm::kernels
