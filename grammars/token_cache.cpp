// grammars/token_cache.cpp — the per-state token cache: a token-trie walk through one DFA state, with
// the plain-text slice decided by a small product check instead of a walk when the state absorbs it.
#include <algorithm>
#include <unordered_set>

#include "grammars/compiled_grammar_impl.h"

namespace glm::grammar {

namespace {

// True when every token of the plain-text slice is consumed from `state` without leaving the automaton:
// explore (dfa state, slice state) pairs up to the slice's longest token; any dead move refutes it.
bool absorbs_plain(Automaton& dfa, uint32_t state, size_t max_len) {
  static const std::vector<std::vector<uint8_t>> kBytes = [] {
    std::vector<std::vector<uint8_t>> by_state(kPlainStates);
    for (int u = 0; u < kPlainStates; ++u)
      for (unsigned b = 0; b < 256; ++b)
        if (plain_step(static_cast<uint8_t>(u), static_cast<uint8_t>(b)) != kPlainDead)
          by_state[u].push_back(static_cast<uint8_t>(b));
    return by_state;
  }();
  struct Node { uint32_t g; uint8_t u; uint32_t depth; };
  std::vector<Node> queue{{state, 0, 0}};
  std::unordered_set<uint64_t> seen{uint64_t{state} << 8};
  for (size_t qi = 0; qi < queue.size(); ++qi) {
    Node n = queue[qi];
    if (n.depth >= max_len) continue;
    for (uint8_t b : kBytes[n.u]) {
      uint32_t g2 = dfa.step(n.g, b);
      if (g2 == Automaton::kDead) return false;
      uint8_t u2 = plain_step(n.u, b);
      if (seen.insert((uint64_t{g2} << 8) | u2).second) {
        if (seen.size() > 4096) return false;
        queue.push_back(Node{g2, u2, n.depth + 1});
      }
    }
  }
  return true;
}

void add_id(const Vocab& vocab, const TrieNode& node, std::vector<uint32_t>* out) {
  out->push_back(static_cast<uint32_t>(node.token));
  if (!node.has_more_ids) return;
  const auto& d = vocab.duplicates();
  auto it = std::lower_bound(d.begin(), d.end(), std::make_pair(static_cast<uint32_t>(node.token), 0u));
  for (; it != d.end() && it->first == static_cast<uint32_t>(node.token); ++it) out->push_back(it->second);
}

}  // namespace

void compute_token_cache(Automaton& dfa, const Vocab& vocab, uint32_t state, TokenCache* out) {
  out->plain = absorbs_plain(dfa, state, vocab.plain_max_len());
  const std::vector<TrieNode>& trie = out->plain ? vocab.rest_trie() : vocab.trie();
  std::vector<uint32_t> st(1, state);
  std::vector<uint8_t> esc(1, 0);
  std::vector<uint32_t> ids, unc;
  const size_t n = trie.size();
  size_t i = 0;
  while (i < n) {
    const TrieNode& node = trie[i];
    const unsigned d = node.depth;
    uint32_t g = dfa.step(st[d - 1], node.byte);
    if (g == Automaton::kDead) {
      if (esc[d - 1]) {
        for (size_t k = i; k < node.end; ++k)
          if (trie[k].token >= 0) {
            std::vector<uint32_t> tmp;
            add_id(vocab, trie[k], &tmp);
            for (uint32_t id : tmp) unc.push_back(vocab.rank(id));
          }
      }
      i = node.end;
      continue;
    }
    if (st.size() <= d) { st.resize(d + 1); esc.resize(d + 1); }
    st[d] = g;
    esc[d] = esc[d - 1] || dfa.get(g).escape;
    if (node.token >= 0) add_id(vocab, node, &ids);
    ++i;
  }
  std::sort(unc.begin(), unc.end());
  out->uncertain = std::move(unc);
  if (ids.size() > vocab.n_words() / 2) {
    out->bits.assign(vocab.n_words(), 0);
    for (uint32_t id : ids) out->bits[id >> 5] |= 1u << (id & 31);
  } else {
    out->ids = std::move(ids);
  }
}

}  // namespace glm::grammar
