// model/tokenizer/unicode.h — the Unicode properties the tokenizer's pre-tokenizer and normalizer use.
//
// Letter / number classes follow Unicode 16.0 (as Oniguruma in HF `tokenizers`); whitespace is Oniguruma's
// \s (U+0009–U+000D, U+0020, U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F,
// U+3000). Threads: all functions are safe from any thread (tables are built once, on first use).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace glm::unicode {

enum : uint8_t {
  kLetter = 1,      // \p{L}
  kNumber = 2,      // \p{N}
  kSpace = 4,       // \s
  kNfcUnsafe = 8,   // may change under NFC (ccc != 0, decomposes, or composes with what precedes)
};

// Property flags of a code point (0 for cp > U+10FFFF).
uint8_t flags(uint32_t cp);

// NFC of valid UTF-8 text. Returns false and leaves *out untouched when the text is already NFC by the
// quick check (no kNfcUnsafe code point), which is the common case.
bool nfc(std::string_view text, std::string* out);

}  // namespace glm::unicode
