// tests/grammars/gbnf_parser_test.cpp — GBNF syntax, errors with line:col, and the stock grammars.
#include "grammars/gbnf_parser.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "grammars/compiler.h"
#include "grammars/matcher.h"

namespace glm::grammar {
namespace {

void expect_error(const std::string& text, const std::string& where, const std::string& what) {
  auto g = parse_gbnf(text);
  ASSERT_FALSE(g.ok()) << text;
  EXPECT_EQ(g.error().code, ErrorCode::syntax);
  EXPECT_EQ(g.error().message.rfind(where, 0), 0u) << g.error().message;
  EXPECT_NE(g.error().message.find(what), std::string::npos) << g.error().message;
}

TEST(GbnfParser, ErrorsCarryLineAndColumn) {
  expect_error("root ::= \"a\"\nfoo ::= bar\n", "2:9:", "undefined rule 'bar'");
  expect_error("root ::= \"abc\n", "1:14:", "newline in a string literal");
  expect_error("root := \"a\"", "1:6:", "expected '::='");
  expect_error("root ::= [a-", "1:13:", "unterminated character class");
  expect_error("root ::= (\"a\"", "1:14:", "expected ')'");
  expect_error("root ::= \"a\"{3,1}", "1:18:", "n < m");
  expect_error("root ::= \"\\q\"", "1:12:", "unknown escape");
  expect_error("x ::= \"a\"", "1:1:", "no rule named 'root'");
  expect_error("root ::= \"a\"\nroot ::= \"b\"", "2:1:", "defined twice");
  expect_error("root ::= !<[5]>", "1:10:", "negated token");
}

TEST(GbnfParser, Syntax) {
  auto g = parse_gbnf("# comment\nroot ::= a (\n  \"x\" |\n  \"y\" # inner comment\n) b{2} <[7]> <|user|>\na ::= [^a-z\\u00e9]*\nb ::= .\n");
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->named_tokens.size(), 1u);
  EXPECT_EQ(g->rules[g->root].name, "root");
}

TEST(GbnfParser, StockGrammarsParseAndCompile) {
  const auto dir = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "grammars";
  int n = 0;
  auto vocab = Vocab::build(VocabView{{"a", "<|user|>", "<|endoftext|>"}, {1, 2}, {}});
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".gbnf") continue;
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    auto g = parse_gbnf(ss.str());
    ASSERT_TRUE(g.ok()) << e.path() << ": " << g.error().message;
    auto cg = compile(std::move(*g), vocab);
    ASSERT_TRUE(cg.ok()) << e.path() << ": " << cg.error().message;
    ++n;
  }
  EXPECT_GE(n, 4);
}

bool accepts(const std::string& gbnf, const std::string& text) {
  auto g = parse_gbnf(gbnf);
  EXPECT_TRUE(g.ok());
  auto cg = compile(std::move(*g), Vocab::build(VocabView{{"a"}, {}, {}}));
  EXPECT_TRUE(cg.ok());
  Matcher m(*cg);
  return m.advance_bytes(text) && m.is_accepting();
}

TEST(GbnfParser, ArithmeticLeftRecursion) {
  const char* g = "root ::= expr\nexpr ::= expr (\"+\" | \"-\") term | term\nterm ::= term \"*\" factor | factor\n"
                  "factor ::= [0-9]+ | \"(\" expr \")\"";
  EXPECT_TRUE(accepts(g, "1+2*(3-4)*5"));
  EXPECT_FALSE(accepts(g, "1+*2"));
  EXPECT_FALSE(accepts(g, "(1+2"));
}

}  // namespace
}  // namespace glm::grammar
