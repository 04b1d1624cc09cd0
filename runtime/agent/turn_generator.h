// runtime/agent/turn_generator.h — what an agent asks of a model: the next assistant turn.
//
// A TurnGenerator turns (messages, tools, constraints) into one assistant turn: a text answer or tool calls.
// Implementations: EngineGenerator (the embedded engine, grammar-constrained, batched across sessions on the
// engine thread), an OpenAI-compatible client, and ScriptedGenerator (fixed completions, for tests).
// Threads: generate() may be called from any thread and never blocks; `done` runs exactly once, on any
// thread (the caller posts it to its own executor). Many generate() calls may be in flight at once.
// Errors: a failed generation completes with an Error (unavailable, cancelled, output when the prompt does
// not fit the context, internal); a completion that does not parse is not an Error: it comes back with
// parse_error set and the raw text, so the agent can tell the model.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "model/chat.h"
#include "runtime/config/agent_config.h"

namespace glm::agent {

struct TurnRequest {
  std::vector<chat::Message> messages;
  std::vector<chat::ToolSpec> tools;
  std::string tool_choice = "auto";       // auto | required | none
  bool parallel_tool_calls = true;
  std::optional<std::string> output_schema;  // JSON Schema text the final answer must follow
  int64_t max_tokens = 1024;              // for this turn
  config::SamplingConfig sampling;
  std::shared_ptr<const std::atomic<bool>> cancel;
  // --- Server hooks (runtime/server): streaming and raw prompts. ---
  // Called on the engine thread with each generated token's bytes (special tokens spelled out, e.g.
  // "<|assistant|>", with special = true), before the turn ends, including the final stop token. Return
  // false to end the turn there (as at a stop token: the result is a normal TurnResult). Must not block.
  std::function<bool(std::string_view bytes, bool special)> on_token;
  // When set, the prompt is this text with special-token strings matched (a caller-formatted prompt, as
  // /v1/completions takes it): messages, tools and output_schema are ignored, decoding is unconstrained,
  // and the turn is not parsed (turn.content = the decoded text before any stop token).
  std::optional<std::string> raw_prompt;
};

struct TurnResult {
  chat::Turn turn;                        // valid when !parse_error
  std::optional<Error> parse_error;
  std::string raw;                        // the completion, special tokens spelled out
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;              // prompt tokens served from the KV prefix cache
  int64_t completion_tokens = 0;
  double seconds = 0;
};

using TurnDone = std::function<void(Result<TurnResult>)>;

class TurnGenerator {
 public:
  virtual ~TurnGenerator() = default;
  virtual void generate(TurnRequest request, TurnDone done) = 0;
  // The context window in tokens (for the context policy); 0 when unknown.
  virtual int64_t context_tokens() const = 0;
  // A short description for transcripts ("cpu:model/demo", "openai:http://...", "scripted").
  virtual std::string describe() const = 0;
};

}  // namespace glm::agent
