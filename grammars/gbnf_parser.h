// grammars/gbnf_parser.h — GBNF (llama.cpp grammar syntax) to a Grammar.
//
//   root  ::= answer | call          # rules; the rule named `root` is the start
//   call  ::= name "\n" args <[151338]>      # special token by id ...
//   end   ::= <|user|> | <|endoftext|>        # ... or by spelling (resolved at compile time)
//   name  ::= [a-z_] [a-z0-9_]{0,63}
//
// Supported: literals "..." with escapes \n \r \t \\ \" \[ \] \xHH \uHHHH \UHHHHHHHH; character classes
// [a-z], [^...] over code points (matched as UTF-8); `.` (any code point); grouping; `*` `+` `?` `{m}`
// `{m,}` `{m,n}` `{,n}`; `#` comments; newlines inside parentheses and after `|`. Left recursion is
// allowed (the matcher is an Earley parser). Not supported: negated tokens `!<...>` (error).
// Errors: syntax, as "LINE:COL: message" (1-based), for malformed text, undefined rules, missing root.
// Threads: pure function.
#pragma once

#include <string_view>

#include "base/error.h"
#include "grammars/grammar.h"

namespace glm::grammar {

Result<Grammar> parse_gbnf(std::string_view text, std::string_view root_name = "root");

}  // namespace glm::grammar
