// runtime/agent/openai_generator.h — a TurnGenerator over any OpenAI-compatible server (vLLM, SGLang,
// llama.cpp server, glm-agent serve), so an agent runs unchanged on a model served elsewhere.
//
// Each turn is one POST {url}/chat/completions: the conversation in OpenAI's shape (calls get ids
// call_<m>_<k>; each observation answers the next pending id), the tools, tool_choice,
// parallel_tool_calls, sampling, max_tokens, and, with an answer schema, response_format json_schema (strict)
// so the server constrains the answer. The reply's message becomes the turn; arguments that are not a JSON
// object become a parse error the agent reports to the model (schema checks happen at dispatch).
// Owns: a worker pool running the blocking libcurl calls. Threads: generate() from any thread; `done` runs on a
// pool thread. Cancellation: the transfer is aborted when the request's cancel flag is set.
// Errors: unavailable (connection failed, HTTP 5xx/429), invalid_argument (HTTP 4xx, a reply that is not
// chat.completion JSON), cancelled, timeout (request_timeout_s).
#pragma once

#include <memory>
#include <string>

#include "runtime/agent/turn_generator.h"

namespace glm::agent {

struct OpenAIOptions {
  std::string url;         // base URL ending in /v1 (…/chat/completions is appended)
  std::string api_key;     // sent as Authorization: Bearer; empty: none
  std::string model_name;  // the "model" field
  int64_t context = 0;     // the server model's window, for the context policy (0: unknown)
  double request_timeout_s = 300;
};

class OpenAIGenerator : public TurnGenerator {
 public:
  explicit OpenAIGenerator(OpenAIOptions opt);
  ~OpenAIGenerator() override;

  void generate(TurnRequest request, TurnDone done) override;
  int64_t context_tokens() const override { return opt_.context; }
  std::string describe() const override { return "openai:" + opt_.url; }

  // The request body for a turn (exposed for tests).
  static std::string request_body(const TurnRequest& r, const std::string& model_name);
  // A chat.completion reply -> TurnResult.
  static Result<TurnResult> parse_reply(const std::string& body);

 private:
  struct Pool;
  OpenAIOptions opt_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace glm::agent
