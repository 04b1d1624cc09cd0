// grammars/token_cache.cpp — the per-state token cache: a token-trie walk through one DFA state. Token
// slices (grammars/vocab.h) that the state absorbs whole are decided by a small product check instead
// of a walk; counted repetitions are clamped to the longest token first, so the states of a long
// `maxLength` string share one cache. Caches are shared between grammars through a process-wide store.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <mutex>
#include <span>
#include <string>
#include <unordered_set>

#include "grammars/compiled_grammar_impl.h"

namespace glm::grammar {

namespace {

// True when every token of slice k (<= kSliceMaxLen bytes) is consumed from `state` without leaving the
// automaton: explore (dfa state, slice state) pairs; any dead move refutes it.
bool absorbs(Automaton& dfa, uint32_t state, int k) {
  static const std::vector<std::vector<uint8_t>> kBytes[Vocab::kSlices] = {
      [] {
        std::vector<std::vector<uint8_t>> by(kSliceStates);
        for (int u = 0; u < kSliceStates; ++u)
          for (unsigned b = 0; b < 256; ++b)
            if (slice_step(0, static_cast<uint8_t>(u), static_cast<uint8_t>(b)) != kSliceDead) by[u].push_back(b);
        return by;
      }(),
      [] {
        std::vector<std::vector<uint8_t>> by(kSliceStates);
        for (int u = 0; u < kSliceStates; ++u)
          for (unsigned b = 0; b < 256; ++b)
            if (slice_step(1, static_cast<uint8_t>(u), static_cast<uint8_t>(b)) != kSliceDead) by[u].push_back(b);
        return by;
      }()};
  struct Node { uint32_t g; uint8_t u; uint32_t depth; };
  std::vector<Node> queue{{state, 0, 0}};
  std::unordered_set<uint64_t> seen{uint64_t{state} << 8};
  for (size_t qi = 0; qi < queue.size(); ++qi) {
    Node n = queue[qi];
    if (n.depth >= Vocab::kSliceMaxLen) continue;
    const uint32_t* next = dfa.next_table(n.g);
    uint32_t last_g = UINT32_MAX;
    uint8_t last_u = 0;
    for (uint8_t b : kBytes[k][n.u]) {
      uint32_t g2 = next[b];
      if (g2 == Automaton::kDead) return false;
      uint8_t u2 = slice_step(k, n.u, b);
      if (g2 == last_g && u2 == last_u) continue;
      last_g = g2;
      last_u = u2;
      if (seen.insert((uint64_t{g2} << 8) | u2).second) {
        if (seen.size() > 2048) return false;
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

ExprId clamp_counts(ExprPool& pool, ExprId e, uint32_t k, std::unordered_map<ExprId, ExprId>* memo) {
  auto it = memo->find(e);
  if (it != memo->end()) return it->second;
  const ExprNode n = pool.node(e);
  ExprId r = e;
  switch (n.kind) {
    case ExprKind::seq: r = pool.seq(clamp_counts(pool, n.a, k, memo), clamp_counts(pool, n.b, k, memo)); break;
    case ExprKind::alt:
    case ExprKind::conj: {
      std::vector<ExprId> ks(pool.kids(e).begin(), pool.kids(e).end());
      for (auto& x : ks) x = clamp_counts(pool, x, k, memo);
      r = n.kind == ExprKind::alt ? pool.alt(ks) : pool.conj(ks);
      break;
    }
    case ExprKind::neg: r = pool.neg(clamp_counts(pool, n.a, k, memo)); break;
    case ExprKind::repeat:
      r = pool.repeat(clamp_counts(pool, n.a, k, memo), std::min(n.min, k + 1), n.max > k ? kInf : n.max);
      break;
    default: break;
  }
  (*memo)[e] = r;
  return r;
}

void compute_token_cache(Automaton& dfa, const Vocab& vocab, uint32_t state, TokenCache* out) {
  bool a1 = absorbs(dfa, state, 1);
  bool a0 = a1 || absorbs(dfa, state, 0);
  out->slices = static_cast<uint8_t>((a0 ? 1 : 0) | (a1 ? 2 : 0));
  const std::vector<TrieNode>& trie = vocab.trie(out->slices);
  // Per depth: the transition table of the state reached there (taken only for nodes with children, so a
  // token's last state is not expanded for nothing) and whether some state on the way may escape.
  std::vector<const uint32_t*> tbl(vocab.max_token_len() + 2, nullptr);
  std::vector<uint8_t> esc(vocab.max_token_len() + 2, 0);
  tbl[0] = dfa.next_table(state);
  std::vector<uint32_t> ids, unc;
  const size_t n = trie.size();
  size_t i = 0;
  while (i < n) {
    const TrieNode& node = trie[i];
    const unsigned d = node.depth;
    uint32_t g = tbl[d - 1][node.byte];
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
    if (node.end > i + 1) {  // has children
      tbl[d] = dfa.next_table(g);
      esc[d] = esc[d - 1] || dfa.escape(g);
    }
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

namespace {

// The expression written out structurally, shared nodes once (post-order, children by index). Rule calls and
// special tokens become bare markers: a token walk never takes their edges, and whether a state has call
// edges (its `escape`) does not depend on which rule is called, so grammars numbering rules differently
// still share their lexer states.
std::string expr_key(const ExprPool& pool, ExprId root) {
  std::string key;
  std::unordered_map<ExprId, uint32_t> num;
  auto put32 = [&key](uint32_t v) { key.append(reinterpret_cast<const char*>(&v), 4); };
  std::vector<std::pair<ExprId, bool>> stack{{root, false}};
  while (!stack.empty()) {
    auto [e, expanded] = stack.back();
    stack.pop_back();
    if (num.count(e)) continue;
    const ExprNode& n = pool.node(e);
    ExprId pair[2] = {n.a, n.b};
    std::span<const ExprId> kids;
    switch (n.kind) {
      case ExprKind::seq: kids = pair; break;
      case ExprKind::alt:
      case ExprKind::conj: kids = pool.kids(e); break;
      case ExprKind::repeat:
      case ExprKind::neg: kids = std::span<const ExprId>(pair, 1); break;
      default: break;
    }
    if (!expanded) {
      stack.push_back({e, true});
      for (ExprId k : kids)
        if (!num.count(k)) stack.push_back({k, false});
      continue;
    }
    key.push_back(static_cast<char>(n.kind));
    switch (n.kind) {
      case ExprKind::bytes: {
        const ByteSet& b = pool.byte_set(n.a);
        key.append(reinterpret_cast<const char*>(b.w.data()), sizeof b.w);
        break;
      }
      case ExprKind::repeat: put32(n.min); put32(n.max); break;
      default: break;
    }
    put32(static_cast<uint32_t>(kids.size()));
    for (ExprId k : kids) put32(num.at(k));
    num.emplace(e, static_cast<uint32_t>(num.size()));
  }
  return key;
}

struct CacheStore {
  struct Entry {
    std::weak_ptr<const Vocab> vocab;
    std::shared_ptr<const TokenCache> cache;
    size_t bytes = 0;
  };
  static constexpr size_t kBudget = size_t{64} << 20;
  std::mutex mu;
  std::unordered_map<std::string, Entry> map;
  std::deque<std::string> order;  // insertion order, for eviction
  size_t bytes = 0;
};

CacheStore& store() {
  static CacheStore* s = new CacheStore();  // never destroyed: grammars may outlive static destruction order
  return *s;
}

std::atomic<bool> g_sharing{true};

size_t cache_bytes(const TokenCache& c) {
  return (c.ids.size() + c.bits.size() + c.uncertain.size()) * sizeof(uint32_t) + sizeof(TokenCache);
}

}  // namespace

void set_shared_token_caches(bool on) { g_sharing.store(on); }

std::shared_ptr<const TokenCache> shared_token_cache(const std::shared_ptr<const Vocab>& vocab, const ExprPool& pool,
                                                     ExprId expr, Automaton& dfa, uint32_t state) {
  auto compute = [&] {  // walks the whole token trie: never under the store's lock
    auto c = std::make_shared<TokenCache>();
    compute_token_cache(dfa, *vocab, state, c.get());
    return c;
  };
  if (!g_sharing.load(std::memory_order_relaxed)) return compute();
  std::string key = std::to_string(reinterpret_cast<uintptr_t>(vocab.get())) + "|" + expr_key(pool, expr);
  // An entry of a vocabulary freed since (another allocated at its address) is stale.
  auto live = [&](const CacheStore::Entry& e) {
    auto v = e.vocab.lock();
    return v && v.get() == vocab.get();
  };
  CacheStore& s = store();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (auto it = s.map.find(key); it != s.map.end() && live(it->second)) return it->second.cache;
  }
  std::shared_ptr<const TokenCache> c = compute();
  std::lock_guard<std::mutex> lock(s.mu);
  const size_t bytes = cache_bytes(*c) + key.size();
  if (bytes > CacheStore::kBudget / 4) return c;
  if (auto it = s.map.find(key); it != s.map.end()) {
    if (live(it->second)) return it->second.cache;  // another thread stored it meanwhile
    s.bytes -= it->second.bytes;                    // stale: replaced in place, keeping its one slot in `order`
    it->second = CacheStore::Entry{vocab, c, bytes};
  } else {
    s.map.emplace(key, CacheStore::Entry{vocab, c, bytes});
    s.order.push_back(std::move(key));
  }
  s.bytes += bytes;
  while (s.bytes > CacheStore::kBudget && !s.order.empty()) {
    auto old = s.map.find(s.order.front());
    if (old != s.map.end()) {
      s.bytes -= old->second.bytes;
      s.map.erase(old);
    }
    s.order.pop_front();
  }
  return c;
}

}  // namespace glm::grammar
