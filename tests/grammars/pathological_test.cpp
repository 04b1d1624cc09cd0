// tests/grammars/pathological_test.cpp — inputs known to hang or crash other engines finish fast.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "grammars/compiler.h"
#include "grammars/gbnf_parser.h"
#include "grammars/json_schema.h"
#include "grammars/matcher.h"

namespace glm::grammar {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::shared_ptr<const Vocab> vocab() {
  static auto v = Vocab::build(VocabView{{"a", "aa", "x", "{\"", "\"", "}", "[", "]", "b", "ab"}, {}, {}});
  return v;
}

Matcher gbnf_matcher(const std::string& text) {
  auto g = parse_gbnf(text);
  EXPECT_TRUE(g.ok()) << g.error().message;
  auto cg = compile(std::move(*g), vocab());
  EXPECT_TRUE(cg.ok()) << cg.error().message;
  return Matcher(*cg);
}

Matcher schema_matcher(const std::string& schema) {
  auto g = json_schema_text_to_grammar(schema);
  EXPECT_TRUE(g.ok()) << g.error().message;
  auto cg = compile(std::move(*g), vocab());
  EXPECT_TRUE(cg.ok()) << cg.error().message;
  return Matcher(*cg);
}

TEST(Pathological, NestedRepetitionDoesNotExplode) {
  auto t0 = Clock::now();
  Matcher m = gbnf_matcher("root ::= ( [x]* )*");  // llama.cpp: segfault
  EXPECT_TRUE(m.advance_bytes(std::string(2000, 'x')));
  std::vector<uint32_t> bits(m.n_words());
  m.fill_mask(bits.data());
  Matcher h = gbnf_matcher("root ::= ( \"a\"{0,99} ){0,99}");  // llama.cpp: hang
  EXPECT_TRUE(h.advance_bytes(std::string(300, 'a')));
  EXPECT_TRUE(h.is_accepting());
  h.fill_mask(bits.data());
  EXPECT_LT(seconds_since(t0), 2.0);
}

TEST(Pathological, AmbiguousAndLeftRecursive) {
  auto t0 = Clock::now();
  Matcher amb = gbnf_matcher("root ::= root root | \"a\"");  // exponentially many parses
  EXPECT_TRUE(amb.advance_bytes(std::string(60, 'a')));
  EXPECT_TRUE(amb.is_accepting());
  Matcher left = gbnf_matcher("root ::= root \"a\" | \"a\"");
  EXPECT_TRUE(left.advance_bytes(std::string(5000, 'a')));
  EXPECT_TRUE(left.is_accepting());
  Matcher alts = gbnf_matcher("root ::= ( \"a\" | \"a\" | \"aa\" )*");
  EXPECT_TRUE(alts.advance_bytes(std::string(5000, 'a')));
  std::vector<uint32_t> bits(alts.n_words());
  alts.fill_mask(bits.data());
  EXPECT_EQ(bits[0] & 3u, 3u);
  EXPECT_LT(seconds_since(t0), 3.0);
}

// Counted repetition is never unrolled, but each character still creates one automaton state
// (~100 us, see the report): a 100000-character string costs seconds, so the exact end of a long
// bound is checked on maxLength 20000 and the 100000 bound only at its start.
TEST(Pathological, HugeMaxLength) {
  auto t0 = Clock::now();
  Matcher big = schema_matcher(R"({"type":"string","maxLength":100000})");
  EXPECT_TRUE(big.advance_bytes("\"" + std::string(1000, 'b')));
  std::vector<uint32_t> bits(big.n_words());
  big.fill_mask(bits.data());
  EXPECT_EQ((bits[0] >> 8) & 1u, 1u);
  EXPECT_LT(seconds_since(t0), 2.0);
  Matcher m = schema_matcher(R"({"type":"string","maxLength":20000})");
  EXPECT_TRUE(m.advance_bytes("\""));
  EXPECT_TRUE(m.advance_bytes(std::string(20000, 'b')));
  m.fill_mask(bits.data());
  EXPECT_EQ((bits[0] >> 8) & 1u, 0u);  // "b": the 20001st character is refused
  EXPECT_FALSE(m.advance_bytes("b"));
  EXPECT_TRUE(m.advance_bytes("\""));
  EXPECT_TRUE(m.is_accepting());
  EXPECT_LT(seconds_since(t0), 10.0);
}

TEST(Pathological, HugeEnumAndDeepNesting) {
  auto t0 = Clock::now();
  std::string schema = "{\"enum\":[";
  for (int i = 0; i < 20000; ++i) schema += (i ? ",\"v" : "\"v") + std::to_string(i * 7919 % 100003) + "\"";
  schema += "]}";
  Matcher e = schema_matcher(schema);
  EXPECT_TRUE(e.advance_bytes("\"v" + std::to_string(5 * 7919 % 100003) + "\""));
  EXPECT_TRUE(e.is_accepting());
  EXPECT_LT(seconds_since(t0), 3.0);

  t0 = Clock::now();
  std::string deep = "{\"type\":\"integer\"}";
  for (int i = 0; i < 100; ++i) deep = "{\"type\":\"object\",\"properties\":{\"a\":" + deep + "},\"required\":[\"a\"],\"additionalProperties\":false}";
  Matcher d = schema_matcher(deep);
  std::string inst = "1";
  for (int i = 0; i < 100; ++i) inst = "{\"a\":" + inst + "}";
  EXPECT_TRUE(d.advance_bytes(inst));
  EXPECT_TRUE(d.is_accepting());
  Matcher any = schema_matcher("{}");
  std::string nested = std::string(2000, '[') + std::string(2000, ']');
  EXPECT_TRUE(any.advance_bytes(nested));
  EXPECT_TRUE(any.is_accepting());
  EXPECT_LT(seconds_since(t0), 3.0);
}

TEST(Pathological, MalformedInputsAreErrorsNotCrashes) {
  for (const char* bad : {"root ::= (", "root ::= \"", "root ::= [", "root ::= a{", "::=", "root ::= <[", "root ::= x{99999999999}"}) {
    auto g = parse_gbnf(bad);
    EXPECT_FALSE(g.ok()) << bad;
  }
  for (const char* bad : {"{", "[1,2", "{\"type\":1}", "{\"pattern\":\"(\"}", "{\"pattern\":\"[z-a]\"}", "{\"pattern\":\"a{3,1}\"}",
                          "{\"minLength\":-1}", "{\"$ref\":\"#/nope\"}", "{\"properties\":[]}", "{\"$ref\":\"#\"}"}) {
    auto g = json_schema_text_to_grammar(bad);
    if (g.ok()) {  // {"$ref":"#"} is the any-value schema referring to itself: legal, and must terminate
      auto cg = compile(std::move(*g), vocab());
      (void)cg;
    }
  }
  SUCCEED();
}

}  // namespace
}  // namespace glm::grammar
