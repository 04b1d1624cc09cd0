// model/tensor_names.h — the GLM-4 tensors as one table: id, Hugging Face name, GGUF name.
//
// Both loaders (safetensors, GGUF) and the GGUF writer read names from here only. Per-layer names hold
// "{}" where the layer index goes. Threads: immutable data; any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace glm {

enum class TensorId {
  token_embd,      // [n_vocab, n_embd]
  output_norm,     // [n_embd]
  output,          // [n_vocab, n_embd] (absent when tie_word_embeddings)
  attn_norm,       // input_layernorm [n_embd]
  attn_q,          // [q_dim, n_embd]
  attn_q_bias,     // [q_dim]     (attention_bias only)
  attn_k,          // [kv_dim, n_embd]
  attn_k_bias,     // [kv_dim]
  attn_v,          // [kv_dim, n_embd]
  attn_v_bias,     // [kv_dim]
  attn_output,     // o_proj [n_embd, q_dim]
  post_attn_norm,  // post_self_attn_layernorm [n_embd] (on the attention OUTPUT)
  ffn_norm,        // post_attention_layernorm [n_embd] (the pre-MLP norm)
  ffn_gate_up,     // gate_up_proj [2 n_ff, n_embd]: rows [0, n_ff) gate, [n_ff, 2 n_ff) up
  ffn_down,        // down_proj [n_embd, n_ff]
  post_ffn_norm,   // post_mlp_layernorm [n_embd] (on the MLP OUTPUT)
  attn_qkv,        // optional fused [q_dim + 2 kv_dim, n_embd] = [q | k | v] rows, used when attn_q is absent
  attn_qkv_bias,   // [q_dim + 2 kv_dim]
};

struct TensorNameInfo {
  TensorId id;
  bool per_layer;
  std::string_view hf;    // e.g. "model.layers.{}.self_attn.q_proj.weight"
  std::string_view gguf;  // e.g. "blk.{}.attn_q.weight"
};

std::span<const TensorNameInfo> tensor_name_table();
const TensorNameInfo& tensor_name_info(TensorId id);

// Name of a tensor; layer is ignored for global tensors.
std::string hf_tensor_name(TensorId id, int layer = 0);
std::string gguf_tensor_name(TensorId id, int layer = 0);

}  // namespace glm
