// grammars/grammar.h — a grammar: named rules whose bodies are expressions over bytes, rule calls and
// special tokens (grammars/expr.h). The common output of the front ends (GBNF, regex, JSON Schema, the
// GLM-4 turn grammar) and the input of compile() (grammars/compiler.h).
//
//   Grammar g;
//   uint32_t digit = g.add_rule("digit", g.pool.byte_range('0', '9'));
//   g.root = g.add_rule("root", g.pool.plus(g.pool.call(digit)));
//
// Special tokens are referenced by id (`<[151338]>`) or by spelling (`<|observation|>`); spellings are
// resolved against the vocabulary at compile time (named_tokens maps a placeholder id to the spelling).
// Owns: its pool and rules. Threads: a plain value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "grammars/expr.h"

namespace glm::grammar {

struct Rule {
  std::string name;
  ExprId body = ExprPool::kEmpty;
};

// Token placeholders at and above this id name a special token by spelling (named_tokens[id - base]).
inline constexpr uint32_t kNamedTokenBase = 0x40000000;

struct Grammar {
  ExprPool pool;
  std::vector<Rule> rules;
  uint32_t root = 0;
  std::vector<std::string> named_tokens;

  uint32_t add_rule(std::string name, ExprId body = ExprPool::kEmpty) {
    rules.push_back(Rule{std::move(name), body});
    return static_cast<uint32_t>(rules.size() - 1);
  }
  // A placeholder token expression for a special token given by its spelling.
  ExprId named_token(const std::string& spelling);
  // GBNF-like listing of all rules (for messages and tests).
  std::string to_string() const;
};

}  // namespace glm::grammar
