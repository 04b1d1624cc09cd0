// The CPU forward pass against the float64 PyTorch reference (scripts/glm4_reference.py) on random tiny
// checkpoints the test writes, plus the KV-cache equivalences (incremental, batched, forked).
#include "model/glm4.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <optional>

#include "kernels/cpu/cpu_features.h"
#include "model/cpu/cpu_engine.h"
#include "tests/model/tiny_checkpoint.h"

namespace glm {
namespace {

using testing::tiny_config;

struct RefCase {
  const char* name;
  bool bias;
  int n_head, n_head_kv, head_dim;
  double rotary;
  kernels::DType dtype;
  int shards;
  bool tie;
  bool yarn = false;  // rope_scaling yarn, factor 4 over an original context of 32 (max_position_embeddings 128)
};

std::ostream& operator<<(std::ostream& os, const RefCase& c) { return os << c.name; }

class ForwardReferenceTest : public ::testing::TestWithParam<RefCase> {};

TEST_P(ForwardReferenceTest, LogitsMatchFloat64Reference) {
  std::string why = testing::reference_unavailable();
  if (!why.empty()) GTEST_SKIP() << "PyTorch reference skipped: " << why;
  const RefCase& rc = GetParam();
  Glm4Config c = tiny_config();
  c.attention_bias = rc.bias;
  c.n_head = rc.n_head;
  c.n_head_kv = rc.n_head_kv;
  c.head_dim = rc.head_dim;
  c.partial_rotary_factor = rc.rotary;
  c.n_rot = int(rc.head_dim * rc.rotary);
  c.tie_word_embeddings = rc.tie;
  if (rc.yarn) {
    c.rope_theta = 100.0;  // with 8 rotary dims, a ramp with one pair inside it (low 0, high 2)
    c.yarn.factor = 4.0;
    c.yarn.original_context = 32;
    c.yarn.attention_factor = RopeYarn::default_attention_factor(4.0);
  }
  std::string dir = testing::make_temp_dir(std::string("glm-ref-") + rc.name);
  ASSERT_TRUE(testing::write_tiny_checkpoint(dir, c, rc.dtype, rc.shards, 1234));

  std::vector<int32_t> ids = {3, 17, 42, 0, 95, 8, 8, 61, 29, 77, 5, 33, 90};
  std::vector<std::vector<double>> ref;
  std::string err = testing::run_reference(dir, ids, &ref);
  ASSERT_EQ(err, "");
  ASSERT_EQ(ref.size(), ids.size());

  EngineOptions opt;
  opt.n_threads = 2;
  opt.exact_matmul = true;
  auto eng = open_cpu_engine(dir, opt);
  ASSERT_TRUE(eng.ok()) << eng.error().to_string();
  SeqId s = *(*eng)->create_sequence();
  std::vector<float> logits(ids.size() * size_t(c.n_vocab));
  ASSERT_TRUE((*eng)->prefill(s, ids, LogitsMode::all, logits).ok());
  for (size_t p = 0; p < ids.size(); ++p) {
    double e = testing::rel_error(&logits[p * size_t(c.n_vocab)], ref[p]);
    EXPECT_LT(e, 1e-4) << "position " << p << " of " << dir;
  }
  // The default engine (compact activations: bf16 in the GEMMs of bf16 weights on CPUs with AVX-512 BF16) stays
  // within the rounding error of bf16 activations, as llama.cpp and GPU GEMMs do.
  opt.exact_matmul = false;
  auto fast = open_cpu_engine(dir, opt);
  ASSERT_TRUE(fast.ok()) << fast.error().to_string();
  s = *(*fast)->create_sequence();
  ASSERT_TRUE((*fast)->prefill(s, ids, LogitsMode::all, logits).ok());
  for (size_t p = 0; p < ids.size(); ++p) {
    double e = testing::rel_error(&logits[p * size_t(c.n_vocab)], ref[p]);
    EXPECT_LT(e, 2e-2) << "compact activations, position " << p << " of " << dir;
  }
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(
    TinyCheckpoints, ForwardReferenceTest,
    ::testing::Values(RefCase{"bias_f32_h4kv2", true, 4, 2, 16, 0.5, kernels::DType::f32, 1, false},
                      RefCase{"nobias_bf16_h4kv2_sharded", false, 4, 2, 16, 0.5, kernels::DType::bf16, 3, false},
                      RefCase{"bias_bf16_h6kv2_hd32", true, 6, 2, 32, 0.5, kernels::DType::bf16, 1, false},
                      RefCase{"nobias_f32_h4kv4_sharded", false, 4, 4, 16, 0.5, kernels::DType::f32, 2, false},
                      RefCase{"bias_f16_h8kv1_rot25", true, 8, 1, 16, 0.25, kernels::DType::f16, 1, false},
                      RefCase{"nobias_bf16_h4kv2_hd24_tied", false, 4, 2, 24, 0.5, kernels::DType::bf16, 1, true},
                      RefCase{"bias_f32_h4kv2_yarn", true, 4, 2, 16, 0.5, kernels::DType::f32, 1, false, true}),
    [](const ::testing::TestParamInfo<RefCase>& i) { return std::string(i.param.name); });

// The engine-level equivalences need no Python: they compare the engine with itself.
class EngineEquivalenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_ = tiny_config();
    dir_ = testing::make_temp_dir("glm-eq");
    ASSERT_TRUE(testing::write_tiny_checkpoint(dir_, cfg_, kernels::DType::bf16, 1, 99));
    EngineOptions opt;
    opt.n_threads = 2;
    opt.exact_matmul = true;  // f32 activations: the equivalences are about the KV cache, not activation rounding
    auto e = open_cpu_engine(dir_, opt);
    ASSERT_TRUE(e.ok()) << e.error().to_string();
    eng_ = std::move(e).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<float> full(const std::vector<int32_t>& ids) {
    SeqId s = *eng_->create_sequence();
    std::vector<float> l(ids.size() * size_t(cfg_.n_vocab));
    EXPECT_TRUE(eng_->prefill(s, ids, LogitsMode::all, l).ok());
    EXPECT_TRUE(eng_->release_sequence(s).ok());
    return l;
  }
  // Within float rounding of the largest logit. Prefill of 8+ tokens (packed GEMM, each lane summing its k in
  // order) and decode (dot products, 16-lane partial sums) add in different orders, so the two agree to a few
  // ulps per layer, not bit for bit; each is held to the float64 reference at 1e-4 by ForwardReferenceTest.
  static void expect_close(const float* a, const float* b, int64_t n, const char* what) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; ++i) {
      num = std::max(num, std::fabs(double(a[i]) - b[i]));
      den = std::max(den, std::fabs(double(b[i])));
    }
    EXPECT_LE(num, 1e-5 * den) << what;
  }

  Glm4Config cfg_;
  std::string dir_;
  std::unique_ptr<Engine> eng_;
};

// Weights copied into huge-page memory at load (the default) against weights read straight from the mapped file:
// the same bytes, so bit-identical logits under exact matmuls; with bf16 packing and compact activations the
// prefill GEMM adds in the same order too (decode sums in another order: IncrementalDecodeEqualsFullForward).
TEST(ResidentMatrices, SameLogitsAsTheMappedFile) {
  const Glm4Config cfg = tiny_config();
  const std::string dir = testing::make_temp_dir("glm-resident");
  ASSERT_TRUE(testing::write_tiny_checkpoint(dir, cfg, kernels::DType::bf16, 1, 5));
  const std::vector<int32_t> ids = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5};
  auto logits = [&](bool resident, bool exact, std::optional<kernels::DType> q) {
    WeightOptions wopt;
    wopt.resident_matrices = resident;
    wopt.pack_matrices = !exact;
    wopt.matmul_dtype = q;
    std::vector<float> l(ids.size() * size_t(cfg.n_vocab));
    auto w = Glm4Weights::load(dir, wopt);
    EXPECT_TRUE(w.ok()) << w.error().to_string();
    if (!w.ok()) return l;
    EngineOptions opt;
    opt.n_threads = 2;
    opt.exact_matmul = exact;
    auto e = make_cpu_engine(std::move(w).value(), opt, nullptr);
    EXPECT_TRUE(e.ok());
    if (!e.ok()) return l;
    SeqId s = *(*e)->create_sequence();
    EXPECT_TRUE((*e)->prefill(s, ids, LogitsMode::all, l).ok());
    return l;
  };
  EXPECT_EQ(logits(true, true, std::nullopt), logits(false, true, std::nullopt)) << "exact";
  EXPECT_EQ(logits(true, false, std::nullopt), logits(false, false, std::nullopt)) << "compact, bf16 packed";
  const auto q_resident = logits(true, false, kernels::DType::q8_0);
  const auto q_mapped = logits(false, false, kernels::DType::q8_0);
  if (kernels::isa() == kernels::Isa::avx512) {
    EXPECT_EQ(q_resident, q_mapped) << "q8_0";
  } else {
    // Without AVX-512 the packed copy (resident only) is read by kernels that add in another order than the rows'.
    ASSERT_EQ(q_resident.size(), q_mapped.size());
    for (size_t i = 0; i < q_resident.size(); ++i)
      ASSERT_NEAR(q_resident[i], q_mapped[i], 1e-4 * (1 + std::fabs(q_mapped[i]))) << "q8_0 at " << i;
  }
  std::filesystem::remove_all(dir);
}

TEST_F(EngineEquivalenceTest, IncrementalDecodeEqualsFullForward) {
  std::vector<int32_t> ids = {1, 5, 9, 60, 2, 2, 77, 13, 40, 41, 42};
  auto ref = full(ids);
  SeqId s = *eng_->create_sequence();
  std::vector<float> row(size_t(cfg_.n_vocab));
  ASSERT_TRUE(eng_->prefill(s, std::span(ids).first(1), LogitsMode::last, row).ok());
  expect_close(row.data(), &ref[0], cfg_.n_vocab, "position 0");
  for (size_t p = 1; p < ids.size(); ++p) {
    DecodeInput in{s, ids[p]};
    ASSERT_TRUE(eng_->decode({&in, 1}, row).ok());
    expect_close(row.data(), &ref[p * size_t(cfg_.n_vocab)], cfg_.n_vocab, "decode step");
  }
  EXPECT_EQ(*eng_->sequence_length(s), int64_t(ids.size()));
}

TEST_F(EngineEquivalenceTest, ChunkedPrefillEqualsOneShot) {
  std::vector<int32_t> ids;
  for (int i = 0; i < 300; ++i) ids.push_back((i * 37 + 11) % 96);  // longer than one 256-token chunk
  // Needs a context of 300: use an engine with the default context of the tiny config (128) -> error.
  SeqId s = *eng_->create_sequence();
  std::vector<float> l(size_t(cfg_.n_vocab));
  Status st = eng_->prefill(s, ids, LogitsMode::last, l);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::output);
  EXPECT_EQ(*eng_->sequence_length(s), 0);  // nothing changed
  // Within the context: two prefills of 50 + 70 equal one of 120.
  std::vector<int32_t> a(ids.begin(), ids.begin() + 120);
  auto ref = full(a);
  ASSERT_TRUE(eng_->prefill(s, std::span(a).first(50), LogitsMode::none, {}).ok());
  std::vector<float> rows(70 * size_t(cfg_.n_vocab));
  ASSERT_TRUE(eng_->prefill(s, std::span(a).subspan(50), LogitsMode::all, rows).ok());
  for (size_t p = 50; p < 120; ++p)
    expect_close(&rows[(p - 50) * size_t(cfg_.n_vocab)], &ref[p * size_t(cfg_.n_vocab)], cfg_.n_vocab, "chunk");
}

TEST_F(EngineEquivalenceTest, BatchedDecodeEqualsSeparateDecodes) {
  std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {50, 51}, {7, 8, 9, 10, 11}, {94}};
  std::vector<int32_t> next = {4, 52, 12, 0};
  std::vector<std::vector<float>> expect;
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto p = prompts[i];
    p.push_back(next[i]);
    auto l = full(p);
    expect.emplace_back(l.end() - cfg_.n_vocab, l.end());
  }
  std::vector<DecodeInput> batch;
  for (size_t i = 0; i < prompts.size(); ++i) {
    SeqId s = *eng_->create_sequence();
    ASSERT_TRUE(eng_->prefill(s, prompts[i], LogitsMode::none, {}).ok());
    batch.push_back({s, next[i]});
  }
  std::vector<float> out(batch.size() * size_t(cfg_.n_vocab));
  ASSERT_TRUE(eng_->decode(batch, out).ok());
  for (size_t i = 0; i < batch.size(); ++i)
    expect_close(&out[i * size_t(cfg_.n_vocab)], expect[i].data(), cfg_.n_vocab, "batched row");
}

TEST_F(EngineEquivalenceTest, ForkedPrefixEqualsRecomputation) {
  std::vector<int32_t> base = {10, 20, 30, 40, 50, 60, 70};
  std::vector<int32_t> tail = {1, 2, 3};
  SeqId parent = *eng_->create_sequence();
  ASSERT_TRUE(eng_->prefill(parent, base, LogitsMode::none, {}).ok());
  // Reuse the first 5 tokens, then diverge.
  auto child = eng_->fork_sequence(parent, 5);
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(*eng_->sequence_length(*child), 5);
  std::vector<float> got(tail.size() * size_t(cfg_.n_vocab));
  ASSERT_TRUE(eng_->prefill(*child, tail, LogitsMode::all, got).ok());
  std::vector<int32_t> whole(base.begin(), base.begin() + 5);
  whole.insert(whole.end(), tail.begin(), tail.end());
  auto ref = full(whole);
  for (size_t p = 0; p < tail.size(); ++p)
    expect_close(&got[p * size_t(cfg_.n_vocab)], &ref[(5 + p) * size_t(cfg_.n_vocab)], cfg_.n_vocab, "forked");
  // The parent is untouched: truncating it to 5 and appending the tail gives the same logits.
  ASSERT_TRUE(eng_->truncate_sequence(parent, 5).ok());
  std::vector<float> again(tail.size() * size_t(cfg_.n_vocab));
  ASSERT_TRUE(eng_->prefill(parent, tail, LogitsMode::all, again).ok());
  expect_close(again.data(), got.data(), int64_t(again.size()), "truncated parent");
}

TEST_F(EngineEquivalenceTest, BadInputIsAnErrorAndChangesNothing) {
  SeqId s = *eng_->create_sequence();
  std::vector<float> row(size_t(cfg_.n_vocab));
  std::vector<int32_t> bad = {1, 96};
  Status st = eng_->prefill(s, bad, LogitsMode::last, row);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::invalid_argument);
  std::vector<int32_t> neg = {-1};
  EXPECT_EQ(eng_->prefill(s, neg, LogitsMode::last, row).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(*eng_->sequence_length(s), 0);
  std::vector<int32_t> ok = {1};
  std::vector<float> wrong(3);
  EXPECT_EQ(eng_->prefill(s, ok, LogitsMode::last, wrong).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(eng_->prefill(12345, ok, LogitsMode::last, row).error().code, ErrorCode::not_found);
  ASSERT_TRUE(eng_->prefill(s, ok, LogitsMode::last, row).ok());
  std::vector<DecodeInput> twice = {{s, 1}, {s, 2}};
  std::vector<float> two(2 * size_t(cfg_.n_vocab));
  EXPECT_EQ(eng_->decode(twice, two).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(*eng_->sequence_length(s), 1);
  EXPECT_EQ(eng_->fork_sequence(s, 2).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(eng_->truncate_sequence(s, 5).error().code, ErrorCode::invalid_argument);
  EXPECT_TRUE(eng_->release_sequence(s).ok());
  EXPECT_EQ(eng_->release_sequence(s).error().code, ErrorCode::not_found);
}

TEST_F(EngineEquivalenceTest, DecodeRefusesAFullSequence) {
  SeqId s = *eng_->create_sequence();
  std::vector<int32_t> ids(size_t(cfg_.max_position_embeddings), 3);
  ASSERT_TRUE(eng_->prefill(s, ids, LogitsMode::none, {}).ok());
  std::vector<float> row(size_t(cfg_.n_vocab));
  DecodeInput in{s, 4};
  Status st = eng_->decode({&in, 1}, row);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::output);
}

}  // namespace
}  // namespace glm
