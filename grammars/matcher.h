// grammars/matcher.h — the token mask for one sequence.
//
//   Matcher m(compiled);                       // compiled: CompiledGrammar (grammars/compiler.h)
//   std::vector<uint32_t> mask(m.n_words());
//   while (!m.is_terminated()) {
//     m.fill_mask(mask.data());                // bit id of word id/32 (LSB first) = token id allowed
//     int32_t tok = sample(logits, mask);
//     if (!m.advance(tok)) break;              // not allowed: nothing changed
//   }
//
// Algorithm: an Earley chart (grammars/earley.h) over the rules' lazily built DFAs, one set per byte.
// fill_mask ORs, for every item of the current set, its DFA state's cached token decision (accepted
// tokens; the plain-text slice as one bitset), then runs only the state's uncertain tokens (those that
// leave the rule's automaton mid-token) through the chart, sharing prefixes in byte order.
// Special tokens are allowed only where the grammar has a token terminal for them (matched by id);
// stop ids (VocabView::stop_ids) only where the grammar is complete.
//
// Owns: its chart (the parse state). Shares: the CompiledGrammar (must outlive nothing: it is shared).
// Threads: one thread at a time per Matcher; matchers of one grammar may run on different threads
// (the grammar's lazily filled caches are locked).
// fill_mask() writes n_words() = ceil(n_vocab/32) words. advance() returns false and changes nothing
// on a rejected token. rollback(n) undoes the last n accepted tokens (n <= n_tokens()).
// fork() copies the parse state (O(bytes consumed)).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "grammars/compiler.h"
#include "grammars/earley.h"

namespace glm::grammar {

class Matcher {
 public:
  explicit Matcher(CompiledGrammar grammar);

  uint32_t n_words() const { return grammar_.vocab().n_words(); }
  void fill_mask(uint32_t* bits);
  bool advance(int32_t token);
  void rollback(size_t n_tokens);
  Matcher fork() const { return *this; }

  // Feeds raw bytes (for `grammar test`); false, unchanged, when they do not fit the grammar.
  bool advance_bytes(std::string_view bytes);
  // The grammar is complete here (a stop token would be allowed).
  bool is_accepting() const;
  // A stop token was accepted: no more tokens.
  bool is_terminated() const { return terminated_; }
  size_t n_tokens() const { return boundaries_.size(); }

  // Jump-forward: the bytes every continuation must start with (empty when the next byte is free or
  // the grammar may end or take a special token here).
  std::string forced_bytes();
  // Those bytes as tokens, by greedy longest match; stops before a token that some longer vocabulary
  // token could extend past the forced bytes (so the forced run never splits a natural token).
  std::vector<int32_t> forced_tokens();

 private:
  bool check_bytes_from(std::string_view bytes);

  CompiledGrammar grammar_;
  Chart chart_;
  std::vector<uint32_t> boundaries_;  // chart size before each accepted token
  std::vector<uint8_t> stop_flags_;   // the token was a stop token
  bool terminated_ = false;
};

}  // namespace glm::grammar
