// runtime/agent/grammar_vocab.h — a tokenizer as the grammar engine's vocabulary (grammars/ never sees model/;
// the runtime joins them here, once).
//
// Token bytes for ids [0, n_ids) (n_ids <= 0: the whole tokenizer), every special token as a special id, and
// `stop_ids` as the ids allowed where a grammar is complete. Threads: pure function.
#pragma once

#include <cstdint>
#include <vector>

#include "grammars/vocab.h"
#include "model/tokenizer.h"

namespace glm::agent {

inline grammar::VocabView vocab_view(const Tokenizer& tok, std::vector<uint32_t> stop_ids = {}, int32_t n_ids = 0) {
  if (n_ids <= 0 || n_ids > tok.n_vocab()) n_ids = tok.n_vocab();
  grammar::VocabView view;
  view.tokens.resize(static_cast<size_t>(n_ids));
  for (int32_t i = 0; i < n_ids; ++i) view.tokens[static_cast<size_t>(i)] = tok.token_bytes(i);
  for (int32_t id : tok.special_ids())
    if (id < n_ids) view.special_ids.push_back(static_cast<uint32_t>(id));
  view.stop_ids = std::move(stop_ids);
  return view;
}

}  // namespace glm::agent
