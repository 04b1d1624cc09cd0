// tools/lua/regex.h — internal: RE2 for the sandbox (the `re` module and Lua patterns), compiled once per call
// and searched under a work cap.
//
// RE2 matches in time linear in the subject, but one search is one C call the hook cannot interrupt, and when
// its DFA gives up the fallback costs subject bytes x program size. regex_search() refuses a search whose
// subject bytes x program instructions exceed kRegexWorkMax (forbidden) and checks the deadline first.
// Threads: the thread running the call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <re2/re2.h>

struct lua_State;

namespace glm::tools::lua {

struct LuaCallContext;

inline constexpr size_t kRegexMaxPattern = 4096;      // bytes of RE2 syntax
inline constexpr int kRegexMaxGroups = 31;
inline constexpr uint64_t kRegexWorkMax = 1ull << 27; // subject bytes x program instructions per search

enum class RegexSyntax { re2_utf8, lua_bytes };

// Compiled and cached in the call context; nullptr with the reason in c.scratch. The pointer stays valid until
// a later regex_compile may evict it (at most 32 entries), unless held.
const re2::RE2* regex_compile(LuaCallContext& c, std::string_view text, RegexSyntax syntax);

// For a host C function about to call back into Lua while it uses `re`: pushes a to-be-closed guard (leave it
// on the stack) that keeps `re` from eviction until the function returns or an error unwinds it.
void regex_hold(lua_State* L, const re2::RE2* re);

// Searches s[from, n) (anchored at `from` if asked). Raises timeout (deadline passed) or forbidden (work cap);
// returns whether it matched, with nm submatches in m.
bool regex_search(lua_State* L, const re2::RE2& re, const char* s, size_t n, size_t from, bool anchor,
                  re2::StringPiece* m, int nm);

}  // namespace glm::tools::lua
