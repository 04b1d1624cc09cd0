// The embedded engine behind the agent: a random tiny GLM-4 model can only say well-formed turns, because
// every token goes through the turn grammar; prefix reuse and batching are checked on the same model.
#include "runtime/agent/engine_generator.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <future>

#include <boost/asio/io_context.hpp>

#include "runtime/agent/session.h"

#include "tests/runtime/tiny_model.h"

namespace glm::agent {
namespace {

using glm::testing::tiny_generator;

Result<TurnResult> generate(EngineGenerator& g, TurnRequest r) {
  std::promise<Result<TurnResult>> p;
  auto f = p.get_future();
  g.generate(std::move(r), [&p](Result<TurnResult> res) { p.set_value(std::move(res)); });
  return f.get();
}

TurnRequest call_request() {
  TurnRequest r;
  r.messages = {chat::Message::system("You set flags."), chat::Message::user("Set the flag.")};
  r.tools = {{"set_flag",
              R"({"name":"set_flag","description":"Sets a flag","parameters":{"type":"object",)"
              R"("properties":{"on":{"type":"boolean"},"level":{"enum":[1,2,3]}},"required":["on","level"],)"
              R"("additionalProperties":false}})"}};
  r.tool_choice = "required";
  r.parallel_tool_calls = false;
  r.max_tokens = 64;
  r.sampling.temperature = 1.0;
  r.sampling.seed = 11;
  return r;
}

TEST(EngineGenerator, RandomModelEmitsOnlyWellFormedCalls) {
  auto g = tiny_generator();
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    auto req = call_request();
    req.sampling.seed = seed;
    auto r = generate(*g, req);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_FALSE(r->parse_error) << r->parse_error->message << "\nraw: " << r->raw;
    ASSERT_EQ(r->turn.tool_calls.size(), 1u) << r->raw;
    EXPECT_EQ(r->turn.tool_calls[0].name, "set_flag");
    auto args = nlohmann::json::parse(r->turn.tool_calls[0].arguments);
    EXPECT_TRUE(args["on"].is_boolean()) << r->raw;
    EXPECT_TRUE(args["level"] == 1 || args["level"] == 2 || args["level"] == 3) << r->raw;
    EXPECT_EQ(r->turn.finish_reason, "tool_calls");
  }
}

TEST(EngineGenerator, AnswerSchemaConstrainsTheTextAnswer) {
  auto g = tiny_generator();
  TurnRequest r;
  r.messages = {chat::Message::user("Pick a digit.")};
  r.output_schema = R"({"type":"object","properties":{"digit":{"type":"integer","minimum":0,"maximum":9}},)"
                    R"("required":["digit"],"additionalProperties":false})";
  r.max_tokens = 64;
  r.sampling.temperature = 1.0;
  auto res = generate(*g, r);
  ASSERT_TRUE(res.ok()) << res.error().to_string();
  ASSERT_FALSE(res->parse_error);
  EXPECT_TRUE(res->turn.tool_calls.empty());
  auto j = nlohmann::json::parse(res->turn.content);
  EXPECT_GE(j["digit"].get<int>(), 0);
  EXPECT_LE(j["digit"].get<int>(), 9);
  EXPECT_EQ(res->turn.finish_reason, "stop");
}

TEST(EngineGenerator, NextStepReusesTheCachedPrefix) {
  auto g = tiny_generator();
  auto req = call_request();
  auto first = generate(*g, req);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->cached_tokens, 0);
  req.messages.push_back(chat::Message::assistant("", first->turn.tool_calls));
  req.messages.push_back(chat::Message::observation("{\"ok\":true}"));
  auto second = generate(*g, req);
  ASSERT_TRUE(second.ok());
  // Everything up to the first call's last token was in the KV cache already.
  EXPECT_GE(second->cached_tokens, first->prompt_tokens + first->completion_tokens - 1);
  EXPECT_GT(second->prompt_tokens, second->cached_tokens);
  auto stats = g->stats();
  EXPECT_EQ(stats.requests, 2);
  EXPECT_EQ(stats.cached_tokens, second->cached_tokens);
}

TEST(EngineGenerator, ConcurrentRequestsAreBatchedAndAllWellFormed) {
  auto g = tiny_generator();
  std::vector<std::promise<Result<TurnResult>>> ps(8);
  std::vector<std::future<Result<TurnResult>>> fs;
  for (int i = 0; i < 8; ++i) {
    fs.push_back(ps[i].get_future());
    auto req = call_request();
    req.messages[1].content = "Set flag number " + std::to_string(i);
    req.sampling.seed = static_cast<uint64_t>(i);
    g->generate(req, [&ps, i](Result<TurnResult> r) { ps[i].set_value(std::move(r)); });
  }
  for (auto& f : fs) {
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_FALSE(r->parse_error) << r->raw;
    EXPECT_EQ(r->turn.tool_calls.size(), 1u);
  }
}

TEST(EngineGenerator, CancelAndContextOverflowAreErrors) {
  auto g = tiny_generator(/*context=*/64);
  auto req = call_request();
  req.messages[1].content = std::string(200, 'x');
  auto big = generate(*g, req);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::output);

  auto small = call_request();
  small.messages = {chat::Message::user("hi")};
  small.tools.clear();
  small.tool_choice = "auto";
  auto cancel = std::make_shared<std::atomic<bool>>(true);
  small.cancel = cancel;
  auto c = generate(*g, small);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::cancelled);
}

}  // namespace
}  // namespace glm::agent


namespace glm::agent {
namespace {

class EchoTool : public tools::Tool {
 public:
  EchoTool() : spec_{"set_flag", "echo", tools::Json{{"type", "object"}}} {}
  const tools::ToolSpec& spec() const override { return spec_; }
  void invoke(tools::Json a, tools::CallContext, tools::Completion done) override { done(tools::ToolResult::success(a)); }

 private:
  tools::ToolSpec spec_;
};

TEST(EngineGeneratorSession, AgentLoopOnTheRealEngineNeverSeesAMalformedCall) {
  auto gen = tiny_generator();
  config::AgentConfig cfg;
  cfg.name = "tiny";
  cfg.limits.max_steps = 4;
  cfg.limits.max_tokens = 400;
  cfg.tool_choice = "required";
  cfg.parallel_tool_calls = false;
  cfg.model.sampling.temperature = 1.0;
  config::ToolConfig t;
  t.type = "builtin";
  t.name = "set_flag";
  t.spec = nlohmann::ordered_json::parse(
      R"({"name":"set_flag","description":"Sets a flag","parameters":{"type":"object","properties":{"on":{"type":"boolean"}},)"
      R"("required":["on"],"additionalProperties":false}})");
  cfg.tools.push_back(t);
  auto reg = std::make_shared<tools::ToolRegistry>();
  ASSERT_TRUE(reg->add(std::make_shared<EchoTool>()).ok());
  boost::asio::io_context ioc;
  auto transcript = std::make_shared<Transcript>("e2e", std::vector<std::string>{});
  int calls = 0, errors = 0, cached = 0;
  transcript->add_sink([&](const std::string& l) {
    auto e = nlohmann::json::parse(l);
    if (e["type"] == "tool_result") calls += e["ok"].get<bool>();
    if (e["type"] == "error") ++errors;
    if (e["type"] == "model_turn") cached += e["cached_tokens"].get<int>() > 0;
  });
  // The identical-call guard lets each distinct call run twice; the random model may repeat itself.
  cfg.limits.max_identical_calls = 100;
  auto s = AgentSession::create(ioc, cfg, reg, gen, transcript);
  RunResult res;
  s->start("Set the flag four times.", [&](RunResult r) { res = r; });
  ioc.run();
  EXPECT_EQ(res.status, "budget_exhausted");  // tool_choice required: it calls until max_steps
  EXPECT_EQ(res.reason, "max_steps");
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(cached, 3);  // every step after the first reused the previous step's KV
}

}  // namespace
}  // namespace glm::agent
