// grammars/vocab.cpp — token tries (depth-first, subtree ends) and the plain-text slice.
#include "grammars/vocab.h"

#include <algorithm>
#include <numeric>

namespace glm::grammar {

uint8_t plain_step(uint8_t s, uint8_t b) {
  constexpr uint8_t kPlainDead = kSliceDead;
  auto in = [&](unsigned lo, unsigned hi) { return b >= lo && b <= hi; };
  switch (s) {
    case 0:
      if (b < 0x20 || b == '"' || b == '\\') return kPlainDead;
      if (b < 0x80) return 0;
      if (in(0xC2, 0xDF)) return 1;
      if (b == 0xE0) return 2;
      if (in(0xE1, 0xEC) || in(0xEE, 0xEF)) return 3;
      if (b == 0xED) return 4;
      if (b == 0xF0) return 5;
      if (in(0xF1, 0xF3)) return 6;
      if (b == 0xF4) return 7;
      return kPlainDead;
    case 1: return in(0x80, 0xBF) ? 0 : kPlainDead;
    case 2: return in(0xA0, 0xBF) ? 1 : kPlainDead;
    case 3: return in(0x80, 0xBF) ? 1 : kPlainDead;
    case 4: return in(0x80, 0x9F) ? 1 : kPlainDead;
    case 5: return in(0x90, 0xBF) ? 3 : kPlainDead;
    case 6: return in(0x80, 0xBF) ? 3 : kPlainDead;
    case 7: return in(0x80, 0x8F) ? 3 : kPlainDead;
  }
  return kPlainDead;
}

uint8_t slice_step(int slice, uint8_t s, uint8_t b) {
  if (slice == 0) {
    bool alnum = (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z');
    return s == 0 && alnum ? 0 : kSliceDead;
  }
  return plain_step(s, b);
}

namespace {

constexpr uint8_t kPlainDead = kSliceDead;

bool in_slice(int k, const std::string& s) {
  if (s.empty() || s.size() > Vocab::kSliceMaxLen) return false;
  uint8_t st = 0;
  for (unsigned char c : s) {
    st = slice_step(k, st, c);
    if (st == kSliceDead) return false;
  }
  return st == 0;
}

[[maybe_unused]] bool is_plain(const std::string& s) {
  if (s.empty()) return false;
  uint8_t st = 0;
  for (unsigned char c : s) {
    st = plain_step(st, c);
    if (st == kPlainDead) return false;
  }
  return st == 0;
}

// Builds a DFS-ordered trie from ids sorted by bytes.
void build_trie(const std::vector<std::string>& tokens, const std::vector<uint32_t>& sorted,
                std::vector<TrieNode>* out, std::vector<std::pair<uint32_t, uint32_t>>* dups) {
  out->clear();
  std::vector<uint32_t> open;  // node index at each depth-1
  const std::string* prev = nullptr;
  int32_t prev_node = -1;
  for (uint32_t id : sorted) {
    const std::string& s = tokens[id];
    if (prev && *prev == s) {
      (*out)[prev_node].has_more_ids = 1;
      if (dups) dups->push_back({static_cast<uint32_t>((*out)[prev_node].token), id});
      continue;
    }
    size_t lcp = 0;
    if (prev) {
      while (lcp < prev->size() && lcp < s.size() && (*prev)[lcp] == s[lcp]) ++lcp;
    }
    while (open.size() > lcp) {
      (*out)[open.back()].end = static_cast<uint32_t>(out->size());
      open.pop_back();
    }
    for (size_t d = lcp; d < s.size(); ++d) {
      open.push_back(static_cast<uint32_t>(out->size()));
      out->push_back(TrieNode{static_cast<uint8_t>(s[d]), 0, static_cast<uint16_t>(d + 1), -1, 0});
    }
    prev_node = static_cast<int32_t>(open.back());
    (*out)[prev_node].token = static_cast<int32_t>(id);
    prev = &s;
  }
  while (!open.empty()) {
    (*out)[open.back()].end = static_cast<uint32_t>(out->size());
    open.pop_back();
  }
}

}  // namespace

std::shared_ptr<const Vocab> Vocab::build(VocabView view) {
  auto v = std::make_shared<Vocab>();
  v->tokens_ = std::move(view.tokens);
  uint32_t n = static_cast<uint32_t>(v->tokens_.size());
  v->special_.assign(n, 0);
  for (uint32_t id : view.special_ids)
    if (id < n) v->special_[id] = 1;
  for (uint32_t id : view.stop_ids)
    if (id < n) v->stop_ids_.push_back(id);
  std::vector<uint32_t> ids;
  for (uint32_t i = 0; i < n; ++i)
    if (!v->special_[i] && !v->tokens_[i].empty() && v->tokens_[i].size() < 65535) ids.push_back(i);
  std::sort(ids.begin(), ids.end(), [&](uint32_t a, uint32_t b) {
    int c = v->tokens_[a].compare(v->tokens_[b]);
    return c != 0 ? c < 0 : a < b;
  });
  v->rank_.assign(n, UINT32_MAX);
  for (uint32_t r = 0; r < ids.size(); ++r) v->rank_[ids[r]] = r;
  v->by_rank_ = ids;
  build_trie(v->tokens_, ids, &v->tries_[0], &v->duplicates_);
  std::sort(v->duplicates_.begin(), v->duplicates_.end());
  std::vector<uint32_t> minus0, minus01;
  for (int k = 0; k < kSlices; ++k) v->slice_bits_[k].assign(v->n_words(), 0);
  for (uint32_t id : ids) {
    const std::string& t = v->tokens_[id];
    v->max_token_len_ = std::max(v->max_token_len_, t.size());
    if (in_slice(0, t)) {
      v->slice_bits_[0][id >> 5] |= 1u << (id & 31);
      continue;
    }
    minus0.push_back(id);
    if (in_slice(1, t)) {
      v->slice_bits_[1][id >> 5] |= 1u << (id & 31);
      continue;
    }
    minus01.push_back(id);
  }
  build_trie(v->tokens_, minus0, &v->tries_[1], nullptr);
  build_trie(v->tokens_, minus01, &v->tries_[2], nullptr);
  return v;
}

std::optional<uint32_t> Vocab::special_id(std::string_view spelling) const {
  for (uint32_t i = 0; i < special_.size(); ++i)
    if (special_[i] && tokens_[i] == spelling) return i;
  return std::nullopt;
}

}  // namespace glm::grammar
