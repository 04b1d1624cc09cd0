// grammars/earley.cpp — scanning and closure of Earley sets.
#include "grammars/earley.h"

#include <algorithm>

namespace glm::grammar {

uint32_t ChartGrammar::resolve(uint32_t t) const {
  if (t >= kNamedTokenBase) return (*token_ids)[t - kNamedTokenBase];
  return t;
}

namespace {
inline uint64_t item_hash(uint32_t r, uint32_t s, uint32_t o) {
  uint64_t h = (uint64_t{s} * 0x9E3779B97F4A7C15ull) ^ (uint64_t{r} * 0xC2B2AE3D27D4EB4Full) ^
               (uint64_t{o} * 0x165667B19E3779F9ull);
  return h ^ (h >> 29);
}
}  // namespace

void Chart::add(uint32_t rule, uint32_t state, uint32_t origin) {
  if (state == Automaton::kDead) return;
  uint32_t begin = starts_.back();
  uint32_t n = static_cast<uint32_t>(items_.size()) - begin;
  if (n < 16 && table_.empty()) {
    for (uint32_t i = begin; i < items_.size(); ++i) {
      const Item& it = items_[i];
      if (it.state == state && it.origin == origin && it.rule == rule) return;
    }
    items_.push_back(Item{rule, state, origin});
    return;
  }
  // Hash table over the open set, (re)built when it grows past half full.
  if (table_.size() < 2 * (n + 1)) {
    size_t cap = 64;
    while (cap < 4 * (n + 1)) cap *= 2;
    table_.assign(cap, 0);
    for (uint32_t i = begin; i < items_.size(); ++i) {
      const Item& it = items_[i];
      size_t h = item_hash(it.rule, it.state, it.origin) & (cap - 1);
      while (table_[h]) h = (h + 1) & (cap - 1);
      table_[h] = i - begin + 1;
    }
  }
  size_t mask = table_.size() - 1;
  size_t h = item_hash(rule, state, origin) & mask;
  while (table_[h]) {
    const Item& it = items_[begin + table_[h] - 1];
    if (it.state == state && it.origin == origin && it.rule == rule) return;
    h = (h + 1) & mask;
  }
  table_[h] = n + 1;
  items_.push_back(Item{rule, state, origin});
}

void Chart::close(const ChartGrammar& g) {
  Automaton& dfa = *g.dfa;
  const uint32_t i = static_cast<uint32_t>(starts_.size() - 1);  // index of the open set
  nullable_done_.clear();
  completed_.clear();
  for (size_t j = starts_.back(); j < items_.size(); ++j) {
    const Item it = items_[j];
    const DfaState& st = dfa.get(it.state);
    for (const auto& [q, t] : st.calls) {
      add(q, (*g.rule_start)[q], i);
      if (std::find(nullable_done_.begin(), nullable_done_.end(), q) != nullable_done_.end())
        add(it.rule, t, it.origin);
    }
    if (!st.accepting) continue;
    const uint32_t r = it.rule, o = it.origin;
    uint64_t key = (uint64_t{r} << 32) | o;
    if (std::find(completed_.begin(), completed_.end(), key) != completed_.end()) continue;
    completed_.push_back(key);
    if (o == i) nullable_done_.push_back(r);
    uint32_t from = starts_[o];
    for (size_t k = from; k < (o == i ? items_.size() : starts_[o + 1]); ++k) {
      const Item p = items_[k];
      const DfaState& ps = dfa.get(p.state);
      for (const auto& [q, t] : ps.calls)
        if (q == r) add(p.rule, t, p.origin);
    }
  }
  table_.clear();
}

void Chart::reset(const ChartGrammar& g) {
  items_.clear();
  starts_.assign(1, 0);
  add(g.root, (*g.rule_start)[g.root], 0);
  close(g);
  starts_.push_back(static_cast<uint32_t>(items_.size()));
}

bool Chart::push_byte(const ChartGrammar& g, uint8_t b) {
  Automaton& dfa = *g.dfa;
  uint32_t begin = starts_[starts_.size() - 2], end = starts_.back();
  for (uint32_t k = begin; k < end; ++k) {
    const Item it = items_[k];
    uint32_t t = dfa.step(it.state, b);
    if (t != Automaton::kDead) add(it.rule, t, it.origin);
  }
  if (items_.size() == end) { table_.clear(); return false; }
  close(g);
  starts_.push_back(static_cast<uint32_t>(items_.size()));
  return true;
}

bool Chart::push_token(const ChartGrammar& g, uint32_t vocab_id) {
  Automaton& dfa = *g.dfa;
  uint32_t begin = starts_[starts_.size() - 2], end = starts_.back();
  for (uint32_t k = begin; k < end; ++k) {
    const Item it = items_[k];
    for (const auto& [t, target] : dfa.get(it.state).tokens)
      if (g.resolve(t) == vocab_id) add(it.rule, target, it.origin);
  }
  if (items_.size() == end) { table_.clear(); return false; }
  close(g);
  starts_.push_back(static_cast<uint32_t>(items_.size()));
  return true;
}

bool Chart::accepting(const ChartGrammar& g) const {
  for (const Item& it : last()) {
    if (it.rule == g.root && it.origin == 0 && g.dfa->get(it.state).accepting) return true;
  }
  return false;
}

}  // namespace glm::grammar
