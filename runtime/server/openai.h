// runtime/server/openai.h — the OpenAI HTTP API mapped onto TurnRequest / TurnResult (reference/agents.md §4).
//
//   auto call = parse_chat_request(body, limits);          // ChatCall or an ApiError (400 with param)
//   TurnStreamer s(call->stop);                            // on the engine thread, per generated token:
//   s.feed(bytes, special, &deltas);                       //   content / tool-call deltas, stop strings
//   chat_completion_json(call, result, s, ids)             // the final chat.completion object
//
// GLM-4 mapping: tool_choice auto|none|required as is; a named tool restricts the tools to that one and
// makes the call required. response_format json_object / json_schema become the answer's output_schema
// (always enforced by the grammar, strict or not). `stop` strings end the text answer: the streamer
// watches the decoded text and asks the engine to stop as soon as one appears (the text before it is
// kept; it is never sent). Call arguments are not checked for stop strings (they are grammar-bound JSON).
// Threads: pure functions; a TurnStreamer is used by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/agent/turn_generator.h"
#include "runtime/server/http.h"

namespace glm::server {

struct RequestLimits {
  int64_t max_tokens = 4096;      // the most a request may ask for (and the default)
};

struct ChatCall {
  agent::TurnRequest turn;        // messages, tools, tool_choice, schema, sampling, max_tokens
  std::string model;              // as the client named it (echoed back)
  bool stream = false;
  bool include_usage = false;     // stream_options.include_usage
  std::vector<std::string> stop;
};

// Parses and checks a /v1/chat/completions body. Errors: 400 naming the offending parameter.
std::variant<ChatCall, ApiError> parse_chat_request(std::string_view body, const RequestLimits& limits);
// Parses a /v1/completions body: prompt is a string (or an array of one string).
std::variant<ChatCall, ApiError> parse_completion_request(std::string_view body, const RequestLimits& limits);

// "chatcmpl-…", "call_…", "cmpl-…": a prefix plus random letters and digits.
std::string random_id(std::string_view prefix, size_t n_chars = 24);

// Turns the generated tokens of one GLM-4 turn into OpenAI deltas as they arrive.
class TurnStreamer {
 public:
  struct Delta {
    enum Kind { content, call_start, call_arguments } kind = content;
    int index = 0;                // tool call index (call_start / call_arguments)
    std::string text;             // content or an arguments fragment
    std::string id, name;         // call_start
  };
  struct Call {
    std::string id, name, arguments;
  };

  // raw: the turn is plain text (/v1/completions), no GLM-4 turn structure.
  explicit TurnStreamer(std::vector<std::string> stop, bool raw = false);
  // One generated token. Appends the deltas it completes; returns false when a stop string ended the
  // text (the engine should stop).
  bool feed(std::string_view bytes, bool special, std::vector<Delta>* out);
  // The end of the turn: releases text held back (an incomplete UTF-8 sequence or a stop-string prefix).
  void finish(std::vector<Delta>* out);

  bool stopped_by_string() const { return stopped_; }
  const std::string& content() const { return content_; }
  const std::vector<Call>& calls() const { return calls_; }

 private:
  void emit_text(bool final, std::vector<Delta>* out);
  void emit_args(bool final, std::vector<Delta>* out);

  std::vector<std::string> stop_;
  bool raw_ = false;
  enum class Mode { start, text, name, args, done } mode_ = Mode::start;
  bool stopped_ = false;
  int n_text_chunks_ = 0;
  std::string pending_;           // text or arguments not yet emitted
  std::string name_;
  std::string content_;           // every content byte emitted so far
  std::vector<Call> calls_;
};

// The chat.completion object. finish_reason: "tool_calls" iff calls were parsed, "stop" at a stop token
// or stop string, "length" at the token budget (or a turn cut off mid-call).
nlohmann::ordered_json chat_completion_json(const ChatCall& call, const agent::TurnResult& result,
                                            const TurnStreamer& streamer, const std::string& id, int64_t created);
std::string finish_reason_of(const agent::TurnResult& result, const TurnStreamer& streamer);
nlohmann::ordered_json usage_json(const agent::TurnResult& result);
// One chat.completion.chunk with the given choices[0] delta (and finish_reason, when not empty).
nlohmann::ordered_json chat_chunk_json(const std::string& id, int64_t created, const std::string& model,
                                       nlohmann::ordered_json delta, const std::string& finish_reason);
// A streamer delta as an OpenAI chunk delta object.
nlohmann::ordered_json delta_json(const TurnStreamer::Delta& d);
// "data: <json>\n\n".
std::string sse_event(const nlohmann::ordered_json& j);

}  // namespace glm::server
