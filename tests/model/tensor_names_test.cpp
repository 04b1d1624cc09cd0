#include "model/tensor_names.h"

#include <gtest/gtest.h>

#include <set>

namespace glm {
namespace {

TEST(TensorNamesTest, TableIsCompleteAndUnique) {
  std::set<std::string> hf, gguf;
  int n = 0;
  for (const auto& t : tensor_name_table()) {
    ++n;
    EXPECT_TRUE(hf.insert(std::string(t.hf)).second) << t.hf;
    EXPECT_TRUE(gguf.insert(std::string(t.gguf)).second) << t.gguf;
    EXPECT_EQ(t.per_layer, t.hf.find("{}") != std::string_view::npos) << t.hf;
    EXPECT_EQ(t.per_layer, t.gguf.find("{}") != std::string_view::npos) << t.gguf;
    EXPECT_EQ(&tensor_name_info(t.id), &t);
  }
  EXPECT_EQ(n, int(TensorId::attn_qkv_bias) + 1);
}

TEST(TensorNamesTest, NamesFromTheReference) {
  EXPECT_EQ(hf_tensor_name(TensorId::ffn_gate_up, 7), "model.layers.7.mlp.gate_up_proj.weight");
  EXPECT_EQ(gguf_tensor_name(TensorId::ffn_gate_up, 7), "blk.7.ffn_up.weight");
  EXPECT_EQ(hf_tensor_name(TensorId::post_attn_norm, 0), "model.layers.0.post_self_attn_layernorm.weight");
  EXPECT_EQ(gguf_tensor_name(TensorId::post_attn_norm, 0), "blk.0.post_attention_norm.weight");
  EXPECT_EQ(gguf_tensor_name(TensorId::ffn_norm, 3), "blk.3.ffn_norm.weight");
  EXPECT_EQ(hf_tensor_name(TensorId::ffn_norm, 3), "model.layers.3.post_attention_layernorm.weight");
  EXPECT_EQ(gguf_tensor_name(TensorId::post_ffn_norm, 1), "blk.1.post_ffw_norm.weight");
  EXPECT_EQ(hf_tensor_name(TensorId::output), "lm_head.weight");
  EXPECT_EQ(gguf_tensor_name(TensorId::token_embd), "token_embd.weight");
}

}  // namespace
}  // namespace glm
