#include "model/config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "base/mapped_file.h"

namespace glm {

namespace {
using json = nlohmann::json;

Error bad(const std::string& source, const std::string& msg) {
  return make_error(ErrorCode::invalid_argument, source + ": " + msg);
}

// Reads an integer field; absent → fallback. Wrong type → error.
Status get_int(const json& j, const char* key, int64_t* out, int64_t fallback, const std::string& src,
               bool required = false) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return bad(src, std::string("missing required field '") + key + "'");
    *out = fallback;
    return {};
  }
  if (!it->is_number_integer()) return bad(src, std::string("field '") + key + "' must be an integer");
  *out = it->get<int64_t>();
  return {};
}

Status get_double(const json& j, const char* key, double* out, double fallback, const std::string& src) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    *out = fallback;
    return {};
  }
  if (!it->is_number()) return bad(src, std::string("field '") + key + "' must be a number");
  *out = it->get<double>();
  return {};
}

Status get_bool(const json& j, const char* key, bool* out, bool fallback, const std::string& src) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    *out = fallback;
    return {};
  }
  if (!it->is_boolean()) return bad(src, std::string("field '") + key + "' must be true or false");
  *out = it->get<bool>();
  return {};
}
}  // namespace

int64_t Glm4Config::n_params() const {
  int64_t per_layer = q_dim() * n_embd + 2 * kv_dim() * n_embd + n_embd * q_dim() + 2 * n_ff * n_embd +
                      n_embd * n_ff + 4 * n_embd;
  if (attention_bias) per_layer += q_dim() + 2 * kv_dim();
  int64_t total = per_layer * n_layer + n_vocab * n_embd + n_embd;
  if (!tie_word_embeddings) total += n_vocab * n_embd;
  return total;
}

namespace {
// YaRN's attention scale (transformers' get_mscale).
double yarn_mscale(double factor, double m) { return factor <= 1 ? 1.0 : 0.1 * m * std::log(factor) + 1.0; }
}  // namespace

double RopeYarn::default_attention_factor(double factor) { return yarn_mscale(factor, 1.0); }

int64_t Glm4Config::context_length() const {
  if (!yarn.on()) return max_position_embeddings;
  const double scaled = double(yarn.original_context) * yarn.factor;
  return scaled > double(max_position_embeddings) ? int64_t(scaled) : max_position_embeddings;
}

namespace {
Status validate_as(const Glm4Config& c, const std::string& src) {
  const auto& [n_vocab, n_embd, n_ff, n_layer, n_head, n_head_kv, head_dim, partial_rotary_factor, n_rot, rope_theta,
               rms_norm_eps, attention_bias, tie, max_position_embeddings, yarn, eos_token_ids, pad, dt] = c;
  if (n_vocab <= 0 || n_embd <= 0 || n_ff <= 0 || n_layer <= 0 || n_head <= 0 || n_head_kv <= 0 || head_dim <= 0)
    return bad(src, "sizes must be positive (vocab_size, hidden_size, intermediate_size, num_hidden_layers, "
                    "num_attention_heads, num_key_value_heads, head_dim)");
  if (n_head % n_head_kv != 0)
    return bad(src, "num_attention_heads (" + std::to_string(n_head) + ") is not a multiple of num_key_value_heads (" +
                        std::to_string(n_head_kv) + ")");
  if (n_rot < 0 || n_rot > head_dim || n_rot % 2 != 0)
    return bad(src, "rotary dims head_dim * partial_rotary_factor = " + std::to_string(n_rot) +
                        " must be even and at most head_dim " + std::to_string(head_dim));
  if (!(rms_norm_eps > 0) || !std::isfinite(rms_norm_eps)) return bad(src, "rms_norm_eps must be positive");
  if (!(rope_theta > 0) || !std::isfinite(rope_theta)) return bad(src, "rope_theta must be positive");
  if (max_position_embeddings <= 0) return bad(src, "max_position_embeddings must be positive");
  if (yarn.on()) {
    if (!(yarn.factor >= 1) || !std::isfinite(yarn.factor) || yarn.factor > 1024)
      return bad(src, "rope_scaling.factor must be in [1, 1024]");
    if (yarn.original_context <= 0) return bad(src, "rope_scaling.original_max_position_embeddings must be positive");
    if (!(yarn.beta_fast > 0) || !(yarn.beta_slow > 0) || !std::isfinite(yarn.beta_fast) ||
        !std::isfinite(yarn.beta_slow))
      return bad(src, "rope_scaling.beta_fast and beta_slow must be positive");
    if (!(yarn.attention_factor > 0) || !std::isfinite(yarn.attention_factor))
      return bad(src, "rope_scaling.attention_factor must be positive");
  }
  for (int32_t id : eos_token_ids)
    if (id < 0 || id >= n_vocab) return bad(src, "eos_token_id " + std::to_string(id) + " is outside the vocabulary");
  // Sizes that would overflow the engine's int indexing.
  if (n_embd > (1 << 20) || n_ff > (1 << 22) || n_vocab > (1 << 24) || n_layer > 4096 || n_head > 4096)
    return bad(src, "sizes are implausibly large");
  return {};
}
}  // namespace

Status Glm4Config::validate() const { return validate_as(*this, "config"); }

namespace {
Status parse_rope_scaling(const json& rs, Glm4Config& c, const std::string& src) {
  if (!rs.is_object()) return bad(src, "rope_scaling must be an object or null");
  std::string type;
  for (const char* key : {"rope_type", "type"})
    if (auto t = rs.find(key); t != rs.end() && t->is_string()) {
      type = t->get<std::string>();
      break;
    }
  if (type == "default") return {};
  if (type != "yarn")
    return make_error(ErrorCode::unsupported, src + ": rope_scaling type '" + type +
                                                  "' is not supported (GLM-4 uses \"yarn\", or none)");
  RopeYarn& y = c.yarn;
  if (auto f = rs.find("factor"); f == rs.end() || !f->is_number())
    return bad(src, "rope_scaling.factor (a number) is required for yarn");
  GLM_TRY(get_double(rs, "factor", &y.factor, 1.0, src));
  GLM_TRY(get_int(rs, "original_max_position_embeddings", &y.original_context, c.max_position_embeddings, src));
  double beta;
  GLM_TRY(get_double(rs, "beta_fast", &beta, 32.0, src));  // transformers: `or 32`, so 0 means the default too
  y.beta_fast = beta == 0 ? 32.0 : beta;
  GLM_TRY(get_double(rs, "beta_slow", &beta, 1.0, src));
  y.beta_slow = beta == 0 ? 1.0 : beta;
  GLM_TRY(get_bool(rs, "truncate", &y.truncate, true, src));
  double af, ms, ms_all;
  GLM_TRY(get_double(rs, "attention_factor", &af, 0.0, src));
  GLM_TRY(get_double(rs, "mscale", &ms, 0.0, src));
  GLM_TRY(get_double(rs, "mscale_all_dim", &ms_all, 0.0, src));
  if (af != 0)
    y.attention_factor = af;
  else if (ms != 0 && ms_all != 0)
    y.attention_factor = yarn_mscale(y.factor, ms) / yarn_mscale(y.factor, ms_all);
  else
    y.attention_factor = RopeYarn::default_attention_factor(y.factor);
  return {};
}
}  // namespace

Result<Glm4Config> Glm4Config::parse(std::string_view text, const std::string& src) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad(src, "not valid JSON");
  if (!j.is_object()) return bad(src, "expected a JSON object");

  // Architecture: refuse anything but Glm4ForCausalLM (ChatGLM's GLM-4-9B-chat, GLM-4.5 MoE, ... differ).
  bool arch_ok = false;
  std::string arch_seen;
  if (auto it = j.find("architectures"); it != j.end() && it->is_array()) {
    for (const auto& a : *it) {
      if (!a.is_string()) continue;
      if (!arch_seen.empty()) arch_seen += ", ";
      arch_seen += a.get<std::string>();
      if (a.get<std::string>() == "Glm4ForCausalLM") arch_ok = true;
    }
  } else if (auto mt = j.find("model_type"); mt != j.end() && mt->is_string()) {
    arch_seen = "model_type " + mt->get<std::string>();
    arch_ok = mt->get<std::string>() == "glm4";
  }
  if (!arch_ok)
    return make_error(ErrorCode::unsupported,
                      src + ": unsupported architecture '" + (arch_seen.empty() ? "(none given)" : arch_seen) +
                          "': glm-agent runs Glm4ForCausalLM (GLM-4-0414, model_type glm4) only");
  if (auto mt = j.find("model_type"); mt != j.end() && mt->is_string() && mt->get<std::string>() != "glm4")
    return make_error(ErrorCode::unsupported,
                      src + ": model_type '" + mt->get<std::string>() + "' is not glm4");

  Glm4Config c;
  int64_t v;
  GLM_TRY(get_int(j, "vocab_size", &c.n_vocab, 151552, src));
  GLM_TRY(get_int(j, "hidden_size", &c.n_embd, 4096, src, true));
  GLM_TRY(get_int(j, "intermediate_size", &c.n_ff, 13696, src, true));
  GLM_TRY(get_int(j, "num_hidden_layers", &v, 40, src, true));
  c.n_layer = int(v);
  GLM_TRY(get_int(j, "num_attention_heads", &v, 32, src, true));
  c.n_head = int(v);
  GLM_TRY(get_int(j, "num_key_value_heads", &v, c.n_head, src));
  c.n_head_kv = int(v);
  if (c.n_head <= 0) return bad(src, "num_attention_heads must be positive");
  GLM_TRY(get_int(j, "head_dim", &v, c.n_embd / c.n_head, src));
  c.head_dim = int(v);
  GLM_TRY(get_double(j, "partial_rotary_factor", &c.partial_rotary_factor, 0.5, src));
  if (!(c.partial_rotary_factor >= 0 && c.partial_rotary_factor <= 1))
    return bad(src, "partial_rotary_factor must be in [0, 1]");
  c.n_rot = int(double(c.head_dim) * c.partial_rotary_factor);  // transformers: int(head_dim * factor)
  GLM_TRY(get_double(j, "rope_theta", &c.rope_theta, 10000.0, src));
  double eps;
  GLM_TRY(get_double(j, "rms_norm_eps", &eps, 1.5625e-07, src));
  c.rms_norm_eps = float(eps);
  GLM_TRY(get_bool(j, "attention_bias", &c.attention_bias, true, src));
  GLM_TRY(get_bool(j, "tie_word_embeddings", &c.tie_word_embeddings, false, src));
  GLM_TRY(get_int(j, "max_position_embeddings", &c.max_position_embeddings, 131072, src));
  GLM_TRY(get_int(j, "pad_token_id", &v, -1, src));
  c.pad_token_id = int32_t(v);

  if (auto it = j.find("eos_token_id"); it != j.end() && !it->is_null()) {
    if (it->is_number_integer()) {
      c.eos_token_ids.push_back(it->get<int32_t>());
    } else if (it->is_array()) {
      for (const auto& e : *it) {
        if (!e.is_number_integer()) return bad(src, "eos_token_id must be an integer or a list of integers");
        c.eos_token_ids.push_back(e.get<int32_t>());
      }
    } else {
      return bad(src, "eos_token_id must be an integer or a list of integers");
    }
  } else {
    c.eos_token_ids = {151329, 151336, 151338};  // Glm4Config default (reference/glm4.md §1)
    std::erase_if(c.eos_token_ids, [&](int32_t id) { return id >= c.n_vocab; });
  }

  if (auto it = j.find("hidden_act"); it != j.end() && !it->is_null()) {
    if (!it->is_string() || it->get<std::string>() != "silu")
      return make_error(ErrorCode::unsupported, src + ": hidden_act must be \"silu\"");
  }
  if (auto it = j.find("rope_scaling"); it != j.end() && !it->is_null())
    GLM_TRY(parse_rope_scaling(*it, c, src));
  if (auto it = j.find("torch_dtype"); it != j.end() && it->is_string()) c.torch_dtype = it->get<std::string>();

  GLM_TRY(validate_as(c, src));
  return c;
}

Result<Glm4Config> Glm4Config::load(const std::string& model_dir) {
  std::string path = model_dir + "/config.json";
  auto text = read_text_file(path);
  if (!text) return text.take_error();
  return parse(*text, path);
}

std::string Glm4Config::to_json() const {
  json j;
  j["architectures"] = {"Glm4ForCausalLM"};
  j["model_type"] = "glm4";
  j["vocab_size"] = n_vocab;
  j["hidden_size"] = n_embd;
  j["intermediate_size"] = n_ff;
  j["num_hidden_layers"] = n_layer;
  j["num_attention_heads"] = n_head;
  j["num_key_value_heads"] = n_head_kv;
  j["head_dim"] = head_dim;
  j["partial_rotary_factor"] = partial_rotary_factor;
  j["rope_theta"] = rope_theta;
  j["rms_norm_eps"] = double(rms_norm_eps);
  j["attention_bias"] = attention_bias;
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["max_position_embeddings"] = max_position_embeddings;
  j["eos_token_id"] = eos_token_ids;
  if (pad_token_id >= 0) j["pad_token_id"] = pad_token_id;
  j["hidden_act"] = "silu";
  if (yarn.on()) {
    j["rope_scaling"] = {{"rope_type", "yarn"},
                         {"factor", yarn.factor},
                         {"original_max_position_embeddings", yarn.original_context},
                         {"beta_fast", yarn.beta_fast},
                         {"beta_slow", yarn.beta_slow},
                         {"attention_factor", yarn.attention_factor},
                         {"truncate", yarn.truncate}};
  } else {
    j["rope_scaling"] = nullptr;
  }
  if (!torch_dtype.empty()) j["torch_dtype"] = torch_dtype;
  return j.dump(2);
}

}  // namespace glm
