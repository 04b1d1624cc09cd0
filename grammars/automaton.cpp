// grammars/automaton.cpp — lazy expansion of DFA states by derivative classes.
#include "grammars/automaton.h"

#include <algorithm>
#include <array>

namespace glm::grammar {

Automaton::Automaton(ExprPool* pool) : pool_(pool) {
  states_.emplace_back();  // dead
  states_[0].expanded = true;
  states_[0].next = std::make_unique<uint32_t[]>(256);
  by_expr_[ExprPool::kEmpty] = 0;
  next_ptr_.push_back(states_[0].next.get());
  escape_.push_back(0);
}

namespace {

// Byte classes of e: bytes in the same class have the same derivative; class 0 holds the bytes outside
// every first-position byte set (dead unless *any_byte).
uint16_t byte_classes(ExprPool& pool, ExprId e, std::array<uint16_t, 256>* cls, std::vector<uint32_t>* calls,
                      std::vector<uint32_t>* tokens, bool* any_byte) {
  std::vector<uint32_t> sets;
  pool.first_symbols(e, &sets, calls, tokens, any_byte);
  std::sort(sets.begin(), sets.end());
  sets.erase(std::unique(sets.begin(), sets.end()), sets.end());
  // Partition refinement on 256-bit blocks; block 0 = bytes in no set.
  ByteSet covered;
  std::vector<ByteSet> blocks;
  for (uint32_t si : sets) {
    const ByteSet& bs = pool.byte_set(si);
    covered = covered | bs;
    size_t n = blocks.size();
    ByteSet rest = bs;
    for (size_t i = 0; i < n; ++i) {
      ByteSet in, out;
      for (int w = 0; w < 4; ++w) {
        in.w[w] = blocks[i].w[w] & bs.w[w];
        out.w[w] = blocks[i].w[w] & ~bs.w[w];
        rest.w[w] &= ~blocks[i].w[w];
      }
      if (!in.empty() && !out.empty()) {
        blocks[i] = in;
        blocks.push_back(out);
      }
    }
    if (!rest.empty()) blocks.push_back(rest);
  }
  cls->fill(0);
  for (size_t i = 0; i < blocks.size(); ++i)
    for (int w = 0; w < 4; ++w) {
      uint64_t bits = blocks[i].w[w];
      while (bits) {
        int b = __builtin_ctzll(bits);
        bits &= bits - 1;
        (*cls)[w * 64 + b] = static_cast<uint16_t>(i + 1);
      }
    }
  return static_cast<uint16_t>(blocks.size() + 1);
}

}  // namespace

// True when e (which contains conj/neg) matches nothing: no nullable derivative, call or token edge is
// reachable. Bounded: beyond the budget the language is assumed non-empty.
bool Automaton::language_empty(ExprId e) {
  auto it = empty_memo_.find(e);
  if (it != empty_memo_.end()) return it->second;
  std::vector<ExprId> stack{e};
  std::unordered_map<ExprId, bool> seen{{e, true}};
  bool empty = true;
  while (!stack.empty() && empty) {
    ExprId x = stack.back();
    stack.pop_back();
    if (pool_->nullable(x)) { empty = false; break; }
    std::array<uint16_t, 256> cls;
    std::vector<uint32_t> calls, tokens;
    bool any_byte = false;
    uint16_t n_cls = byte_classes(*pool_, x, &cls, &calls, &tokens, &any_byte);
    if (!calls.empty() || !tokens.empty()) { empty = false; break; }
    std::vector<uint8_t> done(n_cls, 0);
    for (unsigned b = 0; b < 256; ++b) {
      uint16_t c = cls[b];
      if (done[c] || (c == 0 && !any_byte)) continue;
      done[c] = 1;
      ExprId d = pool_->deriv(x, sym_byte(b));
      if (d == ExprPool::kEmpty) continue;
      auto memo = empty_memo_.find(d);
      if (memo != empty_memo_.end()) {
        if (!memo->second) { empty = false; break; }
        continue;
      }
      if (seen.emplace(d, true).second) stack.push_back(d);
    }
    if (seen.size() > 64) { empty = false; break; }
  }
  empty_memo_[e] = empty;
  return empty;
}

uint32_t Automaton::state_of(ExprId e) {
  auto it = by_expr_.find(e);
  if (it != by_expr_.end()) return it->second;
  if (pool_->node(e).boolean && language_empty(e)) {
    by_expr_[e] = kDead;
    return kDead;
  }
  uint32_t id = static_cast<uint32_t>(states_.size());
  states_.emplace_back();
  states_.back().expr = e;
  states_.back().accepting = pool_->nullable(e);
  by_expr_[e] = id;
  return id;
}

void Automaton::expand(uint32_t s) {
  ExprId e = states_[s].expr;
  std::array<uint16_t, 256> cls;
  std::vector<uint32_t> calls, tokens;
  bool any_byte = false;
  uint16_t n_cls = byte_classes(*pool_, e, &cls, &calls, &tokens, &any_byte);
  auto next = std::make_unique<uint32_t[]>(256);
  std::vector<int64_t> target(n_cls, -1);
  if (!any_byte) target[0] = kDead;
  for (unsigned b = 0; b < 256; ++b) {
    uint16_t c = cls[b];
    if (target[c] < 0) target[c] = state_of(pool_->deriv(e, sym_byte(b)));
    next[b] = static_cast<uint32_t>(target[c]);
  }
  std::vector<std::pair<uint32_t, uint32_t>> call_edges, token_edges;
  for (uint32_t q : calls) {
    uint32_t t = state_of(pool_->deriv(e, sym_call(q)));
    if (t != kDead) call_edges.push_back({q, t});
  }
  for (uint32_t t : tokens) {
    uint32_t target_state = state_of(pool_->deriv(e, sym_token(t)));
    if (target_state != kDead) token_edges.push_back({t, target_state});
  }
  DfaState& st = states_[s];
  st.next = std::move(next);
  st.calls = std::move(call_edges);
  st.tokens = std::move(token_edges);
  st.escape = st.accepting || !st.calls.empty();
  st.expanded = true;
  if (next_ptr_.size() <= s) {
    next_ptr_.resize(states_.size(), nullptr);
    escape_.resize(states_.size(), 0);
  }
  next_ptr_[s] = st.next.get();
  escape_[s] = st.escape;
}

}  // namespace glm::grammar
