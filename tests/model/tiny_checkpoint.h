// tests/model/tiny_checkpoint.h — writes small random GLM-4 checkpoints (config.json + safetensors, single
// or sharded) for tests, and runs the float64 PyTorch reference (scripts/glm4_reference.py) on them.
#pragma once

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "base/build_info.h"
#include "kernels/cpu/dtype.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "model/tensor_names.h"
#include "tests/test_util.h"

namespace glm::testing {

inline Glm4Config tiny_config() {
  Glm4Config c;
  c.n_vocab = 96;
  c.n_embd = 64;
  c.n_ff = 96;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_head_kv = 2;
  c.head_dim = 16;
  c.partial_rotary_factor = 0.5;
  c.n_rot = 8;
  c.rope_theta = 10000.0;
  c.rms_norm_eps = 1e-5f;
  c.attention_bias = true;
  c.max_position_embeddings = 128;
  c.eos_token_ids = {95};
  return c;
}

inline std::vector<uint8_t> encode_values(const std::vector<float>& v, kernels::DType dt) {
  std::vector<uint8_t> out(kernels::dtype_row_bytes(dt, int64_t(v.size())));
  kernels::quantize_row(dt, v.data(), out.data(), int64_t(v.size()));
  return out;
}

// Writes config.json and the weights of `c` into dir; returns false on an I/O error.
inline bool write_tiny_checkpoint(const std::string& dir, const Glm4Config& c, kernels::DType dt, int n_shards,
                                  uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<SafetensorsTensor> ts;
  auto add = [&](std::string name, std::vector<int64_t> shape, float mean, float scale) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = mean + scale * normal(rng);
    ts.push_back({std::move(name), dt, shape, encode_values(v, dt)});
  };
  const float ws = 0.15f;
  add(hf_tensor_name(TensorId::token_embd), {c.n_vocab, c.n_embd}, 0, 1.0f);
  add(hf_tensor_name(TensorId::output_norm), {c.n_embd}, 1, 0.1f);
  if (!c.tie_word_embeddings) add(hf_tensor_name(TensorId::output), {c.n_vocab, c.n_embd}, 0, ws);
  for (int il = 0; il < c.n_layer; ++il) {
    add(hf_tensor_name(TensorId::attn_norm, il), {c.n_embd}, 1, 0.1f);
    add(hf_tensor_name(TensorId::attn_q, il), {c.q_dim(), c.n_embd}, 0, ws);
    add(hf_tensor_name(TensorId::attn_k, il), {c.kv_dim(), c.n_embd}, 0, ws);
    add(hf_tensor_name(TensorId::attn_v, il), {c.kv_dim(), c.n_embd}, 0, ws);
    if (c.attention_bias) {
      add(hf_tensor_name(TensorId::attn_q_bias, il), {c.q_dim()}, 0, 0.2f);
      add(hf_tensor_name(TensorId::attn_k_bias, il), {c.kv_dim()}, 0, 0.2f);
      add(hf_tensor_name(TensorId::attn_v_bias, il), {c.kv_dim()}, 0, 0.2f);
    }
    add(hf_tensor_name(TensorId::attn_output, il), {c.n_embd, c.q_dim()}, 0, ws);
    add(hf_tensor_name(TensorId::post_attn_norm, il), {c.n_embd}, 1, 0.1f);
    add(hf_tensor_name(TensorId::ffn_norm, il), {c.n_embd}, 1, 0.1f);
    add(hf_tensor_name(TensorId::ffn_gate_up, il), {2 * c.n_ff, c.n_embd}, 0, ws);
    add(hf_tensor_name(TensorId::ffn_down, il), {c.n_embd, c.n_ff}, 0, ws);
    add(hf_tensor_name(TensorId::post_ffn_norm, il), {c.n_embd}, 1, 0.1f);
  }
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir + "/config.json");
    f << c.to_json();
    if (!f) return false;
  }
  return write_safetensors_dir(dir, ts, n_shards).ok();
}

inline std::string reference_script() { return std::string(GLM_SOURCE_DIR) + "/scripts/glm4_reference.py"; }

// Empty when the reference can run; otherwise why not (for GTEST_SKIP).
inline std::string reference_unavailable() {
  if (!std::filesystem::exists("/usr/bin/python3")) return "/usr/bin/python3 is absent";
  auto r = run_command("/usr/bin/python3 -c 'import torch, numpy' 2>&1");
  if (r.exit_code != 0) return "/usr/bin/python3 lacks torch or numpy (apt install python3-torch): " + r.out;
  return {};
}

// Runs the reference; fills logits[position][vocab]. Returns an error message or "".
inline std::string run_reference(const std::string& dir, const std::vector<int32_t>& ids,
                                 std::vector<std::vector<double>>* logits) {
  std::string csv;
  for (size_t i = 0; i < ids.size(); ++i) csv += (i ? "," : "") + std::to_string(ids[i]);
  std::string out = dir + "/reference_logits.json";
  std::string cmd = "/usr/bin/python3 " + reference_script() + " --model " + dir + " --ids " + csv + " --out " + out +
                    " 2>&1";
  auto r = run_command(cmd);
  if (r.exit_code != 0) return "reference failed (" + cmd + "): " + r.out;
  std::ifstream f(out);
  std::stringstream ss;
  ss << f.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) return "reference output is not JSON";
  *logits = j["logits"].get<std::vector<std::vector<double>>>();
  return {};
}

// max_i |a_i - b_i| / max_i |b_i| over one row.
inline double rel_error(const float* a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    num = std::max(num, std::fabs(double(a[i]) - b[i]));
    den = std::max(den, std::fabs(b[i]));
  }
  return den > 0 ? num / den : num;
}

}  // namespace glm::testing
