// tools/lua/patterns.h — internal: string.find/match/gmatch/gsub for the sandbox, without backtracking.
//
// Stock Lua matching backtracks inside one C call (("a"):rep(300):find(".-.-.-.-b") ran 23 s, unhooked). Here a
// pattern without magic characters (or find with `plain`) is searched with memmem (linear); any other pattern
// is translated to an equivalent RE2 program over bytes (Latin-1, `.` matches newline) and searched in linear
// time under the work cap of regex.h. Results follow Lua 5.4: captures, position captures `()`, anchors `^` and
// `$`, quantifiers `* + - ?` on single classes, sets and %-classes, gsub replacement strings/tables/functions,
// gmatch's rule against a second empty match at the same place.
// Not supported (a `forbidden` error naming the item): %b (balanced), %f (frontier), %1-%9 back-references.
// Threads: the thread running the call.
#pragma once

#include <cstdint>
#include <string>

struct lua_State;

namespace glm::tools::lua {

// Replaces find, match, gmatch and gsub in the table at the top of the stack (the real string table).
void install_string_patterns(lua_State* L);

// Translates a Lua pattern (without a leading anchor, which the caller strips and handles) into RE2 syntax for
// byte matching. Returns false with the reason in `error`. `position_captures` gets bit i set when group i+1
// is a position capture `()`. Exposed for tests.
bool translate_lua_pattern(const char* p, size_t n, std::string& out, uint32_t& position_captures, int& n_groups,
                           std::string& error);

}  // namespace glm::tools::lua
