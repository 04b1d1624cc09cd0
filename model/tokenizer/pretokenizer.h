// model/tokenizer/pretokenizer.h — the Split-regex pre-tokenizer of GPT-4-style byte-level BPE files.
//
// RE2 has no lookahead, and the patterns used by GLM-4, Qwen2/3 and Llama 3 all contain `\s+(?!\S)`; so
// instead of a regex engine this is a hand scanner that reproduces Oniguruma's leftmost-alternative,
// backtracking semantics for exactly this family of patterns:
//
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,K}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// where K is 1 (Qwen2/3: `\p{N}`) or 3 (GLM-4, Llama 3: `\p{N}{1,3}`). Any other pattern is refused at
// load with an `unsupported` error naming it, never approximated.
// Threads: immutable after construction; split() may run on many threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace glm {

class PreTokenizer {
 public:
  // Recognizes a Split pattern from tokenizer.json.
  static Result<PreTokenizer> from_regex(const std::string& pattern);

  // Appends the byte ranges [begin, end) of the pieces of `text` (valid UTF-8) to *pieces.
  void split(std::string_view text, std::vector<std::pair<uint32_t, uint32_t>>* pieces) const;

  int max_digits() const { return max_digits_; }

 private:
  int max_digits_ = 3;
};

}  // namespace glm
