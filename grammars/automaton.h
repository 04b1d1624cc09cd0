// grammars/automaton.h — a lazily built DFA over grammar expressions (one state per derivative).
//
// A state is an expression; its byte transitions, rule-call edges and special-token edges are computed
// on first use from derivatives (grammars/expr.h) and then kept. State 0 is the dead state.
// Owns: its states; points into the ExprPool it was given (which must outlive it).
// Threads: one thread at a time (CompiledGrammar holds a mutex around every use).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "grammars/expr.h"

namespace glm::grammar {

struct DfaState {
  ExprId expr = ExprPool::kEmpty;
  bool accepting = false;
  bool expanded = false;
  bool escape = false;  // accepting or has call edges: a token may leave this rule's automaton here
  std::unique_ptr<uint32_t[]> next;                    // 256 byte transitions (0 = dead)
  std::vector<std::pair<uint32_t, uint32_t>> calls;    // (rule, target state)
  std::vector<std::pair<uint32_t, uint32_t>> tokens;   // (token id as in the grammar, target state)
};

class Automaton {
 public:
  static constexpr uint32_t kDead = 0;

  explicit Automaton(ExprPool* pool);

  uint32_t state_of(ExprId e);
  const DfaState& get(uint32_t s) {
    DfaState& st = states_[s];
    if (!st.expanded) expand(s);
    return st;
  }
  uint32_t step(uint32_t s, uint8_t b) { return next_table(s)[b]; }
  // The 256 transitions of s (expanding it first if needed). Valid until the next expansion of any state
  // only as an index source: the table itself is heap-allocated and stable.
  const uint32_t* next_table(uint32_t s) {
    const uint32_t* t = s < next_ptr_.size() ? next_ptr_[s] : nullptr;
    if (!t) {
      expand(s);
      t = next_ptr_[s];
    }
    return t;
  }
  // accepting or has call edges (expands s if needed).
  bool escape(uint32_t s) {
    if (s >= next_ptr_.size() || !next_ptr_[s]) expand(s);
    return escape_[s];
  }
  size_t n_states() const { return states_.size(); }
  ExprPool& pool() { return *pool_; }

 private:
  void expand(uint32_t s);
  bool language_empty(ExprId e);

  ExprPool* pool_;
  std::deque<DfaState> states_;  // deque: references stay valid while states are added
  std::unordered_map<ExprId, uint32_t> by_expr_;
  std::unordered_map<ExprId, bool> empty_memo_;
  std::vector<const uint32_t*> next_ptr_;  // by state; null until expanded
  std::vector<uint8_t> escape_;
};

}  // namespace glm::grammar
