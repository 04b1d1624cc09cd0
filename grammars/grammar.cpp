// grammars/grammar.cpp — small helpers of the Grammar value.
#include "grammars/grammar.h"

namespace glm::grammar {

ExprId Grammar::named_token(const std::string& spelling) {
  for (size_t i = 0; i < named_tokens.size(); ++i)
    if (named_tokens[i] == spelling) return pool.token(kNamedTokenBase + static_cast<uint32_t>(i));
  named_tokens.push_back(spelling);
  return pool.token(kNamedTokenBase + static_cast<uint32_t>(named_tokens.size() - 1));
}

std::string Grammar::to_string() const {
  std::string s;
  for (size_t i = 0; i < rules.size(); ++i)
    s += (i == root ? "*" : "") + rules[i].name + " ::= " + pool.to_string(rules[i].body) + "\n";
  return s;
}

}  // namespace glm::grammar
