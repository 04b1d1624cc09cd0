#include "runtime/agent/session.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <mutex>
#include <thread>

#include "base/utf8.h"
#include "runtime/agent/scripted_generator.h"

namespace glm::agent {
namespace {

using tools::Json;
using tools::ToolResult;

// Threads a test tool starts; joined when the registry (and so the tool) goes, before the io_context does.
struct Threads {
  std::mutex mu;
  std::vector<std::thread> all;
  void start(std::function<void()> f) {
    std::lock_guard<std::mutex> l(mu);
    all.emplace_back(std::move(f));
  }
  ~Threads() {
    for (auto& t : all) {
      // A running call keeps its tool alive, so the last owner may be one of these threads.
      if (t.get_id() == std::this_thread::get_id()) t.detach();
      else t.join();
    }
  }
};

class FnTool : public tools::Tool {
 public:
  FnTool(std::string name, std::function<void(Json, tools::Completion)> fn)
      : spec_{std::move(name), "test tool", Json{{"type", "object"}}}, fn_(std::move(fn)) {}
  const tools::ToolSpec& spec() const override { return spec_; }
  void invoke(Json args, tools::CallContext, tools::Completion done) override { fn_(std::move(args), std::move(done)); }

 private:
  tools::ToolSpec spec_;
  std::function<void(Json, tools::Completion)> fn_;
};

std::shared_ptr<tools::ToolRegistry> test_registry() {
  auto reg = std::make_shared<tools::ToolRegistry>();
  (void)reg->add(std::make_shared<FnTool>("echo", [](Json a, tools::Completion d) { d(ToolResult::success(a)); }));
  (void)reg->add(std::make_shared<FnTool>("fail", [](Json, tools::Completion d) {
    d(ToolResult::failure(ErrorCode::runtime, "it broke"));
  }));
  auto threads = std::make_shared<Threads>();
  (void)reg->add(std::make_shared<FnTool>("sleep", [threads](Json a, tools::Completion d) {
    int ms = a.value("ms", 0);
    threads->start([ms, d] {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      d(ToolResult::success("slept " + std::to_string(ms)));
    });
  }));
  (void)reg->add(std::make_shared<FnTool>("big", [](Json, tools::Completion d) {
    d(ToolResult::success(std::string(10000, 'x')));
  }));
  return reg;
}

config::AgentConfig test_config() {
  config::AgentConfig cfg;
  cfg.name = "test";
  cfg.system = "sys";
  for (const char* n : {"echo", "fail", "sleep", "big"}) {
    config::ToolConfig t;
    t.type = "builtin";
    t.name = n;
    t.spec = {{"name", n}, {"description", "test tool"}, {"parameters", {{"type", "object"}}}};
    cfg.tools.push_back(t);
  }
  return cfg;
}

struct Run {
  RunResult result;
  std::vector<nlohmann::json> events;
  std::vector<chat::Message> messages;
};

Run run_agent(std::vector<std::string> script, config::AgentConfig cfg = test_config(), Approver approver = nullptr,
              int64_t context = 4096) {
  boost::asio::io_context ioc;
  auto gen = std::make_shared<ScriptedGenerator>(std::move(script), context);
  auto transcript = std::make_shared<Transcript>("run-1", cfg.secrets);
  Run out;
  transcript->add_sink([&](const std::string& line) { out.events.push_back(nlohmann::json::parse(line)); });
  auto s = AgentSession::create(ioc, cfg, test_registry(), gen, transcript, approver);
  bool done = false;
  s->start("the task", [&](RunResult r) {
    out.result = r;
    done = true;
  });
  ioc.run();
  EXPECT_TRUE(done);
  out.messages = s->messages();
  return out;
}

std::vector<std::string> types(const Run& r) {
  std::vector<std::string> t;
  for (const auto& e : r.events) t.push_back(e["type"]);
  return t;
}

TEST(AgentSession, CallThenAnswer) {
  auto r = run_agent({"echo\n{\"x\": 1}<|observation|>", "\nThe answer is 1.<|user|>"});
  EXPECT_EQ(r.result.status, "ok");
  EXPECT_EQ(r.result.answer, "The answer is 1.");
  EXPECT_EQ(r.result.steps, 2);
  EXPECT_EQ(r.result.tool_calls, 1);
  EXPECT_EQ(types(r), (std::vector<std::string>{"run_start", "step_start", "model_turn", "tool_call", "tool_result",
                                                "step_start", "model_turn", "result"}));
  ASSERT_EQ(r.messages.size(), 5u);  // system, user, assistant call, observation, answer
  EXPECT_EQ(r.messages[3].role, chat::Role::observation);
  EXPECT_EQ(r.messages[3].content, "{\"x\":1}");
  EXPECT_EQ(r.events.back()["status"], "ok");
  for (size_t i = 0; i < r.events.size(); ++i) EXPECT_EQ(r.events[i]["seq"], i);
}

TEST(AgentSession, ParallelCallsReturnInCallOrder) {
  auto r = run_agent({"sleep\n{\"ms\": 80}<|assistant|>echo\n{\"y\": 2}<|observation|>", "\ndone<|user|>"});
  EXPECT_EQ(r.result.status, "ok");
  ASSERT_GE(r.messages.size(), 5u);
  EXPECT_EQ(r.messages[3].content, "slept 80");
  EXPECT_EQ(r.messages[4].content, "{\"y\":2}");
  // The fast call finished first, yet its observation comes second.
  int echo_seq = -1, sleep_seq = -1;
  for (const auto& e : r.events)
    if (e["type"] == "tool_result") (e["name"] == "echo" ? echo_seq : sleep_seq) = e["seq"];
  EXPECT_LT(echo_seq, sleep_seq);
}

TEST(AgentSession, MalformedTurnIsToldToTheModelThenRecovered) {
  auto r = run_agent({"echo {broken<|observation|>", "\nok now<|user|>"});
  EXPECT_EQ(r.result.status, "ok");
  ASSERT_EQ(r.messages.size(), 5u);
  EXPECT_NE(r.messages[3].content.find("invalid_argument"), std::string::npos) << r.messages[3].content;
}

TEST(AgentSession, TooManyMalformedTurnsFail) {
  auto r = run_agent({"x {<|observation|>", "y {<|observation|>", "z {<|observation|>"});
  EXPECT_EQ(r.result.status, "failed");
  EXPECT_NE(r.result.reason.find("malformed"), std::string::npos);
}

TEST(AgentSession, ToolErrorsAndUnknownToolsBecomeObservations) {
  auto r = run_agent({"fail\n{}<|assistant|>nosuch\n{}<|observation|>", "\ngave up<|user|>"});
  EXPECT_EQ(r.result.status, "ok");
  EXPECT_EQ(r.messages[3].content, "{\"error\":{\"kind\":\"runtime\",\"message\":\"it broke\"}}");
  EXPECT_NE(r.messages[4].content.find("not_found"), std::string::npos) << r.messages[4].content;
}

TEST(AgentSession, ToolTimeout) {
  auto cfg = test_config();
  cfg.limits.tool_timeout_s = 0.05;
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_agent({"sleep\n{\"ms\": 400}<|observation|>", "\nslow tool<|user|>"}, cfg);
  EXPECT_EQ(r.result.status, "ok");
  EXPECT_NE(r.messages[3].content.find("\"kind\":\"timeout\""), std::string::npos) << r.messages[3].content;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(350));
}

TEST(AgentSession, IdenticalCallsAreRefusedPastTheLimit) {
  std::string call = "echo\n{\"same\": true}<|observation|>";
  auto r = run_agent({call, call, call, "\nstop<|user|>"});
  EXPECT_EQ(r.result.status, "ok");
  std::string third = r.messages[7].content;
  EXPECT_NE(third.find("forbidden"), std::string::npos) << third;
  EXPECT_NE(third.find("already made 2 times"), std::string::npos) << third;
}

TEST(AgentSession, StepBudget) {
  auto cfg = test_config();
  cfg.limits.max_steps = 2;
  auto r = run_agent({"echo\n{\"a\":1}<|observation|>", "echo\n{\"a\":2}<|observation|>", "echo\n{\"a\":3}<|observation|>"}, cfg);
  EXPECT_EQ(r.result.status, "budget_exhausted");
  EXPECT_EQ(r.result.reason, "max_steps");
  EXPECT_EQ(r.result.steps, 2);
}

TEST(AgentSession, WallClockBudgetCancelsInFlightWork) {
  auto cfg = test_config();
  cfg.limits.wall_time_s = 0.1;
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_agent({"!sleep 2000\n\nnever<|user|>"}, cfg);
  EXPECT_EQ(r.result.status, "budget_exhausted");
  EXPECT_EQ(r.result.reason, "wall_time_s");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1500));
}

TEST(AgentSession, ApprovalForSideEffects) {
  auto cfg = test_config();
  cfg.approval = "side_effects";
  cfg.tools[0].side_effects = true;  // echo
  auto refused = run_agent({"echo\n{}<|observation|>", "\nok<|user|>"}, cfg);
  EXPECT_NE(refused.messages[3].content.find("needs approval"), std::string::npos);
  auto allowed = run_agent({"echo\n{}<|observation|>", "\nok<|user|>"}, cfg,
                           [](const chat::ToolCall& c, bool side) { return side && c.name == "echo"; });
  EXPECT_EQ(allowed.messages[3].content, "{}");
}

TEST(AgentSession, OutputCapKeepsHeadAndTailForTheModelAndAllInTheTranscript) {
  auto cfg = test_config();
  cfg.limits.max_tool_output_bytes = 300;
  auto r = run_agent({"big\n{}<|observation|>", "\nok<|user|>"}, cfg);
  EXPECT_LT(r.messages[3].content.size(), 400u);
  EXPECT_NE(r.messages[3].content.find("[truncated 9700 bytes]"), std::string::npos) << r.messages[3].content;
  for (const auto& e : r.events)
    if (e["type"] == "tool_result") EXPECT_EQ(e["content"].get<std::string>().size(), 10000u);
}

TEST(AgentSession, ContextPolicyDropsOldObservations) {
  auto cfg = test_config();
  cfg.context_policy.threshold = 0.5;
  // The scripted generator reports no prompt tokens, so feed them through a wrapper.
  struct Counting : ScriptedGenerator {
    using ScriptedGenerator::ScriptedGenerator;
    void generate(TurnRequest req, TurnDone done) override {
      size_t bytes = 0;
      for (const auto& m : req.messages) bytes += m.content.size();
      ScriptedGenerator::generate(std::move(req), [bytes, done](Result<TurnResult> r) {
        if (r) r->prompt_tokens = static_cast<int64_t>(bytes / 3);
        done(std::move(r));
      });
    }
  };
  boost::asio::io_context ioc;
  auto gen = std::make_shared<Counting>(std::vector<std::string>{"big\n{}<|observation|>", "echo\n{\"n\":1}<|observation|>",
                                                                 "echo\n{\"n\":2}<|observation|>", "\nend<|user|>"},
                                        5000);
  auto transcript = std::make_shared<Transcript>("r", std::vector<std::string>{});
  int compactions = 0;
  transcript->add_sink([&](const std::string& l) { compactions += l.find("context_compacted") != std::string::npos; });
  auto s = AgentSession::create(ioc, cfg, test_registry(), gen, transcript);
  RunResult res;
  s->start("t", [&](RunResult r) { res = r; });
  ioc.run();
  EXPECT_EQ(res.status, "ok");
  EXPECT_GE(compactions, 1);
  EXPECT_EQ(s->messages()[3].content.rfind("[dropped 10000 bytes", 0), 0u) << s->messages()[3].content.substr(0, 60);
}

TEST(AgentSession, SecretsAreRedactedFromObservationsAndTranscript) {
  auto cfg = test_config();
  cfg.secrets = {"hunter2-secret"};
  auto r = run_agent({"echo\n{\"k\": \"hunter2-secret\"}<|observation|>", "\nok<|user|>"}, cfg);
  EXPECT_EQ(r.messages[3].content, "{\"k\":\"[redacted]\"}");
  for (const auto& e : r.events) EXPECT_EQ(e.dump().find("hunter2"), std::string::npos) << e.dump();
}

TEST(AgentSession, FiftyConcurrentSessionsOnOneLoopStayIndependent) {
  boost::asio::io_context ioc;
  auto reg = test_registry();
  std::vector<std::shared_ptr<AgentSession>> sessions;
  std::vector<RunResult> results(50);
  std::vector<std::vector<std::string>> logs(50);
  for (int i = 0; i < 50; ++i) {
    auto gen = std::make_shared<ScriptedGenerator>(std::vector<std::string>{
        "!sleep " + std::to_string(i % 7 * 5) + "\necho\n{\"session\": " + std::to_string(i) + "}<|observation|>",
        "sleep\n{\"ms\": " + std::to_string(i % 5 * 3) + "}<|observation|>",
        "\nanswer " + std::to_string(i) + "<|user|>"});
    auto transcript = std::make_shared<Transcript>("run-" + std::to_string(i), std::vector<std::string>{});
    transcript->add_sink([&logs, i](const std::string& l) { logs[i].push_back(l); });
    auto s = AgentSession::create(ioc, test_config(), reg, gen, transcript);
    s->start("task " + std::to_string(i), [&results, i](RunResult r) { results[i] = r; });
    sessions.push_back(s);
  }
  ioc.run();
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(results[i].status, "ok") << i;
    EXPECT_EQ(results[i].answer, "answer " + std::to_string(i));
    EXPECT_EQ(sessions[i]->messages()[3].content, "{\"session\":" + std::to_string(i) + "}");
    for (const auto& l : logs[i]) EXPECT_NE(l.find("\"run_id\":\"run-" + std::to_string(i) + "\""), std::string::npos);
  }
}

TEST(AgentSession, CapOutputCutsOnUtf8Boundaries) {
  std::string s;
  for (int i = 0; i < 200; ++i) s += "é";
  std::string c = cap_output(s, 100);
  EXPECT_EQ(utf8::find_invalid(c), std::string_view::npos);
}

}  // namespace
}  // namespace glm::agent

namespace glm::agent {
namespace {

TEST(AgentSessionPlan, PlanThenStepsThenAnswer) {
  auto cfg = test_config();
  cfg.strategy = "plan";
  boost::asio::io_context ioc;
  auto gen = std::make_shared<ScriptedGenerator>(std::vector<std::string>{
      "\n{\"steps\":[\"echo the input\",\"report\"]}<|user|>",
      "echo\n{\"v\": 5}<|observation|>",
      "\nEchoed 5.<|user|>",
      "\nReported.<|user|>",
      "\nThe result is 5.<|user|>"});
  auto transcript = std::make_shared<Transcript>("p", std::vector<std::string>{});
  std::vector<std::string> types;
  transcript->add_sink([&](const std::string& l) { types.push_back(nlohmann::json::parse(l)["type"]); });
  auto s = AgentSession::create(ioc, cfg, test_registry(), gen, transcript);
  RunResult res;
  s->start("do it", [&](RunResult r) { res = r; });
  ioc.run();
  EXPECT_EQ(res.status, "ok");
  EXPECT_EQ(res.answer, "The result is 5.");
  auto reqs = gen->requests();
  ASSERT_EQ(reqs.size(), 5u);
  EXPECT_EQ(reqs[0].tool_choice, "none");  // the plan turn: JSON through the plan schema, no tools
  ASSERT_TRUE(reqs[0].output_schema.has_value());
  EXPECT_NE(reqs[0].output_schema->find("\"steps\""), std::string::npos);
  EXPECT_EQ(reqs[1].tool_choice, "auto");
  EXPECT_EQ(reqs[1].messages.back().content, "Step 1 of 2: echo the input");
  EXPECT_EQ(reqs[3].messages.back().content, "Step 2 of 2: report");
  EXPECT_FALSE(reqs[4].output_schema.has_value());
  EXPECT_NE(std::find(types.begin(), types.end(), "plan"), types.end());
}

TEST(AgentSessionPlan, FailingStepsTriggerAReplan) {
  auto cfg = test_config();
  cfg.strategy = "plan";
  boost::asio::io_context ioc;
  auto gen = std::make_shared<ScriptedGenerator>(std::vector<std::string>{
      "\n{\"steps\":[\"use fail\"]}<|user|>", "fail\n{}<|observation|>", "fail\n{\"again\": 1}<|observation|>",
      "\n{\"steps\":[\"use echo\"]}<|user|>", "echo\n{}<|observation|>", "\nok<|user|>", "\nDone differently.<|user|>"});
  auto transcript = std::make_shared<Transcript>("p", std::vector<std::string>{});
  auto s = AgentSession::create(ioc, cfg, test_registry(), gen, transcript);
  RunResult res;
  s->start("do it", [&](RunResult r) { res = r; });
  ioc.run();
  EXPECT_EQ(res.status, "ok") << res.reason;
  EXPECT_EQ(res.answer, "Done differently.");
  auto reqs = gen->requests();
  ASSERT_GE(reqs.size(), 4u);
  EXPECT_EQ(reqs[3].messages.back().content.rfind("Step 1 failed. Write a plan", 0), 0u) << reqs[3].messages.back().content;
}

}  // namespace
}  // namespace glm::agent
