// grammars/compiler.h — a grammar compiled against one vocabulary: the immutable artifact every
// sequence's Matcher shares.
//
//   auto g = parse_gbnf(text);                 // or json_schema_to_grammar(schema), ...
//   auto cg = compile(*g, vocab);              // vocab: Vocab::build(VocabView{...}), shared
//   Matcher m(*cg);                            // one per sequence (grammars/matcher.h)
//
// What compile() does: checks the grammar (root, rule references, token terminals resolvable against
// the vocabulary), inlines every non-recursive rule so that most grammars become one automaton, and
// prepares the lazily built DFA of each remaining rule. The per-state token cache (which tokens a DFA state
// accepts or rejects on its own, the "adaptive token mask") is filled on first use, except that compile()
// fills those of the states nearest the rule starts for up to 0.7 ms: the walks of the token trie that would
// otherwise land on the first masks of a sequence (the tail of mask latency) happen before decoding starts. Token caches are also shared
// process-wide between grammars over the same vocabulary (keyed by the state's expression with rule calls
// and special tokens anonymised): the string, number and key states every JSON schema has are walked once.
// Owns (shared by copies): the expression pool, the automaton, the token caches, a reference to the vocab.
// Threads: copies may be used from any threads; the lazily filled parts are guarded by one mutex, so
// matchers of one CompiledGrammar on different threads serialise their fill_mask/advance calls.
// Errors: invalid_argument (missing root, undefined rule, token id out of range), not_found (a token
// terminal spelled `<|name|>` that the vocabulary has no special token for).
#pragma once

#include <memory>

#include "base/error.h"
#include "grammars/grammar.h"
#include "grammars/vocab.h"

namespace glm::grammar {

class CompiledGrammar {
 public:
  struct Impl;
  explicit CompiledGrammar(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

  const Vocab& vocab() const;
  uint32_t n_vocab() const { return vocab().n_vocab(); }
  // Automaton states built so far (diagnostics, tests).
  size_t n_states() const;
  Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<Impl> impl_;
};

struct CompileOptions {
  // Fill the token caches nearest the rule starts (up to 0.7 ms). Off for grammars that are only advanced,
  // never asked for masks (the JSON Schema compiler's enum check).
  bool warm_token_caches = true;
};

// Takes the grammar by value: pass std::move(g) to avoid copying its expression pool.
Result<CompiledGrammar> compile(Grammar grammar, std::shared_ptr<const Vocab> vocab, CompileOptions options = {});

// The process-wide token cache store (on by default; 64 MiB, oldest entries dropped first). Off: every grammar
// builds its own caches (benchmarks measure that first-use cost this way). Any thread.
void set_shared_token_caches(bool on);

}  // namespace glm::grammar
