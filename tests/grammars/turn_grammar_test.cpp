// tests/grammars/turn_grammar_test.cpp — the GLM-4 answer-or-calls grammar.
#include "grammars/turn_grammar.h"

#include <gtest/gtest.h>

#include "grammars/compiler.h"
#include "grammars/matcher.h"

namespace glm::grammar {
namespace {

// ids: 0 "\n", 1 "get_weather", 2 "{\"city\":\"", 3 "Paris", 4 "\"}", 5 <|user|>, 6 <|assistant|>,
// 7 <|observation|>, 8 <|endoftext|>, 9 "hello", 10 "<|observation|>" spelled as plain text, 11 "{", 12 "x"
std::shared_ptr<const Vocab> vocab() {
  return Vocab::build(VocabView{{"\n", "get_weather", "{\"city\":\"", "Paris", "\"}", "<|user|>", "<|assistant|>",
                                 "<|observation|>", "<|endoftext|>", "hello", "<|observation|>", "{", "x"},
                                {5, 6, 7, 8},
                                {8}});
}

Matcher turn_matcher() {
  std::vector<ToolSpec> tools{
      {"get_weather", nlohmann::ordered_json::parse(R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false})")},
      {"search", nlohmann::ordered_json::parse(R"({"type":"object","properties":{"q":{"type":"string"}},"required":["q"]})")}};
  TurnGrammarOptions opt;
  opt.layout = JsonLayout::compact;  // the vocabulary above spells compact JSON
  auto g = glm4_turn_grammar(tools, opt);
  EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().message);
  auto cg = compile(*g, vocab());
  EXPECT_TRUE(cg.ok()) << (cg.ok() ? "" : cg.error().message);
  return Matcher(*cg);
}

bool allowed(Matcher& m, int id) {
  std::vector<uint32_t> bits(m.n_words());
  m.fill_mask(bits.data());
  return (bits[id / 32] >> (id % 32)) & 1;
}

TEST(TurnGrammar, TextAnswer) {
  Matcher m = turn_matcher();
  EXPECT_TRUE(allowed(m, 0));
  EXPECT_FALSE(allowed(m, 9));  // text must start with "\n"
  EXPECT_TRUE(m.advance(0));
  EXPECT_TRUE(m.advance(9));
  EXPECT_TRUE(allowed(m, 10));   // plain text spelling a role token is just text
  EXPECT_TRUE(allowed(m, 5));
  EXPECT_FALSE(allowed(m, 7));   // <|observation|> does not end a text answer
  EXPECT_TRUE(m.advance(5));
  EXPECT_TRUE(m.is_accepting());
}

TEST(TurnGrammar, ToolCalls) {
  Matcher m = turn_matcher();
  EXPECT_TRUE(allowed(m, 1));
  EXPECT_TRUE(m.advance(1));
  EXPECT_TRUE(m.advance(0));
  EXPECT_TRUE(allowed(m, 2));
  EXPECT_FALSE(allowed(m, 7));
  EXPECT_TRUE(m.advance(2));
  EXPECT_TRUE(m.advance(3));
  EXPECT_TRUE(allowed(m, 10));   // inside the string it is just text
  EXPECT_TRUE(m.advance(4));
  EXPECT_FALSE(allowed(m, 10));  // a plain-text "<|observation|>" cannot end the call
  EXPECT_TRUE(allowed(m, 7));
  EXPECT_TRUE(allowed(m, 6));
  EXPECT_FALSE(allowed(m, 5));  // <|user|> does not end a call turn
  EXPECT_FALSE(m.advance(10));
  EXPECT_TRUE(m.advance(6));     // a second call
  EXPECT_TRUE(m.advance(1));
  EXPECT_TRUE(m.advance(0));
  EXPECT_TRUE(m.advance(2));
  EXPECT_TRUE(m.advance(4));
  EXPECT_TRUE(m.advance(7));
  EXPECT_TRUE(m.is_accepting());
}

TEST(TurnGrammar, Errors) {
  auto dup = glm4_turn_grammar({{"a", nlohmann::ordered_json::object()}, {"a", nlohmann::ordered_json::object()}});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::invalid_argument);
  auto bad = glm4_turn_grammar({{"a", nlohmann::ordered_json::parse(R"({"type":"object","dependentSchemas":{}})")}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::unsupported);
  EXPECT_NE(bad.error().message.find("dependentSchemas"), std::string::npos);
}


// Whole-string checks through advance_bytes (no vocabulary subtleties).
bool accepts(const std::vector<ToolSpec>& tools, const TurnGrammarOptions& opt, const std::string& text,
             const std::string& end) {
  auto g = glm4_turn_grammar(tools, opt);
  if (!g) return false;
  auto cg = compile(std::move(g).value(), vocab());
  if (!cg) return false;
  Matcher m(*cg);
  if (!m.advance_bytes(text)) return false;
  return m.advance(end == "obs" ? 7 : end == "ast" ? 6 : 5);
}

TEST(TurnGrammar, SpacedLayoutIsGlm4sOwnArgumentStyle) {
  std::vector<ToolSpec> tools{{"f", nlohmann::ordered_json::parse(
                                        R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"array",)"
                                        R"("items":{"type":"integer"}}},"required":["a","b"],"additionalProperties":false})")}};
  TurnGrammarOptions spaced;  // the default
  EXPECT_TRUE(accepts(tools, spaced, "f\n{\"a\": 1, \"b\": [1, 2]}", "obs"));
  EXPECT_FALSE(accepts(tools, spaced, "f\n{\"a\":1,\"b\":[1,2]}", "obs"));
  TurnGrammarOptions compact;
  compact.layout = JsonLayout::compact;
  EXPECT_TRUE(accepts(tools, compact, "f\n{\"a\":1,\"b\":[1,2]}", "obs"));
  EXPECT_FALSE(accepts(tools, compact, "f\n{\"a\": 1, \"b\": [1, 2]}", "obs"));
}

TEST(TurnGrammar, EnumArgumentsBesideTheTextBranch) {
  // finish_enums compiles a check grammar that inherits the turn grammar's role-token names.
  std::vector<ToolSpec> tools{{"f", nlohmann::ordered_json::parse(
                                        R"({"type":"object","properties":{"unit":{"enum":["c","f"]}},"required":["unit"]})")}};
  TurnGrammarOptions opt;  // text allowed (tool_choice auto)
  EXPECT_TRUE(accepts(tools, opt, "f\n{\"unit\": \"c\"}", "obs"));
  EXPECT_FALSE(accepts(tools, opt, "f\n{\"unit\": \"k\"}", "obs"));
}

TEST(TurnGrammar, SingleCallAndAnswerSchemaOptions) {
  std::vector<ToolSpec> tools{{"f", nlohmann::ordered_json::parse(R"({"type":"object"})")}};
  TurnGrammarOptions one;
  one.parallel = false;
  auto g = glm4_turn_grammar(tools, one);
  ASSERT_TRUE(g.ok());
  Matcher m(*compile(std::move(g).value(), vocab()));
  ASSERT_TRUE(m.advance_bytes("f\n{}"));
  EXPECT_FALSE(allowed(m, 6));  // no <|assistant|> for a second call
  EXPECT_TRUE(allowed(m, 7));

  TurnGrammarOptions answer;
  answer.allow_calls = false;
  answer.answer_schema = nlohmann::ordered_json::parse(R"({"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]})");
  EXPECT_TRUE(accepts(tools, answer, "\n{\"n\": 3}", "user"));
  EXPECT_FALSE(accepts(tools, answer, "\nthree", "user"));
  TurnGrammarOptions none;
  none.allow_text = false;
  none.allow_calls = false;
  EXPECT_FALSE(glm4_turn_grammar(tools, none).ok());
}

}  // namespace
}  // namespace glm::grammar
