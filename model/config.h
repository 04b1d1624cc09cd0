// model/config.h — the hyperparameters of a Glm4ForCausalLM checkpoint (HF config.json or GGUF metadata).
//
// Every field that changes the math is read from the file; absent fields take transformers' Glm4Config
// defaults (which are NOT the released checkpoints' values: reference/glm4.md §1 "Traps").
// Threads: plain value. Errors: parse() returns invalid_argument (bad JSON, bad or inconsistent values)
// or unsupported (an architecture other than Glm4ForCausalLM, rope_scaling other than YaRN, a non-SiLU
// activation);
// load() adds not_found / io for the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace glm {

// rope_scaling of type "yarn" (reference/glm4.md §2.4): the rotary frequencies blend interpolation by `factor`
// (slow dims) with the original ones (fast dims) over a ramp set by beta_fast/beta_slow rotations within the
// original context; cos and sin are multiplied by attention_factor. factor 1 is no scaling. `factor` is taken
// as written, as vLLM and llama.cpp do (transformers 4.5x instead derives it from max_position_embeddings /
// original_max_position_embeddings when both are given; GLM-4's README sets factor 4 with 32768 for both).
struct RopeYarn {
  double factor = 1.0;
  int64_t original_context = 0;  // original_max_position_embeddings (default max_position_embeddings)
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double attention_factor = 1.0;  // given, or 0.1·ln(factor) + 1 (mscale / mscale_all_dim variant too)
  bool truncate = true;           // round the ramp's ends to whole dims
  bool on() const { return factor != 1.0; }
  // 0.1·ln(factor) + 1 (1 for factor <= 1): the attention factor when the file gives none.
  static double default_attention_factor(double factor);
};

struct Glm4Config {
  int64_t n_vocab = 151552;          // vocab_size
  int64_t n_embd = 4096;             // hidden_size
  int64_t n_ff = 13696;              // intermediate_size (gate_up has 2·n_ff rows)
  int n_layer = 40;                  // num_hidden_layers
  int n_head = 32;                   // num_attention_heads
  int n_head_kv = 2;                 // num_key_value_heads
  int head_dim = 128;                // head_dim (default hidden_size / num_attention_heads)
  double partial_rotary_factor = 0.5;
  int n_rot = 64;                    // head_dim · partial_rotary_factor: leading dims rotated, adjacent pairs
  double rope_theta = 10000.0;
  float rms_norm_eps = 1e-5f;
  bool attention_bias = true;        // q/k/v biases (never o_proj, never the MLP)
  bool tie_word_embeddings = false;  // lm_head = embed_tokens
  int64_t max_position_embeddings = 32768;
  RopeYarn yarn;                       // rope_scaling (off unless the file asks)
  std::vector<int32_t> eos_token_ids;  // generation stops at any of these
  int32_t pad_token_id = -1;
  std::string torch_dtype;             // informational ("bfloat16")

  int64_t q_dim() const { return int64_t(n_head) * head_dim; }
  int64_t kv_dim() const { return int64_t(n_head_kv) * head_dim; }
  // Longest sequence the model is meant for: max_position_embeddings, or original_context · factor under YaRN
  // when that is longer (vLLM's rule).
  int64_t context_length() const;
  // Number of parameters (weights and biases, lm_head counted unless tied).
  int64_t n_params() const;

  // Checks internal consistency (positive sizes, n_head % n_head_kv, even n_rot <= head_dim).
  Status validate() const;

  // Parses config.json text; `source` names the file in messages.
  static Result<Glm4Config> parse(std::string_view json_text, const std::string& source = "config.json");
  // Reads DIR/config.json.
  static Result<Glm4Config> load(const std::string& model_dir);
  // Writes config.json text that parse() reads back to an equal config.
  std::string to_json() const;
};

}  // namespace glm
