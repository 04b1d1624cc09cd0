// grammars/regex.h — a regular-expression subset (ECMAScript syntax, as JSON Schema `pattern` uses) to
// a grammar expression.
//
//   auto e = regex_to_expr(pool, "^[a-z]+(-[a-z]+)*$", RegexMode::json_string, /*search=*/true);
//
// Supported: literals, `.`, classes `[...]`/`[^...]` with ranges and \d \D \w \W \s \S, escapes
// (\t \n \r \f \v \0 \xHH \uHHHH \u{H..} \cX, escaped punctuation), groups `(...)` `(?:...)`,
// alternation, quantifiers `* + ? {n} {n,} {n,m}` (lazy forms too: same language), `^` at the start and
// `$` at the end of a top-level alternative. Not supported (error `unsupported`, with the column):
// lookaround, backreferences, \b \B, \p{...}, anchors elsewhere.
// search=true gives JSON Schema semantics: an alternative without `^`/`$` may have any text around it.
// Modes: raw_utf8 matches the UTF-8 bytes of the text; json_string matches the text as the body of a
// canonically serialised JSON string (`"` and `\` escaped, control characters as \n or \u00XX).
// Threads: pure function (uses the caller's pool).
#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "grammars/expr.h"

namespace glm::grammar {

enum class RegexMode { raw_utf8, json_string };

Result<ExprId> regex_to_expr(ExprPool& pool, std::string_view pattern, RegexMode mode, bool search);

// A set of code points (sorted, disjoint, inclusive ranges) as bytes in the given mode.
ExprId char_set_expr(ExprPool& pool, const std::vector<std::pair<uint32_t, uint32_t>>& ranges, RegexMode mode);
// Any one character in the given mode.
ExprId any_char_expr(ExprPool& pool, RegexMode mode);
// The canonical JSON escape of one code point (as nlohmann::json::dump writes it), or its UTF-8 bytes.
std::string json_char_bytes(uint32_t cp);

}  // namespace glm::grammar
