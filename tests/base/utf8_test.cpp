#include "base/utf8.h"

#include <gtest/gtest.h>

namespace glm::utf8 {
namespace {

TEST(Utf8, FindInvalidNamesTheFirstBadByte) {
  EXPECT_EQ(find_invalid("plain ascii"), std::string_view::npos);
  EXPECT_EQ(find_invalid("héllo 中文 😀"), std::string_view::npos);
  EXPECT_EQ(find_invalid(std::string("abc\x80")), 3u);                 // stray continuation
  EXPECT_EQ(find_invalid(std::string("\xC0\xAF")), 0u);                // overlong '/'
  EXPECT_EQ(find_invalid(std::string("ok\xED\xA0\x80")), 2u);          // surrogate
  EXPECT_EQ(find_invalid(std::string("\xF4\x90\x80\x80")), 0u);        // > U+10FFFF
  EXPECT_EQ(find_invalid(std::string("12345678\xE4\xB8")), 8u);        // truncated at the end
}

TEST(Utf8, SanitizeReplacesMaximalSubparts) {
  EXPECT_EQ(sanitize("fine"), "fine");
  EXPECT_EQ(sanitize(std::string("a\xFF" "b")), "a\xEF\xBF\xBD" "b");
  // A truncated 3-byte sequence is one maximal subpart: one U+FFFD.
  EXPECT_EQ(sanitize(std::string("\xE4\xB8" "x")), "\xEF\xBF\xBD" "x");
  EXPECT_EQ(find_invalid(sanitize(std::string("\xC0\xAF\xED\xA0\x80\xF8"))), std::string_view::npos);
}

TEST(Utf8, AppendEncodesEveryLength) {
  std::string s;
  for (uint32_t cp : {0x24u, 0xA2u, 0x20ACu, 0x10348u}) append(s, cp);
  EXPECT_EQ(s, "$¢€𐍈");
}

}  // namespace
}  // namespace glm::utf8
