#include "model/tokenizer/bpe.h"

#include <algorithm>

namespace glm {

namespace {
inline uint64_t pair_key(int32_t a, int32_t b) {
  return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
}
inline uint64_t hash(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  return k;
}
}  // namespace

void BpeMerges::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  slots_.assign(cap, Slot{kEmpty, 0, 0});
  mask_ = cap - 1;
  size_ = 0;
}

void BpeMerges::grow() {
  std::vector<Slot> old = std::move(slots_);
  reserve(old.size());  // doubles: reserve() sizes for 2x
  for (const Slot& s : old)
    if (s.key != kEmpty) add(int32_t(s.key >> 32), int32_t(uint32_t(s.key)), s.merged, s.rank);
}

bool BpeMerges::add(int32_t left, int32_t right, int32_t merged, uint32_t rank) {
  if (slots_.empty() || (size_ + 1) * 2 > slots_.size()) grow();
  uint64_t key = pair_key(left, right);
  for (uint64_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
    if (slots_[i].key == key) return false;
    if (slots_[i].key == kEmpty) {
      slots_[i] = Slot{key, rank, merged};
      ++size_;
      return true;
    }
  }
}

const BpeMerges::Slot* BpeMerges::find(int32_t left, int32_t right) const {
  if (slots_.empty()) return nullptr;
  uint64_t key = pair_key(left, right);
  for (uint64_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
    if (slots_[i].key == key) return &slots_[i];
    if (slots_[i].key == kEmpty) return nullptr;
  }
}

// Symbols form a doubly linked list over the piece; a min-heap holds candidate merges keyed by
// (rank, position). A popped candidate is stale when either symbol has changed since it was pushed.
void BpeMerges::merge(std::string_view piece, const int32_t* byte_ids, std::vector<int32_t>* out) const {
  const size_t n = piece.size();
  if (n == 1) {
    out->push_back(byte_ids[static_cast<unsigned char>(piece[0])]);
    return;
  }
  struct Sym { int32_t id; int32_t prev; int32_t next; };
  struct Cand { uint32_t rank; int32_t pos; int32_t merged; int32_t right_id; };
  thread_local std::vector<Sym> sym;
  thread_local std::vector<Cand> heap;
  sym.resize(n);
  heap.clear();
  for (size_t i = 0; i < n; ++i)
    sym[i] = Sym{byte_ids[static_cast<unsigned char>(piece[i])], int32_t(i) - 1, i + 1 < n ? int32_t(i + 1) : -1};
  auto later = [](const Cand& a, const Cand& b) { return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos; };
  auto push = [&](int32_t pos) {
    int32_t nx = sym[pos].next;
    if (nx < 0) return;
    if (const Slot* s = find(sym[pos].id, sym[nx].id)) {
      heap.push_back(Cand{s->rank, pos, s->merged, sym[nx].id});
      std::push_heap(heap.begin(), heap.end(), later);
    }
  };
  for (size_t i = 0; i + 1 < n; ++i) push(int32_t(i));
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    Cand c = heap.back();
    heap.pop_back();
    Sym& s = sym[c.pos];
    if (s.id < 0 || s.next < 0) continue;
    Sym& r = sym[s.next];
    if (r.id != c.right_id) continue;
    const Slot* now = find(s.id, r.id);
    if (!now || now->merged != c.merged) continue;
    // Merge r into s.
    s.id = c.merged;
    int32_t removed = s.next;
    s.next = r.next;
    if (r.next >= 0) sym[r.next].prev = c.pos;
    sym[removed].id = -1;
    if (s.prev >= 0) push(s.prev);
    push(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = sym[i].next) out->push_back(sym[i].id);
}

}  // namespace glm
