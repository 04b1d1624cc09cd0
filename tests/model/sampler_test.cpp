#include "model/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

namespace glm {
namespace {

std::vector<uint32_t> mask_of(int n_vocab, std::vector<int> allowed) {
  std::vector<uint32_t> m(size_t((n_vocab + 31) / 32), 0);
  for (int a : allowed) m[size_t(a / 32)] |= 1u << (a % 32);
  return m;
}

TEST(SamplerTest, GreedyTakesTheArgmaxLowestIdOnTies) {
  Sampler s({.temperature = 0});
  std::vector<float> l = {0.1f, 3.0f, -1.0f, 3.0f};
  EXPECT_EQ(*s.sample(l, {}, nullptr), 1);
}

TEST(SamplerTest, NeverSamplesAMaskedToken) {
  const int n = 100;
  std::vector<float> l(n, 0.0f);
  l[7] = 50.0f;  // by far the likeliest, but masked
  auto m = mask_of(n, {3, 40, 64, 99});
  Sampler greedy({.temperature = 0});
  EXPECT_NE(*greedy.sample(l, {}, m.data()), 7);
  Sampler hot({.temperature = 5.0f, .seed = 1});
  for (int i = 0; i < 2000; ++i) {
    int32_t t = *hot.sample(l, {}, m.data());
    ASSERT_TRUE(t == 3 || t == 40 || t == 64 || t == 99) << t;
  }
}

TEST(SamplerTest, EmptyMaskIsAnError) {
  std::vector<float> l(40, 1.0f);
  auto m = mask_of(40, {});
  Sampler s({});
  auto r = s.sample(l, {}, m.data());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  std::vector<float> inf(4, -INFINITY);
  EXPECT_EQ(s.sample(inf, {}, nullptr).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(s.sample({}, {}, nullptr).error().code, ErrorCode::invalid_argument);
}

TEST(SamplerTest, SameSeedSameTokens) {
  std::vector<float> l = {1, 2, 3, 2, 1, 0.5f, 0.2f};
  Sampler a({.temperature = 1.0f, .seed = 42}), b({.temperature = 1.0f, .seed = 42});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(*a.sample(l, {}, nullptr), *b.sample(l, {}, nullptr));
}

TEST(SamplerTest, TemperatureOneFollowsTheSoftmax) {
  std::vector<float> l = {0.0f, std::log(2.0f), std::log(7.0f)};  // p = 0.1, 0.2, 0.7
  Sampler s({.temperature = 1.0f, .seed = 9});
  std::map<int, int> hits;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++hits[*s.sample(l, {}, nullptr)];
  EXPECT_NEAR(hits[0] / double(n), 0.1, 0.015);
  EXPECT_NEAR(hits[1] / double(n), 0.2, 0.015);
  EXPECT_NEAR(hits[2] / double(n), 0.7, 0.015);
}

TEST(SamplerTest, TopKTopPMinPCutTheTail) {
  std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  auto support = [&](SamplerParams p) {
    Sampler s(p);
    std::map<int, int> hits;
    for (int i = 0; i < 3000; ++i) ++hits[*s.sample(l, {}, nullptr)];
    std::vector<int> ids;
    for (auto& [k, v] : hits) ids.push_back(k);
    return ids;
  };
  EXPECT_EQ(support({.top_k = 2, .seed = 1}), (std::vector<int>{0, 1}));
  EXPECT_EQ(support({.top_p = 0.79f, .seed = 2}), (std::vector<int>{0, 1}));  // 0.5 + 0.3 >= 0.79
  EXPECT_EQ(support({.top_p = 0.81f, .seed = 3}), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(support({.min_p = 0.35f, .seed = 4}), (std::vector<int>{0, 1}));  // 0.15 < 0.35 * 0.5
  EXPECT_EQ(support({.top_k = 1, .seed = 5}), (std::vector<int>{0}));
}

TEST(SamplerTest, PenaltiesDiscourageRepeats) {
  std::vector<float> l = {2.0f, 1.9f, -1.0f};
  std::vector<int32_t> hist = {0, 0};
  Sampler rep({.temperature = 0, .repetition_penalty = 1.5f});
  EXPECT_EQ(*rep.sample(l, hist, nullptr), 1);  // 2.0 / 1.5 < 1.9
  Sampler pres({.temperature = 0, .presence_penalty = 0.2f});
  EXPECT_EQ(*pres.sample(l, hist, nullptr), 1);  // 1.8 < 1.9
  Sampler freq({.temperature = 0, .frequency_penalty = 0.06f});
  EXPECT_EQ(*freq.sample(l, hist, nullptr), 1);  // 2.0 - 0.12 < 1.9
  Sampler window({.temperature = 0, .repetition_penalty = 1.5f, .penalty_last_n = 1});
  std::vector<int32_t> old = {0, 2};
  EXPECT_EQ(*window.sample(l, old, nullptr), 0);  // token 0 is outside the window
  // A negative logit is pushed further down, not up.
  std::vector<float> neg = {-1.0f, -1.2f};
  std::vector<int32_t> h0 = {0};
  Sampler r2({.temperature = 0, .repetition_penalty = 1.5f});
  EXPECT_EQ(*r2.sample(neg, h0, nullptr), 1);
}

TEST(SamplerTest, ValidateRejectsNonsense) {
  EXPECT_EQ(SamplerParams{.top_p = 0}.validate().error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(SamplerParams{.repetition_penalty = 0}.validate().error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(SamplerParams{.min_p = 2}.validate().error().code, ErrorCode::invalid_argument);
  EXPECT_TRUE(SamplerParams{}.validate().ok());
}

}  // namespace
}  // namespace glm
