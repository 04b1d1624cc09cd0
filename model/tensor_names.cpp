#include "model/tensor_names.h"

#include "base/error.h"

namespace glm {

namespace {
constexpr TensorNameInfo kTensorNames[] = {
    {TensorId::token_embd, false, "model.embed_tokens.weight", "token_embd.weight"},
    {TensorId::output_norm, false, "model.norm.weight", "output_norm.weight"},
    {TensorId::output, false, "lm_head.weight", "output.weight"},
    {TensorId::attn_norm, true, "model.layers.{}.input_layernorm.weight", "blk.{}.attn_norm.weight"},
    {TensorId::attn_q, true, "model.layers.{}.self_attn.q_proj.weight", "blk.{}.attn_q.weight"},
    {TensorId::attn_q_bias, true, "model.layers.{}.self_attn.q_proj.bias", "blk.{}.attn_q.bias"},
    {TensorId::attn_k, true, "model.layers.{}.self_attn.k_proj.weight", "blk.{}.attn_k.weight"},
    {TensorId::attn_k_bias, true, "model.layers.{}.self_attn.k_proj.bias", "blk.{}.attn_k.bias"},
    {TensorId::attn_v, true, "model.layers.{}.self_attn.v_proj.weight", "blk.{}.attn_v.weight"},
    {TensorId::attn_v_bias, true, "model.layers.{}.self_attn.v_proj.bias", "blk.{}.attn_v.bias"},
    {TensorId::attn_output, true, "model.layers.{}.self_attn.o_proj.weight", "blk.{}.attn_output.weight"},
    {TensorId::post_attn_norm, true, "model.layers.{}.post_self_attn_layernorm.weight",
     "blk.{}.post_attention_norm.weight"},
    {TensorId::ffn_norm, true, "model.layers.{}.post_attention_layernorm.weight", "blk.{}.ffn_norm.weight"},
    {TensorId::ffn_gate_up, true, "model.layers.{}.mlp.gate_up_proj.weight", "blk.{}.ffn_up.weight"},
    {TensorId::ffn_down, true, "model.layers.{}.mlp.down_proj.weight", "blk.{}.ffn_down.weight"},
    {TensorId::post_ffn_norm, true, "model.layers.{}.post_mlp_layernorm.weight", "blk.{}.post_ffw_norm.weight"},
    {TensorId::attn_qkv, true, "model.layers.{}.self_attn.query_key_value.weight", "blk.{}.attn_qkv.weight"},
    {TensorId::attn_qkv_bias, true, "model.layers.{}.self_attn.query_key_value.bias", "blk.{}.attn_qkv.bias"},
};

std::string fill(std::string_view pattern, int layer) {
  std::string s(pattern);
  if (auto p = s.find("{}"); p != std::string::npos) s.replace(p, 2, std::to_string(layer));
  return s;
}
}  // namespace

std::span<const TensorNameInfo> tensor_name_table() { return kTensorNames; }

const TensorNameInfo& tensor_name_info(TensorId id) {
  for (const auto& t : kTensorNames)
    if (t.id == id) return t;
  GLM_CHECK(false);
  __builtin_unreachable();
}

std::string hf_tensor_name(TensorId id, int layer) { return fill(tensor_name_info(id).hf, layer); }
std::string gguf_tensor_name(TensorId id, int layer) { return fill(tensor_name_info(id).gguf, layer); }

}  // namespace glm
