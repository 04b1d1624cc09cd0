#include "runtime/agent/session.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <optional>
#include <set>

namespace glm::agent {

namespace asio = boost::asio;
using ojson = nlohmann::ordered_json;

nlohmann::ordered_json RunResult::to_json() const {
  ojson j;
  j["status"] = status;
  if (!reason.empty()) j["reason"] = reason;
  j["answer"] = answer;
  j["steps"] = steps;
  j["tool_calls"] = tool_calls;
  j["tokens"] = {{"prompt", prompt_tokens}, {"cached", cached_tokens}, {"completion", completion_tokens}};
  j["duration_ms"] = duration_ms;
  return j;
}

std::string observation_text(const tools::ToolResult& r) {
  if (!r.ok) {
    ojson e;
    e["error"] = {{"kind", std::string(error_code_name(r.error.kind))}, {"message", r.error.message}};
    return e.dump(-1, ' ', false, ojson::error_handler_t::replace);
  }
  if (r.content.is_string()) return r.content.get<std::string>();
  return r.content.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {
size_t utf8_floor(const std::string& s, size_t at) {
  while (at > 0 && at < s.size() && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) --at;
  return at;
}
}  // namespace

std::string cap_output(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t head = utf8_floor(text, max_bytes * 2 / 3);
  size_t tail_start = utf8_floor(text, text.size() - max_bytes / 3);
  return text.substr(0, head) + "\n[truncated " + std::to_string(tail_start - head) + " bytes]\n" +
         text.substr(tail_start);
}

struct AgentSession::Impl {
  AgentSession* self = nullptr;
  std::weak_ptr<AgentSession> weak;
  asio::io_context& ioc;
  config::AgentConfig cfg;
  std::shared_ptr<const tools::ToolRegistry> registry;
  std::shared_ptr<TurnGenerator> generator;
  std::shared_ptr<Transcript> transcript;
  Approver approver;
  std::vector<chat::ToolSpec> tool_specs;
  std::map<std::string, const config::ToolConfig*> tool_cfg;

  std::function<void(RunResult)> done;
  RunResult result;
  bool finished = false;
  std::shared_ptr<std::atomic<bool>> cancel_flag = std::make_shared<std::atomic<bool>>(false);
  bool wall_expired = false;
  asio::steady_timer wall_timer;
  std::map<std::string, int> call_counts;
  int consecutive_errors = 0;
  int64_t last_prompt_tokens = 0;
  std::chrono::steady_clock::time_point start_time;

  // Plan strategy: a plan turn (JSON through the plan schema, no tools), one execution stretch per plan
  // step (the model answers each step in text when done), then the final answer. Re-plans on failure.
  enum class Phase { plan, execute, answer };
  Phase phase = Phase::answer;
  std::vector<std::string> plan_steps;
  size_t plan_index = 0;
  int replans = 0;
  static constexpr int kMaxReplans = 2;
  static constexpr const char* kPlanSchema =
      R"({"type":"object","properties":{"steps":{"type":"array","items":{"type":"string","minLength":1,)"
      R"("maxLength":200},"minItems":1,"maxItems":8}},"required":["steps"],"additionalProperties":false})";

  void ask_for_plan(const std::string& why) {
    phase = Phase::plan;
    messages().push_back(chat::Message::user(
        why + "Write a plan as JSON {\"steps\": [...]}: at most 8 short steps that solve the task with the tools."));
  }

  void ask_for_step() {
    messages().push_back(chat::Message::user("Step " + std::to_string(plan_index + 1) + " of " +
                                             std::to_string(plan_steps.size()) + ": " + plan_steps[plan_index]));
  }

  // A text turn during planning or execution; returns true when the session moved on.
  bool on_plan_text(const std::string& content) {
    if (phase == Phase::plan) {
      auto j = nlohmann::json::parse(content, nullptr, false);
      if (j.is_discarded() || !j.contains("steps") || !j["steps"].is_array() || j["steps"].empty()) return false;
      plan_steps.clear();
      for (const auto& st : j["steps"])
        if (st.is_string()) plan_steps.push_back(st.get<std::string>());
      if (plan_steps.empty()) return false;
      messages().push_back(chat::Message::assistant(content));
      transcript->emit("plan", result.steps, {{"steps", plan_steps}, {"replans", replans}});
      phase = Phase::execute;
      plan_index = 0;
      ask_for_step();
      return true;
    }
    messages().push_back(chat::Message::assistant(content));
    if (++plan_index < plan_steps.size()) {
      ask_for_step();
    } else {
      phase = Phase::answer;
      messages().push_back(chat::Message::user("All steps are done. Give the final answer to the task."));
    }
    return true;
  }

  Impl(asio::io_context& io, config::AgentConfig c) : ioc(io), cfg(std::move(c)), wall_timer(io) {}

  std::vector<chat::Message>& messages() { return self->messages_; }

  template <class F>
  void post(F&& f) {
    asio::post(ioc, [w = weak, f = std::forward<F>(f)]() mutable {
      if (auto s = w.lock()) f();
    });
  }

  void finish(std::string status, std::string reason, std::string answer = "") {
    if (finished) return;
    finished = true;
    wall_timer.cancel();
    cancel_flag->store(true);
    result.status = std::move(status);
    result.reason = std::move(reason);
    result.answer = std::move(answer);
    result.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                               start_time).count();
    ojson f = result.to_json();
    transcript->emit("result", result.steps, f);
    auto d = std::move(done);
    if (d) d(result);
  }

  // Budgets checked between operations.
  bool out_of_budget() {
    if (cancel_flag->load() && !wall_expired) { finish("cancelled", "cancelled"); return true; }
    if (wall_expired) { finish("budget_exhausted", "wall_time_s"); return true; }
    if (result.steps >= cfg.limits.max_steps) { finish("budget_exhausted", "max_steps"); return true; }
    if (result.completion_tokens >= cfg.limits.max_tokens) { finish("budget_exhausted", "max_tokens"); return true; }
    return false;
  }

  // Drops old observation contents when the prompt nears the window. Returns false when it cannot fit.
  bool apply_context_policy() {
    int64_t ctx = generator->context_tokens();
    if (ctx <= 0 || last_prompt_tokens == 0) return true;
    int64_t limit = static_cast<int64_t>(cfg.context_policy.threshold * static_cast<double>(ctx));
    // Estimate: the last prompt, what was generated since, and ~1 token per 3 bytes of new observations.
    int64_t estimate = last_prompt_tokens + pending_growth;
    if (estimate <= limit) return true;
    if (cfg.context_policy.mode == "fail") return false;
    // The system prompt, the task and every call stay; observations go oldest first, the newest last.
    auto& msgs = messages();
    int64_t freed = 0, dropped = 0;
    for (size_t i = 0; i < msgs.size() && estimate - freed > limit; ++i) {
      auto& m = msgs[i];
      if (m.role != chat::Role::observation || m.content.rfind("[dropped", 0) == 0) continue;
      int64_t bytes = static_cast<int64_t>(m.content.size());
      m.content = "[dropped " + std::to_string(bytes) + " bytes to fit the context]";
      freed += bytes / 3;
      ++dropped;
    }
    transcript->emit("context_compacted", result.steps,
                     {{"dropped_observations", dropped}, {"estimated_tokens", estimate}, {"limit", limit}});
    pending_growth -= freed;
    return estimate - freed <= limit;
  }
  int64_t pending_growth = 0;

  void step() {
    if (finished || out_of_budget()) return;
    if (!apply_context_policy()) {
      finish("failed", "context: the conversation no longer fits model.context (" +
                           std::to_string(generator->context_tokens()) + " tokens)");
      return;
    }
    result.steps += 1;
    transcript->emit("step_start", result.steps, {{"messages", messages().size()}});
    TurnRequest req;
    req.messages = messages();
    req.tools = cfg.tool_choice == "none" ? std::vector<chat::ToolSpec>{} : tool_specs;
    req.tool_choice = phase == Phase::plan ? "none" : phase == Phase::execute ? "auto" : cfg.tool_choice;
    req.parallel_tool_calls = cfg.parallel_tool_calls;
    if (phase == Phase::plan) req.output_schema = kPlanSchema;
    else if (phase == Phase::answer && cfg.output_schema) req.output_schema = cfg.output_schema->dump();
    req.max_tokens = std::min<int64_t>(cfg.limits.max_tokens - result.completion_tokens, 4096);
    req.sampling = cfg.model.sampling;
    req.cancel = cancel_flag;
    auto t0 = std::chrono::steady_clock::now();
    generator->generate(std::move(req), [w = weak, this, t0](Result<TurnResult> r) {
      if (!w.lock()) return;
      asio::post(ioc, [w, this, t0, r = std::move(r)]() mutable {
        if (auto s = w.lock()) on_turn(std::move(r), t0);
      });
    });
  }

  void on_turn(Result<TurnResult> r, std::chrono::steady_clock::time_point t0) {
    if (finished) return;
    if (!r) {
      const Error& e = r.error();
      transcript->emit("error", result.steps, {{"where", "model"}, {"error", e.to_string()}});
      if (e.code == ErrorCode::cancelled || cancel_flag->load()) { out_of_budget(); return; }
      finish("failed", "model: " + e.to_string());
      return;
    }
    TurnResult& t = r.value();
    result.prompt_tokens += t.prompt_tokens;
    result.cached_tokens += t.cached_tokens;
    result.completion_tokens += t.completion_tokens;
    last_prompt_tokens = t.prompt_tokens;
    pending_growth = t.completion_tokens;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    transcript->emit("model_turn", result.steps,
                     {{"raw", t.raw},
                      {"prompt_tokens", t.prompt_tokens},
                      {"cached_tokens", t.cached_tokens},
                      {"completion_tokens", t.completion_tokens},
                      {"seconds", secs},
                      {"tokens_per_s", secs > 0 ? static_cast<double>(t.completion_tokens) / secs : 0.0}});
    if (t.parse_error && result.completion_tokens >= cfg.limits.max_tokens) {
      // Cut off by the token budget mid-turn: that is the budget, not a malformed turn.
      finish("budget_exhausted", "max_tokens");
      return;
    }
    if (t.parse_error) {
      transcript->emit("error", result.steps, {{"where", "parse"}, {"error", t.parse_error->message}});
      messages().push_back(chat::Message::assistant(strip_stop(t.raw)));
      tools::ToolResult err = tools::ToolResult::failure(ErrorCode::invalid_argument, t.parse_error->message);
      messages().push_back(chat::Message::observation(observation_text(err)));
      if (++consecutive_errors >= cfg.limits.max_consecutive_errors) {
        finish("failed", "malformed model output " + std::to_string(consecutive_errors) + " times in a row");
        return;
      }
      post([this] { step(); });
      return;
    }
    if (t.turn.tool_calls.empty() && phase != Phase::answer) {
      if (!on_plan_text(t.turn.content)) {
        messages().push_back(chat::Message::assistant(t.turn.content));
        ask_for_plan("That was not a valid plan. ");
        if (++consecutive_errors >= cfg.limits.max_consecutive_errors) {
          finish("failed", "no valid plan after " + std::to_string(consecutive_errors) + " tries");
          return;
        }
      }
      post([this] { step(); });
      return;
    }
    if (t.turn.tool_calls.empty()) {
      if (cfg.tool_choice == "required" && !tool_specs.empty()) {
        messages().push_back(chat::Message::assistant(t.turn.content));
        messages().push_back(chat::Message::observation(observation_text(
            tools::ToolResult::failure(ErrorCode::invalid_argument, "a tool call is required (tool_choice required)"))));
        if (++consecutive_errors >= cfg.limits.max_consecutive_errors) {
          finish("failed", "the model answered without the required tool call");
          return;
        }
        post([this] { step(); });
        return;
      }
      if (t.turn.finish_reason == "length" && result.completion_tokens >= cfg.limits.max_tokens) {
        finish("budget_exhausted", "max_tokens", t.turn.content);
        return;
      }
      if (cfg.output_schema) {
        auto j = nlohmann::json::parse(t.turn.content, nullptr, false);
        Status st = j.is_discarded() ? Status(make_error(ErrorCode::invalid_argument, "the answer is not JSON"))
                                     : tools::check_arguments(nlohmann::json::parse(cfg.output_schema->dump()), j);
        if (!st) {
          finish("failed", "the answer does not follow output_schema: " + st.error().message, t.turn.content);
          return;
        }
      }
      messages().push_back(chat::Message::assistant(t.turn.content));
      finish("ok", "", t.turn.content);
      return;
    }
    run_calls(std::move(t.turn));
  }

  static std::string strip_stop(const std::string& raw) {
    std::string s = raw;
    for (const char* stop : {"<|observation|>", "<|user|>", "<|endoftext|>"})
      if (auto at = s.find(stop); at != std::string::npos) s.resize(at);
    return s;
  }

  struct Batch {
    std::vector<chat::ToolCall> calls;
    std::vector<std::optional<tools::ToolResult>> results;
    std::vector<std::unique_ptr<asio::steady_timer>> timers;
    std::vector<std::shared_ptr<std::atomic<bool>>> cancels;
    std::vector<std::chrono::steady_clock::time_point> started;
    size_t remaining = 0;
  };

  void run_calls(chat::Turn turn) {
    if (!cfg.parallel_tool_calls && turn.tool_calls.size() > 1) turn.tool_calls.resize(1);
    if (result.tool_calls + static_cast<int>(turn.tool_calls.size()) > cfg.limits.max_tool_calls) {
      finish("budget_exhausted", "max_tool_calls");
      return;
    }
    auto batch = std::make_shared<Batch>();
    batch->calls = std::move(turn.tool_calls);
    size_t n = batch->calls.size();
    batch->results.resize(n);
    batch->timers.resize(n);
    batch->cancels.resize(n);
    batch->started.resize(n, std::chrono::steady_clock::now());
    batch->remaining = n;
    messages().push_back(chat::Message::assistant(turn.content, batch->calls));
    for (size_t i = 0; i < n; ++i) start_call(batch, i);
  }

  void start_call(const std::shared_ptr<Batch>& batch, size_t i) {
    const chat::ToolCall& call = batch->calls[i];
    result.tool_calls += 1;
    auto args = nlohmann::json::parse(call.arguments, nullptr, false);
    transcript->emit("tool_call", result.steps, {{"index", i}, {"name", call.name}, {"arguments", call.arguments}});
    auto complete_now = [&](tools::ToolResult r) { post([this, batch, i, r = std::move(r)]() mutable { complete(batch, i, std::move(r)); }); };
    if (args.is_discarded() || !args.is_object()) {
      complete_now(tools::ToolResult::failure(ErrorCode::invalid_argument, "arguments are not a JSON object"));
      return;
    }
    std::string key = call.name + "\n" + args.dump();
    if (++call_counts[key] > cfg.limits.max_identical_calls) {
      complete_now(tools::ToolResult::failure(
          ErrorCode::forbidden, "the same call was already made " + std::to_string(cfg.limits.max_identical_calls) +
                                    " times; not executed again. Use the earlier results or try something else."));
      return;
    }
    auto tc = tool_cfg.find(call.name);
    bool side_effects = tc != tool_cfg.end() && tc->second->side_effects;
    bool needs_approval = cfg.approval == "always" || (cfg.approval == "side_effects" && side_effects);
    if (needs_approval && !(approver && approver(call, side_effects))) {
      complete_now(tools::ToolResult::failure(ErrorCode::forbidden, "the call to " + call.name +
                                                                        " needs approval and was not approved"));
      return;
    }
    double timeout_s = cfg.limits.tool_timeout_s;
    if (tc != tool_cfg.end() && tc->second->limits.timeout_s > 0) timeout_s = tc->second->limits.timeout_s;
    batch->cancels[i] = std::make_shared<std::atomic<bool>>(false);
    batch->timers[i] = std::make_unique<asio::steady_timer>(ioc);
    batch->timers[i]->expires_after(std::chrono::microseconds(static_cast<int64_t>(timeout_s * 1e6)));
    batch->timers[i]->async_wait([w = weak, this, batch, i, timeout_s](const boost::system::error_code& ec) {
      if (ec) return;
      auto s = w.lock();
      if (!s) return;
      batch->cancels[i]->store(true);
      complete(batch, i, tools::ToolResult::failure(ErrorCode::timeout, "the tool did not answer within " +
                                                                            std::to_string(timeout_s) + " s"));
    });
    // Tool and engine threads may finish after the session is gone: they post only while it lives.
    tools::Post post_fn = [w = weak, this](std::function<void()> fn) {
      if (!w.lock()) return;
      asio::post(ioc, [w, fn = std::move(fn)] { if (auto s = w.lock()) fn(); });
    };
    registry->dispatch(call.name, std::move(args), post_fn,
                       [w = weak, this, batch, i](tools::ToolResult r) {
                         if (auto s = w.lock()) complete(batch, i, std::move(r));
                       },
                       tools::CallContext{batch->cancels[i]});
  }

  // Runs on the loop thread; the first result for a call wins (a late answer after a timeout is dropped).
  void complete(const std::shared_ptr<Batch>& batch, size_t i, tools::ToolResult r) {
    if (batch->results[i]) return;
    if (batch->timers[i]) batch->timers[i]->cancel();
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - batch->started[i]).count();
    ojson ev = {{"index", i}, {"name", batch->calls[i].name}, {"ok", r.ok}, {"elapsed_ms", ms}};
    if (r.ok) ev["content"] = observation_text(r);
    else ev["error"] = {{"kind", std::string(error_code_name(r.error.kind))}, {"message", r.error.message}};
    transcript->emit("tool_result", result.steps, ev);
    batch->results[i] = std::move(r);
    if (--batch->remaining == 0) on_calls_done(batch);
  }

  void on_calls_done(const std::shared_ptr<Batch>& batch) {
    if (finished) return;
    bool any_ok = false;
    int64_t added = 0;
    for (auto& r : batch->results) {
      any_ok = any_ok || r->ok;
      std::string text = redact(observation_text(*r), cfg.secrets);
      text = cap_output(text, static_cast<size_t>(cfg.limits.max_tool_output_bytes));
      added += static_cast<int64_t>(text.size()) / 3 + 2;
      messages().push_back(chat::Message::observation(std::move(text)));
    }
    pending_growth += added;
    consecutive_errors = any_ok ? 0 : consecutive_errors + 1;
    if (phase == Phase::execute && consecutive_errors >= 2 && replans < kMaxReplans) {
      ++replans;
      consecutive_errors = 0;
      ask_for_plan("Step " + std::to_string(plan_index + 1) + " failed. ");
      post([this] { step(); });
      return;
    }
    if (consecutive_errors >= cfg.limits.max_consecutive_errors) {
      finish("failed", "tool calls failed " + std::to_string(consecutive_errors) + " steps in a row");
      return;
    }
    post([this] { step(); });
  }
};

std::shared_ptr<AgentSession> AgentSession::create(asio::io_context& ioc, config::AgentConfig cfg,
                                                   std::shared_ptr<const tools::ToolRegistry> registry,
                                                   std::shared_ptr<TurnGenerator> generator,
                                                   std::shared_ptr<Transcript> transcript, Approver approver) {
  std::shared_ptr<AgentSession> s(new AgentSession());
  s->impl_ = std::make_unique<Impl>(ioc, std::move(cfg));
  Impl& m = *s->impl_;
  m.self = s.get();
  m.weak = s;
  m.registry = std::move(registry);
  m.generator = std::move(generator);
  m.transcript = std::move(transcript);
  m.approver = std::move(approver);
  for (const auto& t : m.cfg.tools) m.tool_cfg[t.name] = &t;
  for (const auto& spec : m.registry->specs()) {
    nlohmann::ordered_json f;
    auto it = m.tool_cfg.find(spec.name);
    if (it != m.tool_cfg.end()) f = it->second->spec;  // the config's key order
    else f = {{"name", spec.name}, {"description", spec.description}, {"parameters", spec.parameters}};
    m.tool_specs.push_back(chat::ToolSpec{spec.name, f.dump()});
  }
  return s;
}

AgentSession::~AgentSession() = default;

void AgentSession::start(std::string task, std::function<void(RunResult)> done) {
  auto self = shared_from_this();
  asio::post(impl_->ioc, [self, task = std::move(task), done = std::move(done)]() mutable {
    Impl& m = *self->impl_;
    m.done = std::move(done);
    m.start_time = std::chrono::steady_clock::now();
    if (self->messages_.empty()) {
      if (!m.cfg.system.empty()) self->messages_.push_back(chat::Message::system(m.cfg.system));
    } else {
      // A follow-up turn of a conversation: budgets and guards start afresh, the history stays.
      m.finished = false;
      m.result = RunResult{};
      m.cancel_flag = std::make_shared<std::atomic<bool>>(false);
      m.wall_expired = false;
      m.call_counts.clear();
      m.consecutive_errors = 0;
      m.phase = Impl::Phase::answer;
    }
    self->messages_.push_back(chat::Message::user(task));
    ojson tools_list = ojson::array();
    for (const auto& t : m.tool_specs) tools_list.push_back(t.name);
    m.transcript->emit("run_start", 0,
                       {{"agent", m.cfg.name},
                        {"model", m.generator->describe()},
                        {"task", task},
                        {"tools", tools_list},
                        {"limits",
                         {{"max_steps", m.cfg.limits.max_steps},
                          {"max_tool_calls", m.cfg.limits.max_tool_calls},
                          {"max_tokens", m.cfg.limits.max_tokens},
                          {"wall_time_s", m.cfg.limits.wall_time_s}}}});
    if (m.cfg.strategy == "plan") m.ask_for_plan("");
    m.wall_timer.expires_after(std::chrono::microseconds(static_cast<int64_t>(m.cfg.limits.wall_time_s * 1e6)));
    m.wall_timer.async_wait([w = m.weak, &m](const boost::system::error_code& ec) {
      if (ec || !w.lock() || m.finished) return;
      m.wall_expired = true;
      m.cancel_flag->store(true);
      m.finish("budget_exhausted", "wall_time_s");
    });
    m.step();
  });
}

void AgentSession::cancel() {
  auto self = shared_from_this();
  impl_->cancel_flag->store(true);
  asio::post(impl_->ioc, [self] { self->impl_->finish("cancelled", "cancelled"); });
}

}  // namespace glm::agent
