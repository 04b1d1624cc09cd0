// grammars/vocab.h — the vocabulary as the grammar engine sees it: token byte strings plus the ids of
// special tokens, indexed once into a token trie shared by every grammar compiled against it.
//
//   VocabView view{tokens, special_ids, stop_ids};
//   auto vocab = Vocab::build(std::move(view));      // ~100 ms at 151K tokens; share the result
//   auto cg = compile(grammar, vocab);
//
// Special tokens are never walked as bytes: they match only grammar token terminals (`<[id]>`,
// `<|name|>`), so ordinary text can never spell them. Stop ids are allowed exactly where the grammar
// is complete. Token ids without bytes (padding rows) are never allowed.
// Owns: the byte strings and the tries. Threads: immutable after build(); share freely.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace glm::grammar {

struct VocabView {
  std::vector<std::string> tokens;     // bytes of each id ("" when the id has no token)
  std::vector<uint32_t> special_ids;   // matched only by id; their bytes are their spelling
  std::vector<uint32_t> stop_ids;      // end of sequence: allowed where the grammar accepts
};

// A token trie in depth-first order: node i's subtree is [i, end). depth >= 1.
struct TrieNode {
  uint8_t byte;
  uint8_t has_more_ids;  // other ids with the same bytes follow in Vocab::duplicates
  uint16_t depth;
  int32_t token;  // -1 when no token ends here
  uint32_t end;
};

class Vocab {
 public:
  static std::shared_ptr<const Vocab> build(VocabView view);

  uint32_t n_vocab() const { return static_cast<uint32_t>(tokens_.size()); }
  uint32_t n_words() const { return (n_vocab() + 31) / 32; }
  const std::string& token(uint32_t id) const { return tokens_[id]; }
  bool is_special(uint32_t id) const { return id < special_.size() && special_[id]; }
  const std::vector<uint32_t>& stop_ids() const { return stop_ids_; }
  std::optional<uint32_t> special_id(std::string_view spelling) const;

  // Slices: disjoint sets of short tokens (<= kSliceMaxLen bytes) whose acceptance a DFA state can
  // decide at once (grammars/token_cache.cpp): 0 = letters and digits only; 1 = plain text (complete
  // valid UTF-8 without '"', '\\' or control bytes), not in slice 0.
  static constexpr int kSlices = 2;
  static constexpr size_t kSliceMaxLen = 16;
  const std::vector<uint32_t>& slice_bits(int k) const { return slice_bits_[k]; }
  // The byte tokens minus the slices in `absorbed` (bit k = slice k): 0 all, 1 minus slice 0, 3 minus both.
  const std::vector<TrieNode>& trie(int absorbed = 0) const { return tries_[absorbed == 3 ? 2 : absorbed == 1 ? 1 : 0]; }
  // Longest token in bytes.
  size_t max_token_len() const { return max_token_len_; }
  // Ids sharing bytes with the id stored at a node with has_more_ids (sorted by first id).
  const std::vector<std::pair<uint32_t, uint32_t>>& duplicates() const { return duplicates_; }
  // Position of a token in byte order (tokens sharing a prefix are adjacent).
  uint32_t rank(uint32_t id) const { return rank_[id]; }
  uint32_t id_at_rank(uint32_t r) const { return by_rank_[r]; }

 private:
  std::vector<std::string> tokens_;
  std::vector<uint8_t> special_;
  std::vector<uint32_t> stop_ids_;
  std::vector<TrieNode> tries_[3];
  std::vector<std::pair<uint32_t, uint32_t>> duplicates_;
  std::vector<uint32_t> slice_bits_[kSlices];
  size_t max_token_len_ = 0;
  std::vector<uint32_t> rank_, by_rank_;
};

// A slice as a byte automaton (state 0 = start and end; kSliceDead = no move).
inline constexpr uint8_t kSliceDead = 0xFF;
uint8_t slice_step(int slice, uint8_t state, uint8_t byte);
inline constexpr int kSliceStates = 8;

}  // namespace glm::grammar
