// The OpenAI mapping without sockets: request parsing (types, limits, GLM-4 tool_choice mapping) and the
// token streamer (content / tool-call deltas, stop strings across tokens, split UTF-8).
#include "runtime/server/openai.h"

#include <gtest/gtest.h>

namespace glm::server {
namespace {

using ojson = nlohmann::ordered_json;

ChatCall chat_ok(const std::string& body) {
  auto r = parse_chat_request(body, RequestLimits{});
  if (auto* e = std::get_if<ApiError>(&r)) ADD_FAILURE() << e->message;
  return std::holds_alternative<ChatCall>(r) ? std::get<ChatCall>(r) : ChatCall{};
}

ApiError chat_err(const std::string& body) {
  auto r = parse_chat_request(body, RequestLimits{});
  if (!std::holds_alternative<ApiError>(r)) {
    ADD_FAILURE() << "accepted: " << body;
    return {};
  }
  return std::get<ApiError>(r);
}

const char* kTools = R"([{"type":"function","function":{"name":"a","parameters":{"type":"object"}}},
                         {"type":"function","function":{"name":"b","parameters":{"type":"object"}}}])";

TEST(ServerOpenAI, ChatRequestMapsEveryField) {
  std::string body = std::string(R"({"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":"u"}],)") +
                     R"("tools":)" + kTools + R"(,"tool_choice":"required","parallel_tool_calls":false,)" +
                     R"("temperature":0.5,"top_p":0.9,"max_completion_tokens":33,"seed":42,"stop":["x","yz"],)" +
                     R"("stream":true,"stream_options":{"include_usage":true},"n":1})";
  ChatCall c = chat_ok(body);
  EXPECT_EQ(c.model, "m");
  ASSERT_EQ(c.turn.messages.size(), 2u);
  EXPECT_EQ(c.turn.messages[0].role, chat::Role::system);
  ASSERT_EQ(c.turn.tools.size(), 2u);
  EXPECT_EQ(c.turn.tool_choice, "required");
  EXPECT_FALSE(c.turn.parallel_tool_calls);
  EXPECT_DOUBLE_EQ(c.turn.sampling.temperature, 0.5);
  EXPECT_DOUBLE_EQ(c.turn.sampling.top_p, 0.9);
  EXPECT_EQ(c.turn.max_tokens, 33);
  EXPECT_EQ(c.turn.sampling.seed, 42u);
  EXPECT_EQ(c.stop, (std::vector<std::string>{"x", "yz"}));
  EXPECT_TRUE(c.stream);
  EXPECT_TRUE(c.include_usage);
}

TEST(ServerOpenAI, NamedToolChoiceKeepsOnlyThatToolAndRequiresIt) {
  ChatCall c = chat_ok(std::string(R"({"messages":[{"role":"user","content":"u"}],"tools":)") + kTools +
                       R"(,"tool_choice":{"type":"function","function":{"name":"b"}}})");
  ASSERT_EQ(c.turn.tools.size(), 1u);
  EXPECT_EQ(c.turn.tools[0].name, "b");
  EXPECT_EQ(c.turn.tool_choice, "required");
  ApiError e = chat_err(std::string(R"({"messages":[{"role":"user","content":"u"}],"tools":)") + kTools +
                        R"(,"tool_choice":{"type":"function","function":{"name":"zz"}}})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.param, "tool_choice");
}

TEST(ServerOpenAI, ResponseFormatBecomesTheAnswerSchema) {
  ChatCall o = chat_ok(R"({"messages":[{"role":"user","content":"u"}],"response_format":{"type":"json_object"}})");
  EXPECT_EQ(o.turn.output_schema, std::optional<std::string>(R"({"type":"object"})"));
  ChatCall s = chat_ok(R"({"messages":[{"role":"user","content":"u"}],"response_format":{"type":"json_schema",)"
                       R"("json_schema":{"name":"x","strict":true,"schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}})");
  ASSERT_TRUE(s.turn.output_schema);
  EXPECT_EQ(ojson::parse(*s.turn.output_schema)["properties"]["a"]["type"], "integer");
  ChatCall t = chat_ok(R"({"messages":[{"role":"user","content":"u"}],"response_format":{"type":"text"}})");
  EXPECT_FALSE(t.turn.output_schema);
}

TEST(ServerOpenAI, DefaultsFollowOpenAI) {
  ChatCall c = chat_ok(R"({"messages":[{"role":"user","content":"u"}]})");
  EXPECT_DOUBLE_EQ(c.turn.sampling.temperature, 1.0);
  EXPECT_EQ(c.turn.tool_choice, "auto");
  EXPECT_TRUE(c.turn.parallel_tool_calls);
  EXPECT_EQ(c.turn.max_tokens, RequestLimits{}.max_tokens);
  EXPECT_FALSE(c.stream);
}

TEST(ServerOpenAI, BadRequestsNameTheParameter) {
  struct Case { const char* body; const char* param; };
  const Case cases[] = {
      {R"({"messages":"hi"})", "messages"},
      {R"({"messages":[]})", "messages"},
      {R"({})", "messages"},
      {R"({"messages":[{"role":"wizard","content":"x"}]})", "messages"},
      {R"({"messages":[{"role":"user","content":"u"}],"temperature":"hot"})", "temperature"},
      {R"({"messages":[{"role":"user","content":"u"}],"temperature":3})", "temperature"},
      {R"({"messages":[{"role":"user","content":"u"}],"top_p":0})", "top_p"},
      {R"({"messages":[{"role":"user","content":"u"}],"n":2})", "n"},
      {R"({"messages":[{"role":"user","content":"u"}],"max_tokens":0})", "max_tokens"},
      {R"({"messages":[{"role":"user","content":"u"}],"max_tokens":100000000})", "max_tokens"},
      {R"({"messages":[{"role":"user","content":"u"}],"max_tokens":1.5})", "max_tokens"},
      {R"({"messages":[{"role":"user","content":"u"}],"stop":[1]})", "stop"},
      {R"({"messages":[{"role":"user","content":"u"}],"stop":["a","b","c","d","e"]})", "stop"},
      {R"({"messages":[{"role":"user","content":"u"}],"stream":"yes"})", "stream"},
      {R"({"messages":[{"role":"user","content":"u"}],"seed":"x"})", "seed"},
      {R"({"messages":[{"role":"user","content":"u"}],"tools":{}})", "tools"},
      {R"({"messages":[{"role":"user","content":"u"}],"tool_choice":"always"})", "tool_choice"},
      {R"({"messages":[{"role":"user","content":"u"}],"tool_choice":"required"})", "tool_choice"},
      {R"({"messages":[{"role":"user","content":"u"}],"parallel_tool_calls":1})", "parallel_tool_calls"},
      {R"({"messages":[{"role":"user","content":"u"}],"response_format":{"type":"yaml"}})", "response_format"},
      {R"({"messages":[{"role":"user","content":"u"}],"response_format":{"type":"json_schema"}})", "response_format.json_schema"},
      {R"({"messages":[{"role":"user","content":"u"}],"logprobs":true})", "logprobs"},
  };
  for (const auto& c : cases) {
    ApiError e = chat_err(c.body);
    EXPECT_EQ(e.status, 400) << c.body;
    EXPECT_EQ(e.type, "invalid_request_error") << c.body;
    EXPECT_EQ(e.param, c.param) << c.body;
  }
  for (const char* body : {"{", "[1,2]", "\"x\"", "{\"messages\": [{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}"}) {
    ApiError e = chat_err(body);
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.code, "invalid_json") << body;
  }
}

TEST(ServerOpenAI, CompletionRequestTakesARawPrompt) {
  auto r = parse_completion_request(R"({"prompt":"[gMASK]<sop>hi","max_tokens":5,"stop":"\n"})", RequestLimits{});
  ASSERT_TRUE(std::holds_alternative<ChatCall>(r));
  auto& c = std::get<ChatCall>(r);
  EXPECT_EQ(c.turn.raw_prompt, std::optional<std::string>("[gMASK]<sop>hi"));
  EXPECT_EQ(c.turn.max_tokens, 5);
  auto d = parse_completion_request(R"({"prompt":"x"})", RequestLimits{});
  EXPECT_EQ(std::get<ChatCall>(d).turn.max_tokens, 16);  // OpenAI's default
  for (const char* body : {R"({"prompt":""})", R"({"prompt":[1,2]})", R"({})", R"({"prompt":"x","suffix":"y"})"}) {
    auto e = parse_completion_request(body, RequestLimits{});
    ASSERT_TRUE(std::holds_alternative<ApiError>(e)) << body;
    EXPECT_EQ(std::get<ApiError>(e).status, 400);
  }
}

// Feeds (bytes, special) tokens and returns every delta.
std::vector<TurnStreamer::Delta> feed_all(TurnStreamer& s, const std::vector<std::pair<std::string, bool>>& toks,
                                          bool* stopped_early = nullptr) {
  std::vector<TurnStreamer::Delta> out;
  for (const auto& [b, sp] : toks) {
    if (!s.feed(b, sp, &out)) {
      if (stopped_early) *stopped_early = true;
      break;
    }
  }
  s.finish(&out);
  return out;
}

TEST(ServerOpenAI, StreamerSplitsATextAnswerIntoContentDeltas) {
  TurnStreamer s({});
  auto d = feed_all(s, {{"\nHel", false}, {"lo", false}, {" w", false}, {"<|user|>", true}});
  std::string all;
  for (const auto& x : d) {
    EXPECT_EQ(x.kind, TurnStreamer::Delta::content);
    all += x.text;
  }
  EXPECT_EQ(all, "Hello w");
  EXPECT_EQ(s.content(), "Hello w");
  EXPECT_TRUE(s.calls().empty());
}

TEST(ServerOpenAI, StreamerKeysToolCallsByIndexNameFirst) {
  TurnStreamer s({});
  auto d = feed_all(s, {{"get_", false}, {"weather\n{\"ci", false}, {"ty\":\"Oslo\"}", false}, {"<|assistant|>", true},
                        {"time\n{}", false}, {"<|observation|>", true}});
  ASSERT_EQ(s.calls().size(), 2u);
  EXPECT_EQ(s.calls()[0].name, "get_weather");
  EXPECT_EQ(s.calls()[0].arguments, R"({"city":"Oslo"})");
  EXPECT_EQ(s.calls()[1].name, "time");
  EXPECT_EQ(s.calls()[1].arguments, "{}");
  EXPECT_EQ(s.calls()[0].id.rfind("call_", 0), 0u);
  EXPECT_NE(s.calls()[0].id, s.calls()[1].id);
  ASSERT_GE(d.size(), 4u);
  EXPECT_EQ(d[0].kind, TurnStreamer::Delta::call_start);
  EXPECT_EQ(d[0].index, 0);
  EXPECT_EQ(d[0].name, "get_weather");
  std::string args0, args1;
  bool seen_start1 = false;
  for (const auto& x : d) {
    if (x.kind == TurnStreamer::Delta::call_start && x.index == 1) seen_start1 = true;
    if (x.kind == TurnStreamer::Delta::call_arguments) {
      (x.index == 0 ? args0 : args1) += x.text;
      if (x.index == 1) EXPECT_TRUE(seen_start1) << "arguments before the name";
    }
  }
  EXPECT_EQ(args0, R"({"city":"Oslo"})");
  EXPECT_EQ(args1, "{}");
  EXPECT_EQ(s.content(), "");
}

TEST(ServerOpenAI, StopStringAcrossTokensEndsTheTextAndIsNeverSent) {
  TurnStreamer s({"STOP"});
  bool early = false;
  auto d = feed_all(s, {{"\nabc S", false}, {"T", false}, {"OPxyz", false}, {"more", false}}, &early);
  EXPECT_TRUE(early);
  EXPECT_TRUE(s.stopped_by_string());
  std::string all;
  for (const auto& x : d) all += x.text;
  EXPECT_EQ(all, "abc ");
  EXPECT_EQ(s.content(), "abc ");
  // A held-back prefix that turns out not to be a stop string is released.
  TurnStreamer t({"STOP"});
  auto e = feed_all(t, {{"\nST", false}, {"ART", false}, {"<|user|>", true}});
  std::string all2;
  for (const auto& x : e) all2 += x.text;
  EXPECT_EQ(all2, "START");
  EXPECT_FALSE(t.stopped_by_string());
}

TEST(ServerOpenAI, SplitUtf8IsHeldUntilComplete) {
  TurnStreamer s({});
  std::vector<TurnStreamer::Delta> out;
  s.feed("\n\xC3", false, &out);  // first byte of 'é'
  for (const auto& x : out) EXPECT_EQ(x.text.find('\xC3'), std::string::npos);
  s.feed("\xA9!", false, &out);
  s.finish(&out);
  std::string all;
  for (const auto& x : out) all += x.text;
  EXPECT_EQ(all, "\xC3\xA9!");
}

TEST(ServerOpenAI, RawStreamerKeepsEverythingUntilAStopToken) {
  TurnStreamer s({}, /*raw=*/true);
  auto d = feed_all(s, {{"a", false}, {"<|assistant|>", true}, {"b", false}, {"<|endoftext|>", true}});
  EXPECT_EQ(s.content(), "a<|assistant|>b");
}

TEST(ServerOpenAI, CompletionJsonHasOpenAIShape) {
  ChatCall c;
  c.model = "m";
  TurnStreamer s({});
  std::vector<TurnStreamer::Delta> d;
  s.feed("f\n{\"x\":1}", false, &d);
  s.feed("<|observation|>", true, &d);
  agent::TurnResult r;
  r.turn.finish_reason = "tool_calls";
  r.prompt_tokens = 10;
  r.cached_tokens = 4;
  r.completion_tokens = 6;
  ojson j = chat_completion_json(c, r, s, "chatcmpl-1", 123);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_TRUE(j["choices"][0]["message"]["content"].is_null());
  EXPECT_EQ(j["choices"][0]["message"]["tool_calls"][0]["type"], "function");
  EXPECT_EQ(j["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"], "{\"x\":1}");
  EXPECT_EQ(j["usage"]["total_tokens"], 16);
  EXPECT_EQ(j["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
  EXPECT_EQ(error_json(ApiError{400, "m", "invalid_request_error", "", "c"}).dump(),
            R"({"error":{"message":"m","type":"invalid_request_error","param":null,"code":"c"}})");
}

}  // namespace
}  // namespace glm::server

namespace glm::server {
namespace {

TEST(ServerOpenAI, TypeErrorsDeepInsideFieldsAre400) {
  for (const char* body : {R"({"messages":[{"role":"user","content":[{"type":5,"text":"x"}]}]})",
                           R"({"messages":[{"role":"user","content":"u"}],"tool_choice":{"type":5}})",
                           R"({"messages":[{"role":"user","content":"u"}],"stream_options":{"include_usage":"y"}})"}) {
    auto r = parse_chat_request(body, RequestLimits{});
    ASSERT_TRUE(std::holds_alternative<ApiError>(r)) << body;
    EXPECT_EQ(std::get<ApiError>(r).status, 400) << body;
  }
}

}  // namespace
}  // namespace glm::server
