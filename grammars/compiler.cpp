// grammars/compiler.cpp — checks a grammar, inlines its non-recursive rules, resolves token terminals.
#include "grammars/compiler.h"

#include <chrono>
#include <unordered_set>

#include <functional>

#include "grammars/compiled_grammar_impl.h"

namespace glm::grammar {

const Vocab& CompiledGrammar::vocab() const { return *impl_->vocab; }
size_t CompiledGrammar::n_states() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->dfa.n_states();
}

namespace {

// Rules called from e, and token ids used in e.
void collect(const ExprPool& pool, ExprId e, std::vector<uint32_t>* calls, std::vector<uint32_t>* tokens) {
  std::vector<ExprId> stack{e};
  std::vector<uint8_t> seen(pool.size(), 0);
  while (!stack.empty()) {
    ExprId x = stack.back();
    stack.pop_back();
    if (seen[x]) continue;
    seen[x] = 1;
    const ExprNode& n = pool.node(x);
    switch (n.kind) {
      case ExprKind::call: calls->push_back(n.a); break;
      case ExprKind::token: tokens->push_back(n.a); break;
      case ExprKind::seq: stack.push_back(n.a); stack.push_back(n.b); break;
      case ExprKind::alt:
        for (ExprId k : pool.kids(x)) stack.push_back(k);
        break;
      case ExprKind::repeat:
      case ExprKind::neg: stack.push_back(n.a); break;
      case ExprKind::conj:
        for (ExprId k : pool.kids(x)) stack.push_back(k);
        break;
      default: break;
    }
  }
}

constexpr size_t kInlineCap = 200000;  // expression nodes

}  // namespace

namespace {
// The token caches of the states nearest the rule starts (breadth first over byte, call and token edges), at
// most kWarmStates of them or kWarmBudget of time: a sequence's first masks (and, on the shared store, other
// grammars') then find them ready instead of walking the token trie in the middle of decoding.
constexpr size_t kWarmStates = 64;
constexpr auto kWarmBudget = std::chrono::microseconds(700);

void warm_token_caches(CompiledGrammar::Impl& impl) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<uint32_t> queue;
  std::unordered_set<uint32_t> seen;
  for (uint32_t s : impl.rule_start)
    if (s != Automaton::kDead && seen.insert(s).second) queue.push_back(s);
  for (size_t qi = 0; qi < queue.size() && qi < kWarmStates; ++qi) {
    if (std::chrono::steady_clock::now() - t0 > kWarmBudget) break;
    const uint32_t s = queue[qi];
    (void)impl.cache(s);
    const DfaState& st = impl.dfa.get(s);
    auto push = [&](uint32_t t) {
      if (t != Automaton::kDead && seen.insert(t).second) queue.push_back(t);
    };
    for (unsigned b = 0; b < 256; ++b) push(st.next[b]);
    for (const auto& [rule, target] : st.calls) push(target);
    for (const auto& [tok, target] : st.tokens) push(target);
  }
}
}  // namespace

Result<CompiledGrammar> compile(Grammar grammar, std::shared_ptr<const Vocab> vocab, CompileOptions options) {
  const size_t n_rules = grammar.rules.size();
  if (n_rules == 0 || grammar.root >= n_rules)
    return make_error(ErrorCode::invalid_argument, "grammar has no root rule");
  auto impl = std::make_shared<CompiledGrammar::Impl>();
  impl->vocab = vocab;
  impl->pool = std::move(grammar.pool);
  impl->root = grammar.root;
  ExprPool& pool = impl->pool;

  // Check references and token terminals.
  std::vector<std::vector<uint32_t>> callees(n_rules);
  for (size_t r = 0; r < n_rules; ++r) {
    std::vector<uint32_t> tokens;
    collect(pool, grammar.rules[r].body, &callees[r], &tokens);
    for (uint32_t q : callees[r])
      if (q >= n_rules)
        return make_error(ErrorCode::invalid_argument,
                          "rule '" + grammar.rules[r].name + "' calls undefined rule #" + std::to_string(q));
    for (uint32_t t : tokens) {
      if (t >= kNamedTokenBase) continue;
      if (t >= vocab->n_vocab())
        return make_error(ErrorCode::invalid_argument, "token terminal <[" + std::to_string(t) +
                                                           "]> is outside the vocabulary (" +
                                                           std::to_string(vocab->n_vocab()) + " tokens)");
    }
  }
  for (const std::string& name : grammar.named_tokens) {
    auto id = vocab->special_id(name);
    if (!id) return make_error(ErrorCode::not_found, "token terminal <" + name + "> is not a special token of the vocabulary");
    impl->token_ids.push_back(*id);
  }

  // Recursive rules (those that reach themselves through calls) stay rules; the others are inlined.
  std::vector<uint8_t> recursive(n_rules, 0);
  for (size_t r = 0; r < n_rules; ++r) {
    std::vector<uint8_t> seen(n_rules, 0);
    std::vector<uint32_t> stack(callees[r].begin(), callees[r].end());
    while (!stack.empty()) {
      uint32_t q = stack.back();
      stack.pop_back();
      if (q == r) { recursive[r] = 1; break; }
      if (seen[q]) continue;
      seen[q] = 1;
      stack.insert(stack.end(), callees[q].begin(), callees[q].end());
    }
  }
  // Productive rules (with a non-empty language); calls of the others become kEmpty, so that every
  // live automaton state can still reach an accepting one.
  std::vector<uint8_t> productive(n_rules, 0);
  std::function<bool(ExprId, std::vector<int8_t>&)> prod = [&](ExprId e, std::vector<int8_t>& memo) -> bool {
    if (memo[e] >= 0) return memo[e];
    const ExprNode& n = pool.node(e);
    bool r = false;
    switch (n.kind) {
      case ExprKind::empty: r = false; break;
      case ExprKind::call: r = productive[n.a]; break;
      case ExprKind::seq: r = prod(n.a, memo) && prod(n.b, memo); break;
      case ExprKind::alt:
        for (ExprId k : pool.kids(e)) r = r || prod(k, memo);
        break;
      case ExprKind::repeat: r = n.min == 0 || prod(n.a, memo); break;
      case ExprKind::conj:
      case ExprKind::neg: r = true; break;  // call-free; emptiness is left to the automaton
      default: r = true; break;
    }
    memo[e] = r;
    return r;
  };
  for (bool changed = true; changed;) {
    changed = false;
    std::vector<int8_t> memo(pool.size(), -1);
    for (size_t r = 0; r < n_rules; ++r)
      if (!productive[r] && prod(grammar.rules[r].body, memo)) { productive[r] = 1; changed = true; }
  }
  // A root that derives nothing (e.g. the JSON Schema `false`) is legal: every input is rejected.
  std::vector<ExprId> body(n_rules, ExprPool::kEmpty);
  std::vector<ExprId> inline_body(n_rules, kInf);
  for (size_t r = 0; r < n_rules; ++r)
    if (!productive[r]) inline_body[r] = ExprPool::kEmpty;
  std::vector<uint8_t> state(n_rules, 0);  // 0 new, 1 on stack, 2 done
  std::function<void(uint32_t)> visit = [&](uint32_t r) {
    state[r] = 1;
    for (uint32_t q : callees[r])
      if (state[q] == 0 && productive[q]) visit(q);
    body[r] = pool.substitute_calls(grammar.rules[r].body, inline_body);
    if (!recursive[r] && pool.reach_size(body[r], kInlineCap + 1) <= kInlineCap) inline_body[r] = body[r];
    state[r] = 2;
  };
  visit(grammar.root);
  // Rules inside cycles were finished before all their callees were; substitute once more.
  for (size_t r = 0; r < n_rules; ++r)
    if (state[r] == 2 && recursive[r]) body[r] = pool.substitute_calls(body[r], inline_body);
  impl->rule_start.assign(n_rules, Automaton::kDead);
  for (size_t r = 0; r < n_rules; ++r)
    if (state[r] == 2) impl->rule_start[r] = impl->dfa.state_of(body[r]);
  if (options.warm_token_caches) warm_token_caches(*impl);
  return CompiledGrammar(std::move(impl));
}

}  // namespace glm::grammar
