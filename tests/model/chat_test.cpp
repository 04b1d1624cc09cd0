#include "model/chat.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "tests/test_util.h"

namespace glm::chat {
namespace {

using nlohmann::ordered_json;

const char* kWeatherTool =
    R"({"name":"get_weather","description":"Get the weather for a city — 天气","parameters":{"type":"object",)"
    R"("properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1}},"required":["city"]}})";
const char* kCalcTool =
    R"({"name":"calc","description":"Evaluate arithmetic","parameters":{"type":"object",)"
    R"("properties":{"expr":{"type":"string"}},"required":[]}})";

std::vector<ToolSpec> golden_tools() { return {{"get_weather", kWeatherTool}, {"calc", kCalcTool}}; }

std::vector<Message> golden_conversation() {
  return {Message::system("You are helpful."),
          Message::user("Weather in Paris for 2 days?"),
          Message::assistant("", {{"get_weather", R"({"city": "Paris", "days": 2})"}, {"calc", R"({"expr": "2+2"})"}}),
          Message::observation(R"({"temp": 21})"),
          Message::observation("4"),
          Message::assistant("It is 21°C in Paris."),
          Message::user("Thanks")};
}

// Pinned against json.dumps(function, ensure_ascii=False, indent=4) and the 0414 layout (glm4.md §6).
const char* kGoldenText =
    "[gMASK]<sop><|system|>\n# 可用工具\n\n## get_weather\n\n{\n    \"name\": \"get_weather\",\n    \"description\": "
    "\"Get the weather for a city — 天气\",\n    \"parameters\": {\n        \"type\": \"object\",\n        \"properties\": "
    "{\n            \"city\": {\n                \"type\": \"string\"\n            },\n            \"days\": {\n       "
    "         \"type\": \"integer\",\n                \"minimum\": 1\n            }\n        },\n        \"required\": "
    "[\n            \"city\"\n        ]\n    }\n}\n在调用上述函数时，请使用 Json 格式表示调用的参数。\n## calc\n\n{\n    "
    "\"name\": \"calc\",\n    \"description\": \"Evaluate arithmetic\",\n    \"parameters\": {\n        \"type\": "
    "\"object\",\n        \"properties\": {\n            \"expr\": {\n                \"type\": \"string\"\n           "
    " }\n        },\n        \"required\": []\n    }\n}\n在调用上述函数时，请使用 Json 格式表示调用的参数。<|system|>\nYou "
    "are helpful.<|user|>\nWeather in Paris for 2 days?<|assistant|>get_weather\n{\"city\": \"Paris\", \"days\": "
    "2}<|assistant|>calc\n{\"expr\": \"2+2\"}<|observation|>\n{\"temp\": 21}<|observation|>\n4<|assistant|>\nIt is "
    "21°C in Paris.<|user|>\nThanks<|assistant|>";

TEST(ChatRender, GoldenConversationWithToolsText) {
  auto msgs = golden_conversation();
  auto tools = golden_tools();
  auto text = render_text(msgs, tools, true);
  ASSERT_TRUE(text.ok()) << text.error().to_string();
  EXPECT_EQ(*text, kGoldenText);
}

TEST(ChatRender, PlainConversationWithoutTools) {
  std::vector<Message> msgs{Message::user("hi"), Message::assistant("hello"), Message::user("bye")};
  EXPECT_EQ(*render_text(msgs, {}, true), "[gMASK]<sop><|user|>\nhi<|assistant|>\nhello<|user|>\nbye<|assistant|>");
  EXPECT_EQ(*render_text(msgs, {}, false), "[gMASK]<sop><|user|>\nhi<|assistant|>\nhello<|user|>\nbye");
}

TEST(ChatRender, SystemMessagesAreHoistedBehindTheToolsBlock) {
  std::vector<Message> msgs{Message::user("q"), Message::system("late system")};
  std::vector<ToolSpec> tools{{"calc", kCalcTool}};
  auto text = *render_text(msgs, tools, true);
  auto sys = text.find("<|system|>\nlate system");
  auto user = text.find("<|user|>\nq");
  ASSERT_NE(sys, std::string::npos);
  EXPECT_LT(sys, user);
  EXPECT_LT(text.find("## calc"), sys);
}

TEST(ChatRender, AssistantTextBeforeCallsIsItsOwnSegment) {
  std::vector<Message> msgs{Message::user("q"), Message::assistant("Let me check.", {{"calc", R"({"expr":"1"})"}})};
  EXPECT_EQ(*render_text(msgs, {}, false),
            "[gMASK]<sop><|user|>\nq<|assistant|>\nLet me check.<|assistant|>calc\n{\"expr\":\"1\"}");
}

TEST(ChatRender, BadArgumentsAndToolsAreErrors) {
  std::vector<Message> msgs{Message::assistant("", {{"calc", "{not json"}})};
  auto r = render_text(msgs, {}, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(r.error().message.find("messages[0].tool_calls[0]"), std::string::npos);
  std::vector<ToolSpec> tools{{"x", "[1,2]"}};
  EXPECT_FALSE(render_text({}, tools, false).ok());
}

// A GLM-4 chat tokenizer for tests: the GLM-4-regex file plus GLM-4's 14 special tokens. (Their ids
// differ from GLM-4's real 151329.. since that file's ids are taken; the format does not depend on it.)
const Tokenizer* glm_test_tokenizer() {
  static std::optional<Result<Tokenizer>> tok;
  if (!tok) {
    auto dir = glm::testing::shared_data_dir();
    if (!dir) return nullptr;
    std::ifstream in(*dir + "/tokenizer/glm4-regex.tokenizer.json");
    std::stringstream ss;
    ss << in.rdbuf();
    auto j = nlohmann::json::parse(ss.str());
    for (const char* s : {"<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
                          "<|assistant|>", "<|observation|>", "<|begin_of_image|>", "<|end_of_image|>",
                          "<|begin_of_video|>", "<|end_of_video|>"}) {
      if (std::string(s) == "<|endoftext|>") continue;  // already an added token of the file
      j["added_tokens"].push_back({{"id", 0}, {"content", s}, {"special", true}});
    }
    tok = Tokenizer::from_json(j.dump(), "glm4-regex+glm-specials");
  }
  return tok->ok() ? &tok->value() : nullptr;
}

TEST(ChatTokens, RenderIdsAreSpecialsPlusPlainTextEncodings) {
  GLM_REQUIRE_SHARED_DATA(dir);
  const Tokenizer* tok = glm_test_tokenizer();
  ASSERT_NE(tok, nullptr);
  auto sp = specials_of(*tok);
  ASSERT_TRUE(sp.ok()) << sp.error().to_string();
  std::vector<Message> msgs{Message::user("Hello <|assistant|> world")};
  auto ids = render(*tok, msgs, {}, true);
  ASSERT_TRUE(ids.ok()) << ids.error().to_string();
  std::vector<int32_t> want{sp->gmask, sp->sop, sp->user};
  auto body = tok->encode("\nHello <|assistant|> world", glm::Specials::as_text);
  want.insert(want.end(), body->begin(), body->end());
  want.push_back(sp->assistant);
  EXPECT_EQ(*ids, want);
  // Role text inside user content never becomes a role token.
  EXPECT_EQ(std::count(ids->begin(), ids->end(), sp->assistant), 1);
}

TEST(ChatTokens, GoldenConversationIdsDecodeToGoldenText) {
  GLM_REQUIRE_SHARED_DATA(dir);
  const Tokenizer* tok = glm_test_tokenizer();
  ASSERT_NE(tok, nullptr);
  auto msgs = golden_conversation();
  auto tools = golden_tools();
  auto ids = render(*tok, msgs, tools, true);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*tok->decode(*ids), kGoldenText);
  // The fixed ids of the prompt's head: [gMASK] <sop> <|system|> "\n" then "#" " 可用工具"...
  auto sp = *specials_of(*tok);
  ASSERT_GE(ids->size(), 4u);
  EXPECT_EQ((*ids)[0], sp.gmask);
  EXPECT_EQ((*ids)[1], sp.sop);
  EXPECT_EQ((*ids)[2], sp.system);
  EXPECT_EQ((*ids)[3], 198);  // "\n"
}

std::vector<int32_t> completion(const Tokenizer& tok, std::initializer_list<std::variant<std::string, int32_t>> parts) {
  std::vector<int32_t> ids;
  for (const auto& p : parts) {
    if (auto* s = std::get_if<std::string>(&p)) {
      auto e = tok.encode(*s, glm::Specials::as_text);
      ids.insert(ids.end(), e->begin(), e->end());
    } else {
      ids.push_back(std::get<int32_t>(p));
    }
  }
  return ids;
}

TEST(ChatParse, TextAnswerSingleCallAndParallelCalls) {
  GLM_REQUIRE_SHARED_DATA(dir);
  const Tokenizer* tok = glm_test_tokenizer();
  ASSERT_NE(tok, nullptr);
  auto sp = *specials_of(*tok);

  auto text = parse(*tok, completion(*tok, {std::string("\nThe answer is 4."), sp.user}));
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->content, "The answer is 4.");
  EXPECT_TRUE(text->tool_calls.empty());
  EXPECT_EQ(text->finish_reason, "stop");

  auto one = parse(*tok, completion(*tok, {std::string("get_weather\n{\"city\": \"Paris\"}"), sp.observation}));
  ASSERT_TRUE(one.ok()) << one.error().to_string();
  ASSERT_EQ(one->tool_calls.size(), 1u);
  EXPECT_EQ(one->tool_calls[0].name, "get_weather");
  EXPECT_EQ(one->tool_calls[0].arguments, "{\"city\": \"Paris\"}");
  EXPECT_EQ(one->finish_reason, "tool_calls");

  auto two = parse(*tok, completion(*tok, {std::string("get_weather\n{\"city\": \"Paris\"}"), sp.assistant,
                                           std::string("calc\n{\"expr\": \"2+2\"}\n"), sp.observation}));
  ASSERT_TRUE(two.ok()) << two.error().to_string();
  ASSERT_EQ(two->tool_calls.size(), 2u);
  EXPECT_EQ(two->tool_calls[1].name, "calc");
  EXPECT_EQ(two->tool_calls[1].arguments, "{\"expr\": \"2+2\"}");

  auto cut = parse(*tok, completion(*tok, {std::string("\nstill talking")}));
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->finish_reason, "length");
}

TEST(ChatParse, MalformedCallsAreClearErrors) {
  GLM_REQUIRE_SHARED_DATA(dir);
  const Tokenizer* tok = glm_test_tokenizer();
  ASSERT_NE(tok, nullptr);
  auto sp = *specials_of(*tok);
  struct Case { std::string body; std::string expect; };
  for (const Case& c : {Case{"get_weather {\"city\": 1}", "no newline"},
                        Case{"get_weather\n{\"city\": ", "not one complete JSON value"},
                        Case{"get_weather\n[1, 2]", "not a JSON object"},
                        Case{"```json\n{}", "not a tool name"},
                        Case{"get_weather\n{\"a\": 1} trailing", "not one complete JSON value"}}) {
    auto r = parse(*tok, completion(*tok, {c.body, sp.observation}));
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("tool call 1"), std::string::npos) << r.error().message;
  }
}

TEST(ChatParse, RenderedHistoryRoundTripsThroughParse) {
  GLM_REQUIRE_SHARED_DATA(dir);
  const Tokenizer* tok = glm_test_tokenizer();
  ASSERT_NE(tok, nullptr);
  auto sp = *specials_of(*tok);
  std::vector<ToolCall> calls{{"get_weather", R"({"city": "Paris", "days": 2})"}, {"calc", R"({"expr": "2+2"})"}};
  std::vector<Message> msgs{Message::user("q")};
  auto prompt = *render(*tok, msgs, {}, true);
  msgs.push_back(Message::assistant("", calls));
  auto full = *render(*tok, msgs, {}, false);
  ASSERT_EQ(std::vector<int32_t>(full.begin(), full.begin() + prompt.size()), prompt);
  std::vector<int32_t> generated(full.begin() + prompt.size(), full.end());
  generated.push_back(sp.observation);
  auto turn = parse(*tok, generated);
  ASSERT_TRUE(turn.ok()) << turn.error().to_string();
  ASSERT_EQ(turn->tool_calls.size(), 2u);
  EXPECT_EQ(turn->tool_calls[0].arguments, calls[0].arguments);
  EXPECT_EQ(turn->tool_calls[1].name, "calc");
}

TEST(ChatOpenAI, MessagesMapOntoGlmRoles) {
  auto m = messages_from_openai(R"([
    {"role":"system","content":"sys"},
    {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
    {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
      "function":{"name":"calc","arguments":"{\"expr\":\"1+1\"}"}}]},
    {"role":"tool","tool_call_id":"c1","content":"2"},
    {"role":"assistant","content":"It is 2."}])");
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  ASSERT_EQ(m->size(), 5u);
  EXPECT_EQ((*m)[1].content, "ab");
  EXPECT_EQ((*m)[2].tool_calls[0].arguments, "{\"expr\":\"1+1\"}");
  EXPECT_EQ((*m)[3].role, Role::observation);
  EXPECT_EQ(*render_text(*m, {}, false),
            "[gMASK]<sop><|system|>\nsys<|user|>\nab<|assistant|>calc\n{\"expr\":\"1+1\"}<|observation|>\n2"
            "<|assistant|>\nIt is 2.");
}

TEST(ChatOpenAI, BadShapesNameTheField) {
  auto r = messages_from_openai(R"([{"role":"user","content":"x"},{"role":"wizard","content":"y"}])");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("messages[1].role"), std::string::npos);
  auto a = messages_from_openai(R"([{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":"[1]"}}]}])");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message.find("messages[0].tool_calls[0].function.arguments"), std::string::npos);
  auto t = tools_from_openai(R"([{"type":"function","function":{"description":"no name"}}])");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("tools[0].function.name"), std::string::npos);
  auto ok = tools_from_openai(R"([{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}])");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0].name, "f");
}

}  // namespace
}  // namespace glm::chat

namespace glm::chat {
namespace {

TEST(ChatParseText, SameRulesAsIds) {
  auto two = parse_text("get_weather\n{\"city\": \"Paris\"}<|assistant|>calc\n{\"expr\": \"1\"}<|observation|>");
  ASSERT_TRUE(two.ok()) << two.error().to_string();
  ASSERT_EQ(two->tool_calls.size(), 2u);
  EXPECT_EQ(two->tool_calls[1].name, "calc");
  EXPECT_EQ(two->finish_reason, "tool_calls");
  auto text = parse_text("\nDone.<|user|>");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->content, "Done.");
  EXPECT_EQ(text->finish_reason, "stop");
  EXPECT_FALSE(parse_text("calc {}<|observation|>").ok());
  EXPECT_EQ(parse_text("\npartial")->finish_reason, "length");
}

}  // namespace
}  // namespace glm::chat
