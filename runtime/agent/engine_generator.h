// runtime/agent/engine_generator.h — the embedded engine as a TurnGenerator: grammar-constrained,
// continuously batched across sessions, with a KV prefix cache.
//
// One engine thread owns the Engine. generate() renders nothing itself: it queues the request. The thread
// renders the prompt (chat::render), finds the cached sequence sharing the longest prefix (agents resend the
// same prompt plus one step; sessions of one agent share the system prompt and tools block), prefills the
// rest, then decodes every active sequence in one batched step per token: logits -> grammar mask
// (grammars/turn_grammar.h, compiled once per tool set) -> sampler -> matcher.advance. A sequence ends
// at a stop token (<|observation|>, <|user|>, <|endoftext|>), at its token budget or on cancel; its KV
// goes back to the prefix cache and the parsed turn is handed to `done`.
// Owns: the engine, its thread, the prefix cache. Shares: the tokenizer. Threads: generate() from any
// thread; `done` runs on the engine thread (callers post to their own executor). The destructor finishes
// queued requests with `cancelled` and joins the thread.
// Errors: open(): the model loader's errors, invalid_argument when the tokenizer is not a GLM-4 chat
// tokenizer. Per request: output (the prompt does not fit the context), invalid_argument (a tool schema the
// grammar engine refuses), cancelled, and the engine's errors.
#pragma once

#include <memory>
#include <string>

#include "base/error.h"
#include "model/engine.h"
#include "model/tokenizer.h"
#include "runtime/agent/turn_generator.h"

namespace glm::agent {

struct EngineGeneratorOptions {
  int n_threads = 0;               // engine worker threads; <= 0: all
  int64_t context = 0;             // <= 0: the engine's max_seq_len (the model's context length)
  int max_batch = 16;              // sequences decoded together
  size_t prefix_cache_entries = 8;
  bool constrain = true;           // grammar-constrained decoding (off only for diagnosis)
};

struct EngineStats {
  int64_t requests = 0;
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;
  int64_t generated_tokens = 0;
  int64_t active = 0;
  int64_t queued = 0;
  int64_t kv_sequences = 0;  // sequences holding KV: decoding now or kept in the prefix cache
  int64_t kv_tokens = 0;     // tokens those sequences hold
  int64_t kv_bytes = 0;      // their KV memory (K and V, every layer, fp32 on the CPU backend)
};

class EngineGenerator : public TurnGenerator {
 public:
  static Result<std::shared_ptr<EngineGenerator>> open(const std::string& model_dir, const EngineGeneratorOptions& opt);
  static Result<std::shared_ptr<EngineGenerator>> create(std::unique_ptr<Engine> engine, Tokenizer tokenizer,
                                                         std::string description, const EngineGeneratorOptions& opt);
  ~EngineGenerator() override;

  void generate(TurnRequest request, TurnDone done) override;
  int64_t context_tokens() const override;
  std::string describe() const override;
  EngineStats stats() const;
  const Tokenizer& tokenizer() const;

  struct Impl;

 private:
  EngineGenerator() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace glm::agent
