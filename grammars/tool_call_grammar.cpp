#include "grammars/tool_call_grammar.h"

#include "grammars/json_schema.h"

namespace glm::grammar {

Result<Grammar> tool_call_grammar(const ToolCallGrammarSpec& spec) {
  if (!spec.allow_text && (!spec.allow_calls || spec.tools.empty()))
    return make_error(ErrorCode::invalid_argument, "a turn must allow a text answer or at least one tool");
  Grammar g;
  ExprPool& p = g.pool;
  g.root = g.add_rule("turn");
  std::vector<ExprId> branches;
  if (spec.allow_text) {
    ExprId body;
    if (spec.answer_schema) {
      auto e = json_schema_to_expr(g, *spec.answer_schema);
      if (!e) return make_error(e.error().code, "answer schema: " + e.error().message);
      body = *e;
    } else {
      body = p.star(p.code_points(0, 0x10FFFF));
    }
    uint32_t text = g.add_rule("answer", p.seq({p.byte('\n'), body}));
    branches.push_back(p.seq({p.call(text), p.alt(g.named_token("<|user|>"), g.named_token("<|endoftext|>"))}));
  }
  if (spec.allow_calls && !spec.tools.empty()) {
    std::vector<ExprId> calls;
    for (const auto& t : spec.tools) {
      auto args = json_schema_to_expr(g, t.parameters);
      if (!args) return make_error(args.error().code, "tool \"" + t.name + "\": " + args.error().message);
      calls.push_back(p.seq({p.literal(t.name + "\n"), *args}));
    }
    uint32_t call = g.add_rule("call", p.alt(calls));
    ExprId more = spec.parallel ? p.star(p.seq({g.named_token("<|assistant|>"), p.call(call)})) : ExprPool::kEps;
    branches.push_back(p.seq({p.call(call), more, g.named_token("<|observation|>")}));
  }
  g.rules[g.root].body = p.alt(branches);
  return g;
}

}  // namespace glm::grammar
