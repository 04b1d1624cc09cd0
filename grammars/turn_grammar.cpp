// grammars/turn_grammar.cpp — answer-or-calls grammar of a GLM-4 turn.
#include "grammars/turn_grammar.h"

#include <set>

#include "grammars/json_schema.h"

namespace glm::grammar {

Result<Grammar> glm4_turn_grammar(const std::vector<ToolSpec>& tools, const TurnGrammarOptions& options) {
  Grammar g;
  uint32_t root = g.add_rule("root");
  ExprPool& p = g.pool;
  std::vector<ExprId> branches;
  if (!options.allow_text && (!options.allow_calls || tools.empty()))
    return make_error(ErrorCode::invalid_argument, "a turn must allow a text answer or at least one tool call");
  if (options.allow_text) {
    ExprId text = p.star(p.code_points(0, 0x10FFFF));
    if (options.answer_schema) {
      auto e = json_schema_to_expr(g, *options.answer_schema, options.layout);
      if (!e) return make_error(e.error().code, "answer schema: " + e.error().message);
      text = *e;
    }
    ExprId end = p.alt(g.named_token("<|user|>"), g.named_token("<|endoftext|>"));
    branches.push_back(p.seq({p.byte('\n'), text, end}));
  }
  if (options.allow_calls && !tools.empty()) {
    std::set<std::string> seen;
    std::vector<ExprId> calls;
    for (const ToolSpec& t : tools) {
      if (t.name.empty() || t.name.find('\n') != std::string::npos)
        return make_error(ErrorCode::invalid_argument, "tool name '" + t.name + "' is empty or contains a newline");
      if (!seen.insert(t.name).second)
        return make_error(ErrorCode::invalid_argument, "tool name '" + t.name + "' is declared twice");
      auto args = json_schema_to_expr(g, t.parameters, options.layout);
      if (!args) return make_error(args.error().code, "tool '" + t.name + "': " + args.error().message);
      uint32_t rule = g.add_rule("call " + t.name);
      g.rules[rule].body = p.seq({p.literal(t.name), p.byte('\n'), *args});
      calls.push_back(p.call(rule));
    }
    ExprId call = p.alt(calls);
    ExprId more = options.parallel ? p.star(p.seq(g.named_token("<|assistant|>"), call)) : ExprPool::kEps;
    branches.push_back(p.seq({call, more, g.named_token("<|observation|>")}));
  }
  g.rules[root].body = p.alt(branches);
  g.root = root;
  return g;
}

}  // namespace glm::grammar
