// tests/runtime/tiny_model.h — a tiny random GLM-4 model and a byte-level GLM-4 tokenizer, built in memory,
// for tests that need the embedded engine without a checkpoint (the same recipe as
// engine_generator_test.cpp). With a random model every token still goes through the turn grammar, so tool
// calls and schema answers are well formed. Header-only: tests/CMakeLists.txt compiles only *_test.cpp.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "base/build_info.h"
#include "model/cpu/cpu_engine.h"
#include "model/tokenizer.h"
#include "model/weights.h"
#include "runtime/agent/engine_generator.h"

namespace glm::testing {

// 256 byte tokens, three merges, and GLM-4's special tokens (ids 259..268), as tokenizer.json text.
inline std::string tiny_glm_tokenizer_json() {
  nlohmann::json vocab = nlohmann::json::object();
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    uint32_t cp = printable ? b : 256 + extra++;
    std::string s;
    if (cp < 0x80) s += char(cp);
    else { s += char(0xC0 | (cp >> 6)); s += char(0x80 | (cp & 0x3F)); }
    vocab[s] = b;
  }
  vocab["tr"] = 256;
  vocab["ue"] = 257;
  vocab["true"] = 258;
  nlohmann::json added = nlohmann::json::array();
  for (const char* t : {"<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
                        "<|assistant|>", "<|observation|>"})
    added.push_back({{"content", t}, {"special", true}});
  const char* regex =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
      "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  nlohmann::json j = {
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
      {"added_tokens", added},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"t r", "u e", "tr ue"}}}}};
  return j.dump();
}

inline Tokenizer tiny_glm_tokenizer() { return std::move(Tokenizer::from_json(tiny_glm_tokenizer_json(), "tiny").value()); }

// A 2-layer, 64-wide random GLM-4 behind an EngineGenerator. Throws std::runtime_error on failure.
inline std::shared_ptr<agent::EngineGenerator> tiny_generator(int64_t context = 2048, uint64_t seed = 7) {
  Glm4Config cfg;
  cfg.n_vocab = 288;  // padded past the tokenizer's 269 ids, as real checkpoints are
  cfg.n_embd = 64;
  cfg.n_ff = 96;
  cfg.n_layer = 2;
  cfg.n_head = 4;
  cfg.n_head_kv = 2;
  cfg.head_dim = 16;
  cfg.n_rot = 8;
  cfg.partial_rotary_factor = 0.5;
  cfg.max_position_embeddings = context;
  auto w = Glm4Weights::random(cfg, kernels::DType::f32, seed, nullptr);
  EngineOptions eo;
  eo.n_threads = 1;
  auto engine = make_cpu_engine(std::move(w), eo);
  if (!engine.ok()) throw std::runtime_error(engine.error().to_string());
  auto g = agent::EngineGenerator::create(std::move(engine).value(), tiny_glm_tokenizer(), "tiny", {});
  if (!g.ok()) throw std::runtime_error(g.error().to_string());
  return *g;
}

// The shipped demo checkpoint (model/demo, or $GLM_DEMO_MODEL) behind an EngineGenerator, loaded as the CLI
// loads any model folder. Throws std::runtime_error on failure.
inline std::shared_ptr<agent::EngineGenerator> demo_generator(int n_threads = 2) {
  const char* env = std::getenv("GLM_DEMO_MODEL");
  std::string dir = env ? env : std::string(GLM_SOURCE_DIR) + "/model/demo";
  auto g = agent::EngineGenerator::open(dir, agent::EngineGeneratorOptions{.n_threads = n_threads, .context = 2048});
  if (!g.ok()) throw std::runtime_error(g.error().to_string());
  return *g;
}

}  // namespace glm::testing
