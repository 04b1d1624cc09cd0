#include "model/tokenizer/pretokenizer.h"

#include "base/utf8.h"
#include "model/tokenizer/unicode.h"

namespace glm {

namespace {

constexpr const char* kPatternHead = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|";
constexpr const char* kPatternTail = "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// ASCII letters of the contractions under Unicode simple case folding (U+017F LONG S folds to 's').
uint32_t fold(uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c == 0x17F) return 's';
  return c;
}

struct Text {
  std::vector<uint32_t> cp;
  std::vector<uint32_t> off;  // byte offset of each code point, plus the end
  std::vector<uint8_t> fl;    // unicode::flags of each code point
};

}  // namespace

Result<PreTokenizer> PreTokenizer::from_regex(const std::string& pattern) {
  PreTokenizer p;
  if (pattern == std::string(kPatternHead) + "\\p{N}" + kPatternTail) {
    p.max_digits_ = 1;
    return p;
  }
  if (pattern == std::string(kPatternHead) + "\\p{N}{1,3}" + kPatternTail) {
    p.max_digits_ = 3;
    return p;
  }
  return make_error(ErrorCode::unsupported,
                    "pre-tokenizer Split regex is not one glm-agent implements (GLM-4, Qwen2/3 or Llama 3 "
                    "style): " + pattern);
}

void PreTokenizer::split(std::string_view text, std::vector<std::pair<uint32_t, uint32_t>>* pieces) const {
  thread_local Text t;
  t.cp.clear();
  t.off.clear();
  t.fl.clear();
  for (size_t i = 0; i < text.size();) {
    int len;
    int32_t c = utf8::decode(text, i, &len);
    uint32_t cp = c < 0 ? 0xFFFD : static_cast<uint32_t>(c);
    t.cp.push_back(cp);
    t.off.push_back(static_cast<uint32_t>(i));
    t.fl.push_back(cp < 0x80 ? unicode::flags(cp) : unicode::flags(cp));
    i += static_cast<size_t>(len);
  }
  t.off.push_back(static_cast<uint32_t>(text.size()));

  const size_t n = t.cp.size();
  const auto& cp = t.cp;
  const auto& fl = t.fl;
  auto letter = [&](size_t k) { return k < n && (fl[k] & unicode::kLetter); };
  auto number = [&](size_t k) { return k < n && (fl[k] & unicode::kNumber); };
  auto space = [&](size_t k) { return k < n && (fl[k] & unicode::kSpace); };
  auto other = [&](size_t k) {
    return k < n && !(fl[k] & (unicode::kLetter | unicode::kNumber | unicode::kSpace));
  };
  auto newline = [&](size_t k) { return k < n && (cp[k] == '\r' || cp[k] == '\n'); };

  size_t i = 0;
  while (i < n) {
    size_t j;
    const uint32_t c = cp[i];
    if (c == '\'' && i + 1 < n && [&] {  // (?i:'s|'t|'re|'ve|'m|'ll|'d)
          uint32_t a = fold(cp[i + 1]);
          if (a == 's' || a == 't' || a == 'm' || a == 'd') { j = i + 2; return true; }
          if (i + 2 < n) {
            uint32_t b = fold(cp[i + 2]);
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) { j = i + 3; return true; }
          }
          return false;
        }()) {
    } else if (letter(i)) {  // [^\r\n\p{L}\p{N}]?\p{L}+ without the optional char
      j = i + 1;
      while (letter(j)) ++j;
    } else if (c != '\r' && c != '\n' && !number(i) && letter(i + 1)) {  // ... with it
      j = i + 2;
      while (letter(j)) ++j;
    } else if (number(i)) {  // \p{N}{1,K}
      j = i + 1;
      while (number(j) && j - i < static_cast<size_t>(max_digits_)) ++j;
    } else if (other(i) || (c == ' ' && other(i + 1))) {  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
      j = c == ' ' ? i + 2 : i + 1;
      while (other(j)) ++j;
      while (newline(j)) ++j;
    } else {  // c is whitespace
      size_t end = i, last_newline = n;
      while (space(end)) {
        if (newline(end)) last_newline = end;
        ++end;
      }
      if (last_newline != n) {
        j = last_newline + 1;  // \s*[\r\n]+ : \s* backtracks to the last newline of the run
      } else if (end == n || end - i < 2) {
        j = end;  // \s+(?!\S) at the end of text, or \s+ for a single space before \S
      } else {
        j = end - 1;  // \s+(?!\S): leave one space to join the next piece
      }
    }
    pieces->emplace_back(t.off[i], t.off[j]);
    i = j;
  }
}

}  // namespace glm
