// runtime/agent/session.h — one agent run: the loop that asks the model for a turn, runs the tool calls,
// feeds the results back, and stops at an answer, a budget, an error or a cancel.
//
//   auto s = AgentSession::create(ioc, cfg, registry, generator, transcript);
//   s->start("What is 2+2?", [](RunResult r) { ... });   // completes once, on ioc's thread
//   ioc.run();
//
// Guards (config::Limits): max_steps, max_tool_calls, max_tokens (generated, whole run), wall_time_s
// (a timer; in-flight work is cancelled), per-tool timeout (tool limits or tool_timeout_s), identical calls
// (the (name, canonical args) pair past max_identical_calls is refused and the model told), malformed turns
// and failing tools (max_consecutive_errors in a row end the run), tool output capped to
// max_tool_output_bytes for the model (head + tail + "[truncated N bytes]"; the transcript keeps it whole),
// the context policy (old observations dropped when the prompt nears the window; never a silent overflow),
// and approval for side-effecting tools. Parallel calls run concurrently; results go back in call order.
// Owns: the conversation. Shares: registry, generator, transcript. Threads: everything runs on the
// io_context's thread(s) through posts; start() and cancel() may be called from any thread.
// Lifetime: the io_context must outlive the session and everything that completes into it (generators,
// tool worker pools): declare it first.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/agent/transcript.h"
#include "runtime/agent/turn_generator.h"
#include "runtime/config/agent_config.h"
#include "tools/registry.h"

namespace boost::asio {
class io_context;
}

namespace glm::agent {

struct RunResult {
  std::string status = "ok";  // ok | budget_exhausted | failed | cancelled
  std::string reason;         // why it stopped when not ok (e.g. "max_steps", "wall_time_s")
  std::string answer;
  int steps = 0;
  int tool_calls = 0;
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t duration_ms = 0;

  nlohmann::ordered_json to_json() const;
};

// Asked before a tool that needs approval runs (config "approval"); none given means refuse.
using Approver = std::function<bool(const chat::ToolCall& call, bool side_effects)>;

class AgentSession : public std::enable_shared_from_this<AgentSession> {
 public:
  static std::shared_ptr<AgentSession> create(boost::asio::io_context& ioc, config::AgentConfig cfg,
                                              std::shared_ptr<const tools::ToolRegistry> registry,
                                              std::shared_ptr<TurnGenerator> generator,
                                              std::shared_ptr<Transcript> transcript, Approver approver = nullptr);
  ~AgentSession();

  // Runs one task. Called again after `done`, it continues the conversation with a new user turn (chat).
  void start(std::string task, std::function<void(RunResult)> done);
  void cancel();

  const std::vector<chat::Message>& messages() const { return messages_; }

  struct Impl;

 private:
  AgentSession() = default;
  std::unique_ptr<Impl> impl_;
  std::vector<chat::Message> messages_;
  friend struct Impl;
};

// The observation text for one tool result (agents/README.md): text as is, JSON compact, errors as
// {"error":{"kind","message"}}.
std::string observation_text(const tools::ToolResult& r);
// Caps text to max_bytes: head + "\n[truncated N bytes]\n" + tail, cut on UTF-8 boundaries.
std::string cap_output(const std::string& text, size_t max_bytes);

}  // namespace glm::agent
