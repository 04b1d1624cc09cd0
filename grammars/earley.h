// grammars/earley.h — an Earley chart over rule automata: the parse state of one byte sequence.
//
// An item is (rule, automaton state, origin set). Scanning a byte moves every item whose state has a
// transition on it; the closure predicts called rules and completes accepting items (nullable rules
// handled as Aycock-Horspool). Left recursion is handled (no item is added twice to a set).
// One set per consumed byte (or special token); pop() undoes the last push, so rollback is O(1) per byte.
// Owns: its sets. Shares: the Automaton (caller holds the grammar's lock around every call).
// Threads: one thread at a time.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "grammars/automaton.h"
#include "grammars/grammar.h"

namespace glm::grammar {

struct Item {
  uint32_t rule, state, origin;
};

struct ChartGrammar {
  Automaton* dfa;
  const std::vector<uint32_t>* rule_start;  // start state of each rule
  uint32_t root;
  const std::vector<uint32_t>* token_ids;   // grammar token id -> vocabulary id (named tokens)
  uint32_t resolve(uint32_t grammar_token) const;
};

class Chart {
 public:
  // Starts over with set 0 = closure of the root rule.
  void reset(const ChartGrammar& g);
  // Scans one byte / one special token into a new set; false (chart unchanged) when nothing matches.
  bool push_byte(const ChartGrammar& g, uint8_t b);
  bool push_token(const ChartGrammar& g, uint32_t vocab_id);
  void pop() { starts_.pop_back(); items_.resize(starts_.back()); }
  size_t n_sets() const { return starts_.size() - 1; }
  std::span<const Item> last() const {
    return {items_.data() + starts_[starts_.size() - 2], items_.data() + items_.size()};
  }
  // True when the root rule is complete at the last set.
  bool accepting(const ChartGrammar& g) const;
  // Truncates to the first n sets.
  void truncate(size_t n_sets) {
    starts_.resize(n_sets + 1);
    items_.resize(starts_.back());
  }
  size_t n_items() const { return items_.size(); }

 private:
  void add(uint32_t rule, uint32_t state, uint32_t origin);
  void close(const ChartGrammar& g);

  std::vector<Item> items_;
  std::vector<uint32_t> starts_{0};  // set k = items_[starts_[k], starts_[k+1]); last is open
  // Closure scratch.
  std::vector<uint32_t> table_;      // open addressing: item index + 1, 0 = empty
  std::vector<uint32_t> nullable_done_;
  std::vector<uint64_t> completed_;  // (rule, origin) completed into this set
};

}  // namespace glm::grammar
