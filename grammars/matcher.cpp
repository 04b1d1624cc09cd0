// grammars/matcher.cpp — fill_mask / advance / rollback over the Earley chart.
#include "grammars/matcher.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include "grammars/compiled_grammar_impl.h"

namespace glm::grammar {

namespace {
inline void set_bit(uint32_t* bits, uint32_t id) { bits[id >> 5] |= 1u << (id & 31); }
inline bool test_bit(const uint32_t* bits, uint32_t id) { return (bits[id >> 5] >> (id & 31)) & 1; }
}  // namespace

Matcher::Matcher(CompiledGrammar grammar) : grammar_(std::move(grammar)) {
  auto& impl = grammar_.impl();
  std::lock_guard<std::mutex> lock(impl.mu);
  chart_.reset(impl.chart_grammar());
}

bool Matcher::is_accepting() const {
  auto& impl = grammar_.impl();
  std::lock_guard<std::mutex> lock(impl.mu);
  return !terminated_ && chart_.accepting(impl.chart_grammar());
}

void Matcher::fill_mask(uint32_t* bits) {
  auto& impl = grammar_.impl();
  const Vocab& vocab = *impl.vocab;
  const uint32_t n_words = vocab.n_words();
  std::memset(bits, 0, n_words * sizeof(uint32_t));
  if (terminated_) return;
  std::lock_guard<std::mutex> lock(impl.mu);
  ChartGrammar cg = impl.chart_grammar();
  uint32_t seen_states[64];
  size_t n_seen = 0;
  uint8_t slices = 0;
  std::vector<uint32_t> uncertain;
  bool multi_uncertain = false;
  for (const Item& it : chart_.last()) {
    bool dup = false;
    for (size_t k = 0; k < n_seen; ++k) dup |= seen_states[k] == it.state;
    if (dup) continue;
    if (n_seen < 64) seen_states[n_seen++] = it.state;
    const TokenCache& c = impl.cache(it.state);
    slices |= c.slices;
    if (!c.bits.empty()) {
      for (uint32_t w = 0; w < n_words; ++w) bits[w] |= c.bits[w];
    } else {
      for (uint32_t id : c.ids) set_bit(bits, id);
    }
    if (!c.uncertain.empty()) {
      if (!uncertain.empty()) multi_uncertain = true;
      uncertain.insert(uncertain.end(), c.uncertain.begin(), c.uncertain.end());
    }
    for (const auto& [t, target] : impl.dfa.get(it.state).tokens) {
      uint32_t id = cg.resolve(t);
      if (id < vocab.n_vocab()) set_bit(bits, id);
    }
  }
  for (int k = 0; k < Vocab::kSlices; ++k) {
    if (!((slices >> k) & 1)) continue;
    const auto& sb = vocab.slice_bits(k);
    for (uint32_t w = 0; w < n_words; ++w) bits[w] |= sb[w];
  }
  if (chart_.accepting(cg))
    for (uint32_t id : vocab.stop_ids()) set_bit(bits, id);
  if (uncertain.empty()) return;
  if (multi_uncertain) {
    std::sort(uncertain.begin(), uncertain.end());
    uncertain.erase(std::unique(uncertain.begin(), uncertain.end()), uncertain.end());
  }
  // Run each undecided token through the chart, reusing the sets of the previous token's common prefix.
  std::string_view prev;
  size_t depth = 0;
  for (uint32_t r : uncertain) {
    uint32_t id = vocab.id_at_rank(r);
    if (test_bit(bits, id)) continue;
    std::string_view bytes = vocab.token(id);
    size_t lcp = 0;
    size_t lim = std::min({prev.size(), bytes.size(), depth});
    while (lcp < lim && prev[lcp] == bytes[lcp]) ++lcp;
    while (depth > lcp) { chart_.pop(); --depth; }
    bool ok = true;
    while (depth < bytes.size()) {
      if (!chart_.push_byte(cg, static_cast<uint8_t>(bytes[depth]))) { ok = false; break; }
      ++depth;
    }
    if (ok) set_bit(bits, id);
    prev = bytes;
  }
  while (depth > 0) { chart_.pop(); --depth; }
}

bool Matcher::advance(int32_t token) {
  if (terminated_ || token < 0) return false;
  auto& impl = grammar_.impl();
  const Vocab& vocab = *impl.vocab;
  uint32_t id = static_cast<uint32_t>(token);
  if (id >= vocab.n_vocab()) return false;
  std::lock_guard<std::mutex> lock(impl.mu);
  ChartGrammar cg = impl.chart_grammar();
  const size_t before = chart_.n_sets();
  bool ok = false;
  const std::string& bytes = vocab.token(id);
  if (!vocab.is_special(id) && !bytes.empty()) {
    ok = true;
    for (char c : bytes)
      if (!chart_.push_byte(cg, static_cast<uint8_t>(c))) { ok = false; break; }
    if (!ok) chart_.truncate(before);
  }
  if (!ok) ok = chart_.push_token(cg, id);
  if (ok) {
    boundaries_.push_back(static_cast<uint32_t>(before));
    stop_flags_.push_back(0);
    return true;
  }
  const auto& stops = vocab.stop_ids();
  if (std::find(stops.begin(), stops.end(), id) != stops.end() && chart_.accepting(cg)) {
    boundaries_.push_back(static_cast<uint32_t>(before));
    stop_flags_.push_back(1);
    terminated_ = true;
    return true;
  }
  return false;
}

bool Matcher::advance_bytes(std::string_view bytes) {
  if (terminated_) return false;
  auto& impl = grammar_.impl();
  std::lock_guard<std::mutex> lock(impl.mu);
  ChartGrammar cg = impl.chart_grammar();
  const size_t before = chart_.n_sets();
  for (char c : bytes)
    if (!chart_.push_byte(cg, static_cast<uint8_t>(c))) {
      chart_.truncate(before);
      return false;
    }
  boundaries_.push_back(static_cast<uint32_t>(before));
  stop_flags_.push_back(0);
  return true;
}

void Matcher::rollback(size_t n) {
  n = std::min(n, boundaries_.size());
  if (n == 0) return;
  size_t keep = boundaries_.size() - n;
  chart_.truncate(boundaries_[keep]);
  boundaries_.resize(keep);
  stop_flags_.resize(keep);
  terminated_ = false;
}

std::string Matcher::forced_bytes() {
  std::string out;
  if (terminated_) return out;
  auto& impl = grammar_.impl();
  std::lock_guard<std::mutex> lock(impl.mu);
  ChartGrammar cg = impl.chart_grammar();
  while (out.size() < 256) {
    if (chart_.accepting(cg)) break;
    ByteSet next;
    bool special = false;
    for (const Item& it : chart_.last()) {
      const DfaState& st = impl.dfa.get(it.state);
      if (!st.tokens.empty()) special = true;
      for (unsigned b = 0; b < 256; ++b)
        if (st.next[b] != Automaton::kDead) next.set(b);
    }
    if (special || next.count() != 1) break;
    unsigned b = 0;
    while (!next.test(b)) ++b;
    if (!chart_.push_byte(cg, static_cast<uint8_t>(b))) break;
    out.push_back(static_cast<char>(b));
  }
  chart_.truncate(chart_.n_sets() - out.size());
  return out;
}

std::vector<int32_t> Matcher::forced_tokens() {
  std::string forced = forced_bytes();
  std::vector<int32_t> out;
  const Vocab& vocab = grammar_.vocab();
  const auto& trie = vocab.trie();
  size_t p = 0;
  while (p < forced.size()) {
    // Longest token that is a prefix of forced[p..], found by walking the trie.
    int32_t best = -1;
    size_t best_len = 0, best_node = 0;
    size_t i = 0, depth = 0;
    while (i < trie.size() && p + depth < forced.size()) {
      const TrieNode& node = trie[i];
      if (node.depth != depth + 1) break;
      if (node.byte != static_cast<uint8_t>(forced[p + depth])) { i = node.end; continue; }
      ++depth;
      if (node.token >= 0) { best = node.token; best_len = depth; best_node = i; }
      ++i;
    }
    if (best < 0) break;
    // A longer token could continue past the end of the forced bytes: let the model choose it.
    if (p + best_len == forced.size() && trie[best_node].end > best_node + 1) break;
    out.push_back(best);
    p += best_len;
  }
  return out;
}

}  // namespace glm::grammar
