// model/tokenizer/bpe.h — byte-level BPE merges over token ids.
//
// Owns: the merge table (pair of ids -> rank and merged id) in an open-addressing hash map.
// Threads: immutable after building; merge() may run on many threads at once (the caller owns scratch).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace glm {

class BpeMerges {
 public:
  void reserve(size_t n_merges);
  // Adds merge number `rank` of (left, right) -> merged. Returns false if the pair is already present
  // (the first, lowest rank, wins as in `tokenizers`).
  bool add(int32_t left, int32_t right, int32_t merged, uint32_t rank);

  // Encodes one pre-tokenized piece: byte_ids[b] is the id of the single-byte token for byte b.
  void merge(std::string_view piece, const int32_t* byte_ids, std::vector<int32_t>* out) const;

 private:
  struct Slot { uint64_t key; uint32_t rank; int32_t merged; };
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  const Slot* find(int32_t left, int32_t right) const;
  void grow();

  std::vector<Slot> slots_;
  size_t size_ = 0;
  uint64_t mask_ = 0;
};

}  // namespace glm
