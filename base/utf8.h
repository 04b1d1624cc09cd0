// base/utf8.h — UTF-8 decoding and validation (RFC 3629: no surrogates, no overlongs, <= U+10FFFF).
//
// Threads: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace glm::utf8 {

// Decodes one code point at s[i]; on success sets *len (1..4) and returns the code point.
// On an invalid sequence returns -1 and sets *len to 1 (the offending byte).
inline int32_t decode(std::string_view s, size_t i, int* len) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  size_t n = s.size() - i;
  unsigned c = p[0];
  *len = 1;
  if (c < 0x80) return static_cast<int32_t>(c);
  if (c < 0xC2) return -1;
  if (c < 0xE0) {
    if (n < 2 || (p[1] & 0xC0) != 0x80) return -1;
    *len = 2;
    return static_cast<int32_t>(((c & 0x1F) << 6) | (p[1] & 0x3F));
  }
  if (c < 0xF0) {
    if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return -1;
    uint32_t cp = ((c & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    *len = 3;
    return static_cast<int32_t>(cp);
  }
  if (c < 0xF5) {
    if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return -1;
    uint32_t cp = ((c & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    if (cp < 0x10000 || cp > 0x10FFFF) return -1;
    *len = 4;
    return static_cast<int32_t>(cp);
  }
  return -1;
}

// Appends the UTF-8 encoding of cp (assumed valid) to out.
void append(std::string& out, uint32_t cp);

// Returns the byte offset of the first invalid sequence, or npos when s is valid UTF-8.
size_t find_invalid(std::string_view s);

// Replaces every invalid sequence by U+FFFD (one per maximal invalid subpart, as WHATWG / Rust's
// from_utf8_lossy do), so text from files and tools can always be tokenized.
std::string sanitize(std::string_view s);

}  // namespace glm::utf8
