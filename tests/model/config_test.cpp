#include "model/config.h"

#include <gtest/gtest.h>

#include <cmath>

namespace glm {
namespace {

constexpr const char* k9B = R"({
  "architectures": ["Glm4ForCausalLM"], "model_type": "glm4", "attention_bias": true, "attention_dropout": 0.0,
  "eos_token_id": [151329, 151336, 151338], "head_dim": 128, "hidden_act": "silu", "hidden_size": 4096,
  "initializer_range": 0.02, "intermediate_size": 13696, "max_position_embeddings": 32768,
  "num_attention_heads": 32, "num_hidden_layers": 40, "num_key_value_heads": 2, "pad_token_id": 151329,
  "partial_rotary_factor": 0.5, "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "tie_word_embeddings": false,
  "torch_dtype": "bfloat16", "transformers_version": "4.51.3", "use_cache": true, "vocab_size": 151552})";

TEST(ConfigTest, ParsesGlm4_9B) {
  auto c = Glm4Config::parse(k9B);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->n_embd, 4096);
  EXPECT_EQ(c->n_ff, 13696);
  EXPECT_EQ(c->n_layer, 40);
  EXPECT_EQ(c->n_head, 32);
  EXPECT_EQ(c->n_head_kv, 2);
  EXPECT_EQ(c->head_dim, 128);
  EXPECT_EQ(c->n_rot, 64);
  EXPECT_TRUE(c->attention_bias);
  EXPECT_FALSE(c->tie_word_embeddings);
  EXPECT_FLOAT_EQ(c->rms_norm_eps, 1e-5f);
  EXPECT_EQ(c->eos_token_ids, (std::vector<int32_t>{151329, 151336, 151338}));
  EXPECT_EQ(c->n_params(), 9400279040LL);  // reference/glm4.md §3
}

TEST(ConfigTest, ParamCountOf32B) {
  std::string j = k9B;
  auto set = [&](const std::string& key, const std::string& v) {
    auto p = j.find("\"" + key + "\": ");
    auto e = j.find_first_of(",}", p);
    j.replace(p, e - p, "\"" + key + "\": " + v);
  };
  set("hidden_size", "6144");
  set("intermediate_size", "23040");
  set("num_hidden_layers", "61");
  set("num_attention_heads", "48");
  set("attention_bias", "false");
  auto c = Glm4Config::parse(j);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->n_params(), 32566081536LL);
}

TEST(ConfigTest, DefaultsAreTransformersDefaults) {
  auto c = Glm4Config::parse(
      R"({"architectures": ["Glm4ForCausalLM"], "hidden_size": 64, "intermediate_size": 96,
          "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 151552})");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->head_dim, 16);
  EXPECT_EQ(c->n_head_kv, 4);
  EXPECT_EQ(c->n_rot, 8);
  EXPECT_FLOAT_EQ(c->rms_norm_eps, 1.5625e-07f);
  EXPECT_TRUE(c->attention_bias);
  EXPECT_EQ(c->max_position_embeddings, 131072);
}

TEST(ConfigTest, RoundTripsThroughJson) {
  auto c = Glm4Config::parse(k9B);
  ASSERT_TRUE(c.ok());
  auto d = Glm4Config::parse(c->to_json());
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->to_json(), c->to_json());
}

// GLM-4's README: rope_scaling {type yarn, factor 4, original_max_position_embeddings 32768} for 128K contexts.
TEST(ConfigTest, ReadsYarnRopeScaling) {
  const std::string base = R"({"architectures": ["Glm4ForCausalLM"], "hidden_size": 64, "intermediate_size": 96,
      "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 100, "max_position_embeddings": 32768, )";
  auto c = Glm4Config::parse(base + R"("rope_scaling": {"type": "yarn", "factor": 4.0,
      "original_max_position_embeddings": 32768}})");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_TRUE(c->yarn.on());
  EXPECT_EQ(c->yarn.factor, 4.0);
  EXPECT_EQ(c->yarn.original_context, 32768);
  EXPECT_EQ(c->yarn.beta_fast, 32.0);
  EXPECT_EQ(c->yarn.beta_slow, 1.0);
  EXPECT_DOUBLE_EQ(c->yarn.attention_factor, 0.1 * std::log(4.0) + 1.0);
  EXPECT_EQ(c->context_length(), 131072);  // original · factor, as vLLM
  auto d = Glm4Config::parse(c->to_json());
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->to_json(), c->to_json());

  auto e = Glm4Config::parse(base + R"("rope_scaling": {"rope_type": "yarn", "factor": 2, "attention_factor": 1.5,
      "beta_fast": 16, "beta_slow": 2}})");
  ASSERT_TRUE(e.ok()) << e.error().to_string();
  EXPECT_EQ(e->yarn.original_context, 32768);  // defaults to max_position_embeddings
  EXPECT_EQ(e->yarn.attention_factor, 1.5);
  EXPECT_EQ(e->yarn.beta_fast, 16.0);
  EXPECT_EQ(e->context_length(), 65536);
  auto m = Glm4Config::parse(base + R"("rope_scaling": {"type": "yarn", "factor": 4, "mscale": 2,
      "mscale_all_dim": 1}})");
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m->yarn.attention_factor, (0.2 * std::log(4.0) + 1) / (0.1 * std::log(4.0) + 1));
  auto none = Glm4Config::parse(base + R"("rope_scaling": {"rope_type": "default"}})");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->yarn.on());
  EXPECT_EQ(none->context_length(), 32768);
}

TEST(ConfigTest, RefusesOtherArchitectures) {
  auto c = Glm4Config::parse(R"({"architectures": ["ChatGLMModel"], "hidden_size": 4096})");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::unsupported);
  EXPECT_NE(c.error().message.find("ChatGLMModel"), std::string::npos);
  auto m = Glm4Config::parse(R"({"architectures": ["Glm4MoeForCausalLM"], "model_type": "glm4_moe"})");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::unsupported);
  EXPECT_EQ(Glm4Config::parse("{}").error().code, ErrorCode::unsupported);
}

TEST(ConfigTest, RejectsBadValues) {
  const std::string base = R"({"architectures": ["Glm4ForCausalLM"], "hidden_size": 64, "intermediate_size": 96,
      "num_hidden_layers": 1, "vocab_size": 100, )";
  auto err = [&](const std::string& tail) { return Glm4Config::parse(base + tail); };
  EXPECT_EQ(err(R"("num_attention_heads": 4, "num_key_value_heads": 3})").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(err(R"("num_attention_heads": 4, "partial_rotary_factor": 0.35})").error().code,
            ErrorCode::invalid_argument);  // int(16 * 0.35) = 5 rotary dims: odd
  EXPECT_EQ(err(R"("num_attention_heads": "4"})").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(err(R"("num_attention_heads": 4, "rope_scaling": {"type": "linear", "factor": 4.0}})").error().code,
            ErrorCode::unsupported);
  EXPECT_EQ(err(R"("num_attention_heads": 4, "rope_scaling": {"type": "yarn"}})").error().code,
            ErrorCode::invalid_argument);  // no factor
  EXPECT_EQ(err(R"("num_attention_heads": 4, "rope_scaling": {"type": "yarn", "factor": 0.5}})").error().code,
            ErrorCode::invalid_argument);
  EXPECT_EQ(err(R"("num_attention_heads": 4, "rope_scaling": {"type": "yarn", "factor": "4"}})").error().code,
            ErrorCode::invalid_argument);
  EXPECT_EQ(err(R"("num_attention_heads": 4, "hidden_act": "gelu"})").error().code, ErrorCode::unsupported);
  EXPECT_EQ(err(R"("num_attention_heads": 4, "eos_token_id": 100})").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(err(R"("num_attention_heads": 0})").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(Glm4Config::parse("not json").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(Glm4Config::load("/nonexistent-dir").error().code, ErrorCode::not_found);
}

}  // namespace
}  // namespace glm
