// runtime/agent/transcript.h — the JSONL event log of one agent run.
//
// Every event is one JSON object {"type", "seq", "run_id", "step", "t_ms", ...fields}, written in order to
// every sink (a --trace file, stdout for --output-format stream-json, memory for tests). Types: run_start,
// step_start, model_turn, tool_call, tool_result, context_compacted, error, result. Tool results are kept
// whole here even when the model saw a capped copy. Every secret value (and its URL and base64 encodings)
// is replaced by "[redacted]" before any sink sees the line.
// Threads: one thread at a time (the session's loop thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/redact.h"

namespace glm::agent {

using ::glm::redact;  // base/redact.h: secret values and their URL/base64 forms -> "[redacted]"

class Transcript {
 public:
  using Sink = std::function<void(const std::string& line)>;

  Transcript(std::string run_id, std::vector<std::string> secrets);

  void add_sink(Sink sink) { sinks_.push_back(std::move(sink)); }
  void emit(const std::string& type, int step, nlohmann::ordered_json fields = nlohmann::ordered_json::object());

  const std::string& run_id() const { return run_id_; }
  int64_t elapsed_ms() const;
  const std::vector<std::string>& secrets() const { return secrets_; }

 private:
  std::string run_id_;
  std::vector<std::string> secrets_;
  std::vector<Sink> sinks_;
  int64_t seq_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace glm::agent
