// grammars/compiled_grammar_impl.h — internals of CompiledGrammar shared by the compiler, the token cache
// and the matcher. Not a public header.
#pragma once

#include <memory>
#include <mutex>
#include <unordered_map>
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
  uint8_t slices = 0;               // bit k: every token of Vocab slice k is accepted
  std::vector<uint32_t> ids;        // accepted ids (when sparse)
  std::vector<uint32_t> bits;       // accepted ids as a bitset (when dense), else empty
  std::vector<uint32_t> uncertain;  // ranks (Vocab::rank) of uncertain tokens, ascending
};

void compute_token_cache(Automaton& dfa, const Vocab& vocab, uint32_t state, TokenCache* out);
// The cache of `state` (whose clamped expression is `expr`) from the process-wide store, computed and stored on
// a miss (or always computed, when sharing is off).
std::shared_ptr<const TokenCache> shared_token_cache(const std::shared_ptr<const Vocab>& vocab, const ExprPool& pool,
                                                     ExprId expr, Automaton& dfa, uint32_t state);
// e with every counted repetition clamped as seen by strings of at most k bytes: min -> min(min, k+1),
// max > k -> unbounded. States with equal clamped expressions decide every token of <= k bytes alike.
ExprId clamp_counts(ExprPool& pool, ExprId e, uint32_t k, std::unordered_map<ExprId, ExprId>* memo);

struct CompiledGrammar::Impl {
  std::mutex mu;
  std::shared_ptr<const Vocab> vocab;
  ExprPool pool;
  Automaton dfa{&pool};
  std::vector<uint32_t> rule_start;
  std::vector<uint32_t> token_ids;  // named token placeholder -> vocabulary id
  uint32_t root = 0;
  std::vector<std::shared_ptr<const TokenCache>> caches;  // by automaton state (shared by clamped twins)
  std::unordered_map<ExprId, ExprId> clamp_memo;

  ChartGrammar chart_grammar() { return ChartGrammar{&dfa, &rule_start, root, &token_ids}; }
  const TokenCache& cache(uint32_t state) {
    if (state >= caches.size()) caches.resize(dfa.n_states() + 64);
    if (caches[state]) return *caches[state];
    uint32_t k = static_cast<uint32_t>(vocab->max_token_len());
    ExprId clamped = clamp_counts(pool, dfa.get(state).expr, k, &clamp_memo);
    uint32_t twin = dfa.state_of(clamped);
    if (twin >= caches.size()) caches.resize(dfa.n_states() + 64);
    if (!caches[twin]) caches[twin] = shared_token_cache(vocab, pool, clamped, dfa, twin);
    if (state >= caches.size()) caches.resize(dfa.n_states() + 64);
    caches[state] = caches[twin];
    return *caches[state];
  }
};

}  // namespace glm::grammar
