// GGUF: convert a safetensors checkpoint, reload it, compare logits; K-quant layouts; bad files.
#include "model/gguf.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "model/cpu/cpu_engine.h"
#include "tests/model/tiny_checkpoint.h"

namespace glm {
namespace {

class GgufTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::make_temp_dir("glm-gguf"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<float> logits(const std::string& model, const std::vector<int32_t>& ids) {
    auto e = open_cpu_engine(model, {});
    EXPECT_TRUE(e.ok()) << e.error().to_string();
    if (!e.ok()) return {};
    SeqId s = *(*e)->create_sequence();
    std::vector<float> l(ids.size() * size_t((*e)->caps().n_vocab));
    EXPECT_TRUE((*e)->prefill(s, ids, LogitsMode::all, l).ok());
    return l;
  }
  static double rel(const std::vector<float>& a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      num = std::max(num, std::fabs(double(a[i]) - b[i]));
      den = std::max(den, std::fabs(double(b[i])));
    }
    return num / den;
  }
  // Converts src to out keeping the stored types; the config read back from out's metadata.
  static std::optional<Glm4Config> convert_and_read(const std::string& src, const std::string& out) {
    Status st = convert_to_gguf(src, out, std::nullopt);
    if (!st.ok()) {
      ADD_FAILURE() << st.error().to_string();
      return std::nullopt;
    }
    auto f = read_gguf(out);
    if (!f.ok()) {
      ADD_FAILURE() << f.error().to_string();
      return std::nullopt;
    }
    auto gc = glm4_config_from_gguf(*f);
    if (!gc.ok()) {
      ADD_FAILURE() << gc.error().to_string();
      return std::nullopt;
    }
    return *gc;
  }
  std::string dir_;
  const std::vector<int32_t> ids_ = {4, 8, 15, 16, 23, 42, 90};
};

TEST_F(GgufTest, ConvertKeepsStoredTypesExactly) {
  for (DType dt : {DType::f32, DType::f16, DType::bf16}) {
    for (bool bias : {true, false}) {
      Glm4Config c = testing::tiny_config();
      c.attention_bias = bias;
      const std::string src = dir_ + "/src_" + std::string(kernels::dtype_name(dt)) + (bias ? "_b" : "");
      ASSERT_TRUE(testing::write_tiny_checkpoint(src, c, dt, 1, 77));
      const std::string out = src + ".gguf";
      auto gc = convert_and_read(src, out);
      ASSERT_TRUE(gc);
      EXPECT_EQ(gc->n_layer, c.n_layer);
      EXPECT_EQ(gc->n_head_kv, c.n_head_kv);
      EXPECT_EQ(gc->n_rot, c.n_rot);
      EXPECT_EQ(gc->attention_bias, bias);
      EXPECT_EQ(gc->n_vocab, c.n_vocab);
      EXPECT_EQ(logits(out, ids_), logits(src, ids_)) << kernels::dtype_name(dt);
    }
  }
}

// YaRN travels as llama.cpp's glm4.rope.scaling.* keys; the reloaded model computes the same logits, and
// they differ from the same weights without scaling.
TEST_F(GgufTest, ConvertKeepsYarnRopeScaling) {
  Glm4Config c = testing::tiny_config();
  c.rope_theta = 100.0;
  c.yarn.factor = 4.0;
  c.yarn.original_context = 32;
  c.yarn.beta_fast = 16.0;
  c.yarn.attention_factor = 1.25;
  const std::string src = dir_ + "/yarn";
  ASSERT_TRUE(testing::write_tiny_checkpoint(src, c, DType::f32, 1, 79));
  const std::string out = src + ".gguf";
  auto gc = convert_and_read(src, out);
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->yarn.factor, 4.0);
  EXPECT_EQ(gc->yarn.original_context, 32);
  EXPECT_EQ(gc->yarn.beta_fast, 16.0);
  EXPECT_EQ(gc->yarn.beta_slow, 1.0);
  EXPECT_NEAR(gc->yarn.attention_factor, 1.25, 1e-6);
  const auto with = logits(src, ids_);
  EXPECT_LT(rel(logits(out, ids_), with), 1e-6);
  c.yarn = RopeYarn{};
  ASSERT_TRUE(testing::write_tiny_checkpoint(dir_ + "/plain", c, DType::f32, 1, 79));
  EXPECT_GT(rel(logits(dir_ + "/plain", ids_), with), 1e-3);
}

TEST_F(GgufTest, QuantizedConversionsStayClose) {
  Glm4Config c = testing::tiny_config();
  const std::string src = dir_ + "/src";
  ASSERT_TRUE(testing::write_tiny_checkpoint(src, c, DType::f32, 1, 78));
  auto ref = logits(src, ids_);
  // Tolerances for a 2-layer random model whose every matrix (embedding too) is quantized; the kernels
  // themselves are checked exactly against the dequantized weights in kernels/matmul_test.cpp.
  for (auto [dt, tol] : {std::pair{DType::q8_0, 0.03}, std::pair{DType::q4_0, 0.4}, std::pair{DType::f16, 2e-3}}) {
    const std::string out = dir_ + "/m_" + std::string(kernels::dtype_name(dt)) + ".gguf";
    ASSERT_TRUE(convert_to_gguf(src, out, dt).ok());
    auto got = logits(out, ids_);
    ASSERT_EQ(got.size(), ref.size());
    double e = rel(got, ref);
    EXPECT_LT(e, tol) << kernels::dtype_name(dt);
    EXPECT_GT(e, 0.0) << kernels::dtype_name(dt) << " should differ from f32 at all";
    std::cerr << "[ info ] " << kernels::dtype_name(dt) << " max relative logit error " << e << "\n";
  }
  // A directory holding only the .gguf loads too.
  std::filesystem::create_directories(dir_ + "/only");
  std::filesystem::copy_file(dir_ + "/m_q8_0.gguf", dir_ + "/only/model.gguf");
  EXPECT_EQ(logits(dir_ + "/only", ids_), logits(dir_ + "/m_q8_0.gguf", ids_));
}

// Q4_K and Q6_K files are used in place (no re-encoding at load): logits stay close to f32, with exact (f32)
// and compact (int8) activations, in prefill (GEMM) and token-by-token decode alike.
TEST_F(GgufTest, KQuantFilesLoadNativelyAndStayClose) {
  Glm4Config c = testing::tiny_config();
  c.n_embd = 256;  // every row a whole number of 256-super-blocks
  c.n_ff = 512;
  c.head_dim = 64;
  const std::string src = dir_ + "/src";
  ASSERT_TRUE(testing::write_tiny_checkpoint(src, c, DType::f32, 1, 81));
  const std::vector<int32_t> ids = {4, 8, 15, 16, 23, 42, 90, 7, 3, 61};  // 10 tokens: the GEMM
  auto ref = logits(src, ids);
  // The 32-block types' errors on the same model are the yardstick: q4_k is a 4-bit code like q4_0, q6_k lies
  // between q4_0 and q8_0.
  std::map<DType, double> err;
  for (DType dt : {DType::q8_0, DType::q4_0}) {
    const std::string out = dir_ + "/m_" + std::string(kernels::dtype_name(dt)) + ".gguf";
    ASSERT_TRUE(convert_to_gguf(src, out, dt).ok());
    err[dt] = rel(logits(out, ids), ref);
  }
  const double tol_q4k = 1.5 * err[DType::q4_0], tol_q6k = 0.6 * err[DType::q4_0];
  for (auto [dt, tol] : {std::pair{DType::q4_k, tol_q4k}, std::pair{DType::q6_k, tol_q6k}}) {
    const std::string out = dir_ + "/m_" + std::string(kernels::dtype_name(dt)) + ".gguf";
    ASSERT_TRUE(convert_to_gguf(src, out, dt).ok());
    auto w = Glm4Weights::load(out);
    ASSERT_TRUE(w.ok()) << w.error().to_string();
    EXPECT_EQ(w->layer(1).w_down.dtype, dt);
    EXPECT_EQ(w->output().dtype, dt);
    for (bool exact : {true, false}) {
      EngineOptions opt;
      opt.exact_matmul = exact;
      auto e = open_cpu_engine(out, opt);
      ASSERT_TRUE(e.ok()) << e.error().to_string();
      const int64_t nv = (*e)->caps().n_vocab;
      std::vector<float> all(ids.size() * static_cast<size_t>(nv)), step(static_cast<size_t>(nv));
      SeqId a = *(*e)->create_sequence(), b = *(*e)->create_sequence();
      ASSERT_TRUE((*e)->prefill(a, ids, LogitsMode::all, all).ok());
      double e_ref = rel(all, ref), e_step = 0;
      for (size_t i = 0; i < ids.size(); ++i) {
        ASSERT_TRUE((*e)->prefill(b, std::span(&ids[i], 1), LogitsMode::last, step).ok());
        std::vector<float> row(all.begin() + int64_t(i) * nv, all.begin() + int64_t(i + 1) * nv);
        e_step = std::max(e_step, rel(step, row));
      }
      EXPECT_LT(e_ref, tol) << kernels::dtype_name(dt) << " exact " << exact;
      EXPECT_GT(e_ref, 0.0) << kernels::dtype_name(dt) << " should differ from f32 at all";
      // One token at a time against the whole prompt: exact activations agree to rounding; int8 ones are
      // quantized the same way in both but the GEMM and decode kernels sum in other orders.
      EXPECT_LT(e_step, exact ? 1e-5 : 1e-3) << kernels::dtype_name(dt) << " exact " << exact;
      std::cerr << "[ info ] " << kernels::dtype_name(dt) << (exact ? " exact" : " compact")
                << ": max relative logit error " << e_ref << " (q8_0 " << err[DType::q8_0] << ", q4_0 "
                << err[DType::q4_0] << "), decode vs prefill " << e_step << "\n";
    }
  }
}

TEST_F(GgufTest, FusedQkvEqualsSeparate) {
  Glm4Config c = testing::tiny_config();  // with q/k/v biases
  const std::string src = dir_ + "/src";
  ASSERT_TRUE(testing::write_tiny_checkpoint(src, c, DType::f32, 1, 80));
  ASSERT_TRUE(convert_to_gguf(src, dir_ + "/sep.gguf", std::nullopt).ok());
  // Rewrite with blk.N.attn_qkv = [q | k | v] (and the bias likewise).
  auto f = read_gguf(dir_ + "/sep.gguf");
  ASSERT_TRUE(f.ok());
  std::vector<GgufTensorOut> out;
  auto find = [&](const std::string& n) -> const GgufTensorInfo* {
    for (const auto& t : f->tensors)
      if (t.name == n) return &t;
    return nullptr;
  };
  for (const auto& t : f->tensors) {
    if (t.name.find(".attn_q.") != std::string::npos || t.name.find(".attn_k.") != std::string::npos ||
        t.name.find(".attn_v.") != std::string::npos)
      continue;
    out.push_back({t.name, DType::f32, t.shape, std::vector<uint8_t>(t.data, t.data + t.n_bytes)});
  }
  for (int il = 0; il < c.n_layer; ++il) {
    for (const char* kind : {"weight", "bias"}) {
      GgufTensorOut o;
      o.name = "blk." + std::to_string(il) + ".attn_qkv." + kind;
      o.dtype = DType::f32;
      int64_t rows = 0;
      for (const char* part : {"attn_q", "attn_k", "attn_v"}) {
        const GgufTensorInfo* t = find("blk." + std::to_string(il) + "." + part + "." + kind);
        ASSERT_NE(t, nullptr);
        o.bytes.insert(o.bytes.end(), t->data, t->data + t->n_bytes);
        rows += t->shape[0];
      }
      o.shape = std::string(kind) == "weight" ? std::vector<int64_t>{rows, c.n_embd} : std::vector<int64_t>{rows};
      out.push_back(std::move(o));
    }
  }
  ASSERT_TRUE(write_gguf(dir_ + "/fused.gguf", c, out).ok());
  EXPECT_EQ(logits(dir_ + "/fused.gguf", ids_), logits(dir_ + "/sep.gguf", ids_));
}

TEST_F(GgufTest, ConvertCarriesTheTokenizer) {
  Glm4Config c = testing::tiny_config();  // 96 rows
  const std::string src = dir_ + "/src";
  ASSERT_TRUE(testing::write_tiny_checkpoint(src, c, DType::bf16, 1, 81));
  nlohmann::json vocab = nlohmann::json::object();
  for (int i = 0; i < 90; ++i) vocab["t" + std::to_string(i)] = i;
  nlohmann::json tok = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"t1 t2", {"t3", "t4"}}}}},
                        {"added_tokens", {{{"id", 90}, {"content", "<|user|>"}, {"special", true}}}}};
  std::ofstream(src + "/tokenizer.json") << tok.dump();
  std::ofstream(src + "/tokenizer_config.json") << R"({"chat_template": "[gMASK]<sop>{{ x }}"})";
  ASSERT_TRUE(convert_to_gguf(src, dir_ + "/t.gguf", std::nullopt).ok());
  auto f = read_gguf(dir_ + "/t.gguf");
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  const auto& m = f->metadata;
  EXPECT_EQ(m.at("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(m.at("tokenizer.ggml.pre"), "glm4");
  ASSERT_EQ(m.at("tokenizer.ggml.tokens").size(), size_t(c.n_vocab));
  EXPECT_EQ(m.at("tokenizer.ggml.tokens")[7], "t7");
  EXPECT_EQ(m.at("tokenizer.ggml.tokens")[90], "<|user|>");
  EXPECT_EQ(m.at("tokenizer.ggml.tokens")[95], "[PAD95]");
  EXPECT_EQ(m.at("tokenizer.ggml.token_type")[7], 1);
  EXPECT_EQ(m.at("tokenizer.ggml.token_type")[90], 3);
  EXPECT_EQ(m.at("tokenizer.ggml.token_type")[95], 5);
  EXPECT_EQ(m.at("tokenizer.ggml.merges"), (nlohmann::json{"t1 t2", "t3 t4"}));
  EXPECT_EQ(m.at("tokenizer.chat_template"), "[gMASK]<sop>{{ x }}");
  // The weights still load from the same file.
  EXPECT_EQ(logits(dir_ + "/t.gguf", ids_), logits(src, ids_));
}

TEST_F(GgufTest, KQuantLayouts) {
  // Q6_K: one super-block, every quant = 33 (q - 32 = 1), scale j = j + 1, d = 0.5: y[i] = 0.5 * sc(i) * 1.
  std::vector<uint8_t> q6(210, 0);
  for (int i = 0; i < 128; ++i) q6[size_t(i)] = 0x11;            // low nibbles 1
  for (int i = 0; i < 64; ++i) q6[size_t(128 + i)] = 0xAA;       // high bits 2 -> 1 + 2*16 = 33
  for (int j = 0; j < 16; ++j) q6[size_t(192 + j)] = uint8_t(j + 1);
  uint16_t half = kernels::f32_to_f16(0.5f);
  std::memcpy(&q6[208], &half, 2);
  std::vector<float> y(256);
  dequantize_ggml_row(GgmlType::q6_k, q6.data(), y.data(), 256);
  for (int i = 0; i < 256; ++i) ASSERT_FLOAT_EQ(y[size_t(i)], 0.5f * float(i / 16 + 1)) << i;
  // Q4_K: d = 1, dmin = 0.25, sub-block j has scale j + 1 and min 2 (6-bit packed), quants 3 (low) / 5 (high).
  std::vector<uint8_t> q4(144, 0);
  uint16_t one = kernels::f32_to_f16(1.0f), quarter = kernels::f32_to_f16(0.25f);
  std::memcpy(&q4[0], &one, 2);
  std::memcpy(&q4[2], &quarter, 2);
  uint8_t* sc = &q4[4];
  for (int j = 0; j < 4; ++j) {
    sc[j] = uint8_t(j + 1);      // scale j
    sc[j + 4] = 2;               // min j
    sc[j + 8] = uint8_t((j + 5) | (2 << 4));  // scale j+4 (low 4 bits), min j+4 (low 4 bits)
  }
  for (int i = 0; i < 128; ++i) q4[size_t(16 + i)] = uint8_t(3 | (5 << 4));
  dequantize_ggml_row(GgmlType::q4_k, q4.data(), y.data(), 256);
  for (int i = 0; i < 256; ++i) {
    const int sub = i / 32;  // sub-blocks alternate low (even) / high (odd) nibbles
    const float q = sub % 2 == 0 ? 3.0f : 5.0f;
    ASSERT_FLOAT_EQ(y[size_t(i)], float(sub + 1) * q - 0.25f * 2) << i;
  }
}

TEST_F(GgufTest, Block32Layouts) {
  std::vector<float> y(32);
  uint16_t two = kernels::f32_to_f16(2.0f), half = kernels::f32_to_f16(0.5f);
  // Q4_1: x[j] = d * (qs[j] & 15) + m, x[j + 16] = d * (qs[j] >> 4) + m.
  std::vector<uint8_t> q41(20, 0);
  std::memcpy(&q41[0], &two, 2);
  std::memcpy(&q41[2], &half, 2);
  for (int j = 0; j < 16; ++j) q41[size_t(4 + j)] = uint8_t(j | ((15 - j) << 4));
  dequantize_ggml_row(GgmlType::q4_1, q41.data(), y.data(), 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_FLOAT_EQ(y[size_t(j)], 2.0f * float(j) + 0.5f);
    EXPECT_FLOAT_EQ(y[size_t(j + 16)], 2.0f * float(15 - j) + 0.5f);
  }
  // Q5_0: the fifth bit of element j is bit j of qh, of element j + 16 bit j + 16; x = d * (q - 16).
  std::vector<uint8_t> q50(22, 0);
  std::memcpy(&q50[0], &two, 2);
  uint32_t qh = 0x0001'0002;  // element 1 and element 16 get the high bit
  std::memcpy(&q50[2], &qh, 4);
  for (int j = 0; j < 16; ++j) q50[size_t(6 + j)] = 0x33;  // low nibbles 3 everywhere
  dequantize_ggml_row(GgmlType::q5_0, q50.data(), y.data(), 32);
  for (int j = 0; j < 32; ++j) {
    const int q = 3 + ((j == 1 || j == 16) ? 16 : 0);
    EXPECT_FLOAT_EQ(y[size_t(j)], 2.0f * float(q - 16)) << j;
  }
}

TEST_F(GgufTest, BadFilesAreErrors) {
  Glm4Config c = testing::tiny_config();
  const std::string src = dir_ + "/src";
  ASSERT_TRUE(testing::write_tiny_checkpoint(src, c, DType::bf16, 1, 79));
  const std::string good = dir_ + "/good.gguf";
  ASSERT_TRUE(convert_to_gguf(src, good, std::nullopt).ok());
  const auto size = std::filesystem::file_size(good);
  std::string bytes(size, '\0');
  std::ifstream(good, std::ios::binary).read(bytes.data(), std::streamsize(size));
  auto write = [&](const std::string& name, const std::string& b) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << b;
    return dir_ + "/" + name;
  };
  // Truncations at many points: each an error, never a crash.
  for (size_t cut : {size_t(3), size_t(10), size_t(100), size / 3, size / 2, size - 1}) {
    auto r = load_gguf_weights(write("cut.gguf", bytes.substr(0, cut)));
    ASSERT_FALSE(r.ok()) << cut;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument) << cut << ": " << r.error().message;
  }
  std::string bad = bytes;
  bad[0] = 'X';
  EXPECT_EQ(read_gguf(write("magic.gguf", bad)).error().code, ErrorCode::invalid_argument);
  bad = bytes;
  for (int i = 8; i < 16; ++i) bad[size_t(i)] = char(0xff);  // tensor count
  EXPECT_EQ(read_gguf(write("count.gguf", bad)).error().code, ErrorCode::invalid_argument);
  // Another architecture.
  auto w = Glm4Weights::load(src);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(write_gguf(dir_ + "/llama.gguf", c, {}, {{"general.architecture", "llama"}}).ok());
  auto f = read_gguf(dir_ + "/llama.gguf");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(glm4_config_from_gguf(*f).error().code, ErrorCode::unsupported);
  // Rope scaling other than YaRN, and YaRN without its factor.
  ASSERT_TRUE(write_gguf(dir_ + "/linear.gguf", c, {}, {{"glm4.rope.scaling.type", "linear"},
                                                        {"glm4.rope.scaling.factor", 2.0f}}).ok());
  f = read_gguf(dir_ + "/linear.gguf");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(glm4_config_from_gguf(*f).error().code, ErrorCode::unsupported);
  ASSERT_TRUE(write_gguf(dir_ + "/yarn.gguf", c, {}, {{"glm4.rope.scaling.type", "yarn"}}).ok());
  f = read_gguf(dir_ + "/yarn.gguf");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(glm4_config_from_gguf(*f).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(read_gguf(dir_ + "/none.gguf").error().code, ErrorCode::not_found);
}

}  // namespace
}  // namespace glm
