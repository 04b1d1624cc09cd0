// tests/grammars/matcher_test.cpp — the matcher against hand-written cases and, for random grammars and
// vocabularies, fill_mask against brute force (each token's bytes fed through a fork of the parser).
#include "grammars/matcher.h"

#include <gtest/gtest.h>

#include <random>

#include "grammars/compiler.h"
#include "grammars/gbnf_parser.h"
#include "grammars/json_schema.h"

namespace glm::grammar {
namespace {

std::shared_ptr<const Vocab> small_vocab(std::vector<std::string> tokens, std::vector<uint32_t> special = {},
                                         std::vector<uint32_t> stop = {}) {
  return Vocab::build(VocabView{std::move(tokens), std::move(special), std::move(stop)});
}

Matcher make(const std::string& gbnf, std::shared_ptr<const Vocab> vocab) {
  auto g = parse_gbnf(gbnf);
  EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().to_string());
  auto cg = compile(*g, vocab);
  EXPECT_TRUE(cg.ok()) << (cg.ok() ? "" : cg.error().to_string());
  return Matcher(*cg);
}

bool accepts(const std::string& gbnf, const std::string& text) {
  auto vocab = small_vocab({"a"});
  Matcher m = make(gbnf, vocab);
  return m.advance_bytes(text) && m.is_accepting();
}

std::vector<bool> mask_of(Matcher& m) {
  std::vector<uint32_t> bits(m.n_words());
  m.fill_mask(bits.data());
  std::vector<bool> out;
  for (uint32_t i = 0; i < m.n_words() * 32; ++i) out.push_back((bits[i / 32] >> (i % 32)) & 1);
  return out;
}

TEST(Matcher, Basics) {
  EXPECT_TRUE(accepts(R"(root ::= "ab" | "cd")", "ab"));
  EXPECT_FALSE(accepts(R"(root ::= "ab" | "cd")", "ad"));
  EXPECT_TRUE(accepts(R"(root ::= [a-c]+ "!")", "abcab!"));
  EXPECT_FALSE(accepts(R"(root ::= [a-c]+ "!")", "!"));
  EXPECT_TRUE(accepts(R"(root ::= "x"{2,3})", "xxx"));
  EXPECT_FALSE(accepts(R"(root ::= "x"{2,3})", "xxxx"));
  EXPECT_FALSE(accepts(R"(root ::= "x"{2,3})", "x"));
  EXPECT_TRUE(accepts("root ::= [^a]", "\xC3\xA9"));     // é is one code point
  EXPECT_FALSE(accepts("root ::= [^a]", "\xC3"));        // half a code point is not complete
  EXPECT_TRUE(accepts(R"(root ::= "\u00e9")", "\xC3\xA9"));
}

TEST(Matcher, RecursionAndLeftRecursion) {
  const std::string paren = R"g(root ::= "(" root ")" | "")g";
  EXPECT_TRUE(accepts(paren, "((()))"));
  EXPECT_FALSE(accepts(paren, "(()"));
  const std::string left = "root ::= root \"+\" num | num\nnum ::= [0-9]+";
  EXPECT_TRUE(accepts(left, "1+22+333"));
  EXPECT_FALSE(accepts(left, "1++2"));
  const std::string nullable = "root ::= a a \"x\"\na ::= \"y\"?";
  EXPECT_TRUE(accepts(nullable, "x"));
  EXPECT_TRUE(accepts(nullable, "yyx"));
  EXPECT_FALSE(accepts(nullable, "yyyx"));
}

TEST(Matcher, MaskAdvanceRollbackFork) {
  auto vocab = small_vocab({"a", "b", "ab", "ba", "<eos>", "c"}, {4}, {4});
  Matcher m = make(R"(root ::= ("a" | "b")+ "c")", vocab);
  auto mask = mask_of(m);
  EXPECT_TRUE(mask[0] && mask[1] && mask[2] && mask[3]);
  EXPECT_FALSE(mask[4] || mask[5]);
  EXPECT_TRUE(m.advance(2));
  EXPECT_FALSE(m.advance(4));  // not complete: stop refused
  Matcher f = m.fork();
  EXPECT_TRUE(m.advance(5));
  EXPECT_TRUE(m.is_accepting());
  mask = mask_of(m);
  EXPECT_TRUE(mask[4]);
  EXPECT_FALSE(mask[0] || mask[5]);
  EXPECT_TRUE(m.advance(4));
  EXPECT_TRUE(m.is_terminated());
  m.rollback(2);
  EXPECT_FALSE(m.is_terminated());
  EXPECT_EQ(m.n_tokens(), 1u);
  EXPECT_TRUE(m.advance(0));
  EXPECT_FALSE(f.is_accepting());  // the fork is independent
  EXPECT_TRUE(f.advance(5));
}

TEST(Matcher, SpecialTokensOnlyById) {
  // "<|obs|>" is a special token; a plain token spelling the same bytes must not satisfy the terminal.
  auto vocab = small_vocab({"x", "<|obs|>", "<|obs|>", "\n"}, {1});
  Matcher m = make("root ::= \"x\" <|obs|>", vocab);
  EXPECT_TRUE(m.advance(0));
  auto mask = mask_of(m);
  EXPECT_TRUE(mask[1]);
  EXPECT_FALSE(mask[2]);
  EXPECT_FALSE(m.advance(2));
  EXPECT_TRUE(m.advance(1));
  EXPECT_TRUE(m.is_accepting());
}

TEST(Matcher, ForcedBytes) {
  auto vocab = small_vocab({"{\"", "name", "\":", "n", "a", "m", "e", "\"", ":", "{", "na"});
  Matcher m = make(R"(root ::= "{\"name\":" [0-9])", vocab);
  EXPECT_EQ(m.forced_bytes(), "{\"name\":");
  auto toks = m.forced_tokens();
  ASSERT_FALSE(toks.empty());
  EXPECT_EQ(toks[0], 0);
}

// Random grammars over {a, b, c} with recursion; random vocabularies; masks vs brute force.
std::string random_grammar(std::mt19937& rng) {
  const int n_rules = 1 + rng() % 4;
  auto atom = [&](int depth, auto& self) -> std::string {
    switch (rng() % (depth > 2 ? 3 : 8)) {
      case 0: return "\"" + std::string(1, "abc"[rng() % 3]) + "\"";
      case 1: return "[a-b]";
      case 2: return "\"" + std::string(1, "abc"[rng() % 3]) + std::string(1, "abc"[rng() % 3]) + "\"";
      case 3: return "r" + std::to_string(rng() % n_rules);
      case 4: return "(" + self(depth + 1, self) + " | " + self(depth + 1, self) + ")";
      case 5: return "(" + self(depth + 1, self) + ")" + std::string(1, "*+?"[rng() % 3]);
      case 6: return "(" + self(depth + 1, self) + "){" + std::to_string(rng() % 2) + "," + std::to_string(1 + rng() % 3) + "}";
      default: return self(depth + 1, self) + " " + self(depth + 1, self);
    }
  };
  std::string g = "root ::= r0\n";
  for (int r = 0; r < n_rules; ++r) g += "r" + std::to_string(r) + " ::= " + atom(0, atom) + " | " + atom(1, atom) + "\n";
  return g;
}

TEST(Matcher, MaskSoundnessRandom) {
  std::mt19937 rng(12345);
  int checked = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> tokens;
    int n_tok = 5 + rng() % 30;
    for (int i = 0; i < n_tok; ++i) {
      std::string t;
      int len = 1 + rng() % 4;
      for (int k = 0; k < len; ++k) t.push_back("abc"[rng() % 3]);
      tokens.push_back(t);
    }
    tokens.push_back("</s>");
    auto vocab = small_vocab(tokens, {static_cast<uint32_t>(tokens.size() - 1)}, {static_cast<uint32_t>(tokens.size() - 1)});
    std::string text = random_grammar(rng);
    auto g = parse_gbnf(text);
    ASSERT_TRUE(g.ok()) << text << g.error().to_string();
    auto cg = compile(*g, vocab);
    if (!cg.ok()) continue;  // e.g. a grammar that derives nothing
    Matcher m(*cg);
    for (int step = 0; step < 12 && !m.is_terminated(); ++step) {
      auto mask = mask_of(m);
      std::vector<int> allowed;
      for (uint32_t id = 0; id < tokens.size(); ++id) {
        Matcher f = m.fork();
        bool brute = f.advance(static_cast<int32_t>(id));
        ASSERT_EQ(mask[id], brute) << "grammar:\n" << text << "token '" << tokens[id] << "' step " << step;
        if (brute) allowed.push_back(static_cast<int>(id));
        ++checked;
      }
      if (allowed.empty()) break;
      m.advance(allowed[rng() % allowed.size()]);
    }
  }
  EXPECT_GT(checked, 1000);
}

}  // namespace
}  // namespace glm::grammar

namespace glm::grammar {
namespace {

// JSON Schema grammars (conj/neg, counted repetition clamped for the cache, slices) against brute force,
// with a vocabulary of short JSON fragments so that counts beyond the longest token are clamped.
TEST(Matcher, MaskSoundnessSchemas) {
  const char* schemas[] = {
      R"({"type":"object","properties":{"a":{"type":"string","maxLength":7},"b":{"type":"integer","minimum":-12,"maximum":340}},"required":["a"]})",
      R"({"type":"array","items":{"type":"string","pattern":"^[ab]+c?$","minLength":2},"maxItems":4})",
      R"({"type":"object","additionalProperties":{"type":"number","exclusiveMinimum":1.5},"propertyNames":{"maxLength":3}})",
      R"({"oneOf":[{"type":"string","minLength":3},{"type":"string","pattern":"a"}]})",
      R"({"type":"string","format":"date"})",
      R"({"anyOf":[{"type":"null"},{"type":"array","prefixItems":[{"const":"ab"},{"type":"boolean"}]}]})",
      R"({"$defs":{"n":{"type":"array","items":{"$ref":"#/$defs/n"},"maxItems":2}},"$ref":"#/$defs/n"})",
      R"({})",
  };
  std::vector<std::string> tokens = {"{", "}", "[", "]", "\"", ",", ":", "\"a", "a\"", "\":", "\",", "ab", "abc", "b",
                                     "c", "a", "1", "12", "-", "3", "0", ".", "5", "e", "null", "true", "false", "tr",
                                     "\"a\":", "\"b\":", "2024", "-0", "-1", "-12", "\u00e9", "\xC3", "\xA9", "\\", "\\n",
                                     "aaaa", "bb", "ca", "[\"", "\"]", "]]", "[[", "1.", "\"ab\"", "</s>"};
  const uint32_t stop = static_cast<uint32_t>(tokens.size() - 1);
  auto vocab = Vocab::build(VocabView{tokens, {stop}, {stop}});
  std::mt19937 rng(7);
  int checked = 0;
  for (const char* schema : schemas) {
    auto g = json_schema_text_to_grammar(schema);
    ASSERT_TRUE(g.ok()) << schema << g.error().message;
    auto cg = compile(std::move(*g), vocab);
    ASSERT_TRUE(cg.ok());
    for (int run = 0; run < 12; ++run) {
      Matcher m(*cg);
      for (int step = 0; step < 14 && !m.is_terminated(); ++step) {
        auto mask = mask_of(m);
        std::vector<int> allowed;
        for (uint32_t id = 0; id < tokens.size(); ++id) {
          Matcher f = m.fork();
          bool brute = f.advance(static_cast<int32_t>(id));
          ASSERT_EQ(mask[id], brute) << schema << " token '" << tokens[id] << "' step " << step;
          if (brute) allowed.push_back(static_cast<int>(id));
          ++checked;
        }
        if (allowed.empty()) break;
        m.advance(allowed[rng() % allowed.size()]);
      }
    }
  }
  EXPECT_GT(checked, 5000);
}

}  // namespace
}  // namespace glm::grammar
