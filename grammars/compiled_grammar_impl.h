// grammars/compiled_grammar_impl.h — internals of CompiledGrammar shared by the compiler, the token cache
// and the matcher. Not a public header.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "grammars/automaton.h"
#include "grammars/compiler.h"
#include "grammars/earley.h"

namespace glm::grammar {

// What one automaton state decides about the vocabulary on its own (the adaptive token mask):
// accepted tokens (their bytes stay inside the state's automaton), and uncertain ones (they leave the
// automaton through a rule end or call after >= 1 byte; the full parser decides them per mask).
// Every other byte token is rejected by this state; special tokens come from the state's token edges.
struct TokenCache {
  bool plain = false;               // the whole plain-text slice is accepted
  std::vector<uint32_t> ids;        // accepted ids (when sparse)
  std::vector<uint32_t> bits;       // accepted ids as a bitset (when dense), else empty
  std::vector<uint32_t> uncertain;  // ranks (Vocab::rank) of uncertain tokens, ascending
};

void compute_token_cache(Automaton& dfa, const Vocab& vocab, uint32_t state, TokenCache* out);

struct CompiledGrammar::Impl {
  std::mutex mu;
  std::shared_ptr<const Vocab> vocab;
  ExprPool pool;
  Automaton dfa{&pool};
  std::vector<uint32_t> rule_start;
  std::vector<uint32_t> token_ids;  // named token placeholder -> vocabulary id
  uint32_t root = 0;
  std::vector<std::unique_ptr<TokenCache>> caches;  // by automaton state

  ChartGrammar chart_grammar() { return ChartGrammar{&dfa, &rule_start, root, &token_ids}; }
  const TokenCache& cache(uint32_t state) {
    if (state >= caches.size()) caches.resize(dfa.n_states() + 64);
    if (!caches[state]) {
      caches[state] = std::make_unique<TokenCache>();
      compute_token_cache(dfa, *vocab, state, caches[state].get());
    }
    return *caches[state];
  }
};

}  // namespace glm::grammar
