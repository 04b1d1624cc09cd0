// `glm-agent logits` and `glm-agent generate` against the engine API on a tiny checkpoint.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "model/cpu/cpu_engine.h"
#include "model/sampler.h"
#include "tests/model/tiny_checkpoint.h"

namespace glm {
namespace {

// $GLM_AGENT_BIN (ctest), else glm-agent beside the tests/ folder of this binary.
std::string agent() {
  if (const char* env = std::getenv("GLM_AGENT_BIN"); env && std::filesystem::exists(env)) return env;
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  auto p = self.parent_path().parent_path() / "glm-agent";
  return std::filesystem::exists(p) ? p.string() : std::string();
}

class EngineCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = agent();
    if (bin_.empty()) GTEST_SKIP() << "glm-agent binary not found (build the glm-agent target)";
    cfg_ = testing::tiny_config();
    dir_ = testing::make_temp_dir("glm-cli");
    ASSERT_TRUE(testing::write_tiny_checkpoint(dir_, cfg_, DType::bf16, 1, 21));
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::vector<float> engine_logits(const std::vector<int32_t>& ids, bool all) {
    auto e = open_cpu_engine(dir_, {});
    EXPECT_TRUE(e.ok());
    SeqId s = *(*e)->create_sequence();
    std::vector<float> l((all ? ids.size() : 1) * size_t(cfg_.n_vocab));
    EXPECT_TRUE((*e)->prefill(s, ids, all ? LogitsMode::all : LogitsMode::last, l).ok());
    return l;
  }
  std::string bin_, dir_;
  Glm4Config cfg_;
};

TEST_F(EngineCliTest, LogitsLastAndAll) {
  auto r = testing::run_command(bin_ + " logits --model " + dir_ + " --ids 1,2,3,40 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  auto want = engine_logits({1, 2, 3, 40}, false);
  ASSERT_EQ(j["logits"].size(), size_t(cfg_.n_vocab));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(j["logits"][i].get<float>(), want[i]) << i;

  r = testing::run_command(bin_ + " logits --model " + dir_ + " --ids 1,2,3,40 --all");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  j = nlohmann::json::parse(r.out);
  auto all = engine_logits({1, 2, 3, 40}, true);
  ASSERT_EQ(j["logits"].size(), 4u);
  for (size_t p = 0; p < 4; ++p)
    for (size_t i = 0; i < size_t(cfg_.n_vocab); ++i)
      ASSERT_EQ(j["logits"][p][i].get<float>(), all[p * size_t(cfg_.n_vocab) + i]);
}

TEST_F(EngineCliTest, LogitsErrors) {
  EXPECT_EQ(testing::run_command(bin_ + " logits --model " + dir_ + " --ids 1,x 2>/dev/null").exit_code, 2);
  EXPECT_EQ(testing::run_command(bin_ + " logits --model " + dir_ + " 2>/dev/null").exit_code, 2);
  EXPECT_EQ(testing::run_command(bin_ + " logits --model " + dir_ + " --ids 1,96 2>/dev/null").exit_code, 1);
  EXPECT_EQ(testing::run_command(bin_ + " logits --model /nonexistent --ids 1 2>/dev/null").exit_code, 1);
  auto r = testing::run_command(bin_ + " logits --model " + dir_ + " --ids 1,96 2>&1");
  EXPECT_NE(r.out.find("outside the vocabulary"), std::string::npos) << r.out;
}

TEST_F(EngineCliTest, GenerateGreedyMatchesTheEngine) {
  auto r = testing::run_command(bin_ + " generate --model " + dir_ +
                                " --ids 5,6,7 --max-tokens 6 --temperature 0 --output-format json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  auto got = j["ids"].get<std::vector<int32_t>>();
  // The same loop through the API.
  auto e = open_cpu_engine(dir_, {});
  ASSERT_TRUE(e.ok());
  SeqId s = *(*e)->create_sequence();
  std::vector<float> row(size_t(cfg_.n_vocab));
  std::vector<int32_t> prompt = {5, 6, 7};
  ASSERT_TRUE((*e)->prefill(s, prompt, LogitsMode::last, row).ok());
  Sampler greedy({.temperature = 0});
  std::vector<int32_t> want;
  for (int i = 0; i < 6; ++i) {
    int32_t t = *greedy.sample(row, {}, nullptr);
    want.push_back(t);
    if (t == 95) break;  // the tiny config's eos
    DecodeInput in{s, t};
    ASSERT_TRUE((*e)->decode({&in, 1}, row).ok());
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(j["finish_reason"], want.back() == 95 ? "stop" : "length");
  EXPECT_EQ(j["prompt_tokens"], 3);
  // Seeded sampling is reproducible.
  std::string cmd = bin_ + " generate --model " + dir_ + " --ids 5,6,7 --max-tokens 8 --temperature 1.0 --seed 3";
  auto a = testing::run_command(cmd), b = testing::run_command(cmd);
  EXPECT_EQ(a.exit_code, 0);
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(testing::run_command(bin_ + " generate --model " + dir_ + " --ids 1 --grammar g.gbnf 2>/dev/null").exit_code,
            2);
  // Prompt longer than the context (128 in the tiny config).
  std::string long_ids = "1";
  for (int i = 0; i < 130; ++i) long_ids += ",1";
  auto lr = testing::run_command(bin_ + " generate --model " + dir_ + " --ids " + long_ids + " 2>&1");
  EXPECT_EQ(lr.exit_code, 1);
  EXPECT_NE(lr.out.find("context"), std::string::npos) << lr.out;
}

TEST_F(EngineCliTest, BenchPrintsOneJsonObject) {
  auto r = testing::run_command(bin_ +
                                " bench engine --size tiny --vocab 512 --prompt-tokens 8 --decode-tokens 4 "
                                "--threads 1 --bandwidth-mib 16");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["bench"], "engine");
  EXPECT_GT(j["decode"]["tok_s"].get<double>(), 0);
  EXPECT_GT(j["prefill"]["tok_s"].get<double>(), 0);
  EXPECT_GT(j["mem_bw_gb_s"].get<double>(), 0);
}

TEST_F(EngineCliTest, BenchMatmulPrintsBothLayouts) {
  auto r = testing::run_command(bin_ + " bench matmul --types q4_k,f32 --cols 256 --mib 16 --repeat 1 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["bench"], "matmul");
  for (const char* where : {"cache", "memory"}) {
    EXPECT_GT(j["types"]["q4_k"][where]["stored_gb_s"].get<double>(), 0) << where;
    EXPECT_GT(j["types"]["f32"][where]["stored_gb_s"].get<double>(), 0) << where;
    EXPECT_FALSE(j["types"]["f32"][where].contains("packed_gb_s")) << "f32 has no packed layout";
  }
  EXPECT_GT(j["types"]["q4_k"]["memory"]["share_stored"].get<double>(), 0);
  EXPECT_EQ(testing::run_command(bin_ + " bench matmul --types q5_x 2>/dev/null").exit_code, 2);
  EXPECT_EQ(testing::run_command(bin_ + " bench matmul --cols 100 2>/dev/null").exit_code, 2);
  EXPECT_EQ(testing::run_command(bin_ + " bench matmul --tokens 0 2>/dev/null").exit_code, 2);
}

TEST_F(EngineCliTest, BenchMatmulTakesManyTokens) {
  auto r =
      testing::run_command(bin_ + " bench matmul --types bf16 --cols 256 --mib 16 --repeat 1 --threads 1 --tokens 7");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["tokens"], 7);
  const auto& m = j["types"]["bf16"]["memory"];
  // 2 flops per weight and token, 2 bytes per bf16 weight: GFLOP/s = 7 x GB/s.
  const double gflop_s = m["stored_gflop_s"].get<double>();
  EXPECT_NEAR(gflop_s, 7 * m["stored_gb_s"].get<double>(), 1e-6 * gflop_s);
}

}  // namespace
}  // namespace glm
