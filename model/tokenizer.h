// model/tokenizer.h — Hugging Face byte-level BPE tokenizers (tokenizer.json), id-exact with `tokenizers`.
//
// Pipeline, as the reference library: added tokens are split out of the raw text first; each remaining
// piece is normalized (NFC when the file says so), pre-tokenized (model/tokenizer/pretokenizer.h), mapped
// byte-wise and merged by BPE rank (lowest rank first, leftmost on ties).
//
//   auto tok = Tokenizer::load("model/demo/tokenizer.json");
//   if (!tok) return fail(tok.error());
//   auto ids = tok->encode(user_text);                    // special-token text stays plain text
//   auto ctl = tok->encode(template_text, Specials::match);  // only the chat renderer does this
//
// Owns: the vocabulary, merges and added tokens, immutable after load; copies share them.
// Threads: every const method may be called from any number of threads at once (a per-thread word cache
// lives in thread-local storage).
// Errors: load() returns not_found / io / invalid_argument (malformed JSON, inconsistent vocab) /
// unsupported (another model type, normalizer or pre-tokenizer), naming the file and the field.
// encode() returns invalid_argument for invalid UTF-8, naming the byte offset (utf8::sanitize first if
// the text may be binary); decode() returns invalid_argument for an id out of range.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace glm {

// How text that spells an added token (e.g. "<|user|>") is encoded.
enum class Specials {
  as_text,  // special tokens are not matched: their text is encoded as ordinary BPE (the safe default)
  match,    // every added token is matched and becomes its own id (HF's default; templates only)
};

class Tokenizer {
 public:
  static Result<Tokenizer> load(const std::string& path);
  static Result<Tokenizer> from_json(std::string_view json_text, const std::string& source_name);

  Result<std::vector<int32_t>> encode(std::string_view text, Specials specials = Specials::as_text) const;
  // Appends to *ids; same contract as encode().
  Status encode_append(std::string_view text, Specials specials, std::vector<int32_t>* ids) const;

  // The bytes the ids spell (special tokens as their text). May end inside a UTF-8 sequence.
  Result<std::string> decode(std::span<const int32_t> ids) const;

  // One past the largest id (vocabulary + added tokens).
  int32_t n_vocab() const;
  // The raw bytes of one token ("" for an id that no token has).
  const std::string& token_bytes(int32_t id) const;
  // The id of a token spelled exactly so (an added token's content, or a vocabulary entry's bytes).
  std::optional<int32_t> token_id(std::string_view bytes) const;
  bool is_special(int32_t id) const;  // an added token marked "special"
  std::vector<int32_t> special_ids() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace glm
