// grammars/automaton.cpp — lazy expansion of DFA states by derivative classes.
#include "grammars/automaton.h"

#include <array>

namespace glm::grammar {

Automaton::Automaton(ExprPool* pool) : pool_(pool) {
  states_.emplace_back();  // dead
  states_[0].expanded = true;
  states_[0].next = std::make_unique<uint32_t[]>(256);
  by_expr_[ExprPool::kEmpty] = 0;
}

uint32_t Automaton::state_of(ExprId e) {
  auto it = by_expr_.find(e);
  if (it != by_expr_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(states_.size());
  states_.emplace_back();
  states_.back().expr = e;
  states_.back().accepting = pool_->nullable(e);
  by_expr_[e] = id;
  return id;
}

void Automaton::expand(uint32_t s) {
  ExprId e = states_[s].expr;
  std::vector<uint32_t> sets, calls, tokens;
  pool_->first_symbols(e, &sets, &calls, &tokens);
  // Refine the byte partition by membership in each first-position byte set; class 0 = in no set.
  std::array<uint16_t, 256> cls{};
  uint16_t n_cls = 1;
  for (uint32_t si : sets) {
    const ByteSet& bs = pool_->byte_set(si);
    std::array<int32_t, 1024> remap;  // (old class, member) -> new class
    remap.fill(-1);
    uint16_t next_cls = 0;
    std::array<uint16_t, 256> out{};
    // Keep "in no set" = 0 only for bytes that were 0 and are not members.
    for (unsigned b = 0; b < 256; ++b) {
      bool member = bs.test(b);
      if (cls[b] == 0 && !member) { out[b] = 0; continue; }
      int key = cls[b] * 2 + member;
      if (key >= 1024) key = 1023;  // unreachable for sane partitions (<= 256 classes)
      if (remap[key] < 0) remap[key] = ++next_cls;
      out[b] = static_cast<uint16_t>(remap[key]);
    }
    cls = out;
    n_cls = static_cast<uint16_t>(next_cls + 1);
  }
  auto next = std::make_unique<uint32_t[]>(256);
  std::vector<int64_t> target(n_cls, -1);
  target[0] = kDead;
  for (unsigned b = 0; b < 256; ++b) {
    uint16_t c = cls[b];
    if (target[c] < 0) target[c] = state_of(pool_->deriv(e, sym_byte(b)));
    next[b] = static_cast<uint32_t>(target[c]);
  }
  std::vector<std::pair<uint32_t, uint32_t>> call_edges, token_edges;
  for (uint32_t q : calls) {
    ExprId d = pool_->deriv(e, sym_call(q));
    if (d != ExprPool::kEmpty) call_edges.push_back({q, state_of(d)});
  }
  for (uint32_t t : tokens) {
    ExprId d = pool_->deriv(e, sym_token(t));
    if (d != ExprPool::kEmpty) token_edges.push_back({t, state_of(d)});
  }
  DfaState& st = states_[s];
  st.next = std::move(next);
  st.calls = std::move(call_edges);
  st.tokens = std::move(token_edges);
  st.escape = st.accepting || !st.calls.empty();
  st.expanded = true;
}

}  // namespace glm::grammar
