#include "tools/lua/regex.h"

#include <algorithm>
#include <memory>
#include <string>

#include <lua.hpp>

#include "tools/lua/context.h"

namespace glm::tools::lua {

namespace {
// Per call: bounds the memory RE2 holds outside the Lua cap (32 x 1 MiB at worst). When full, the oldest entry
// no host function holds goes.
constexpr size_t kRegexCacheMax = 32;
constexpr int64_t kRegexMaxMem = 1 << 20;
}  // namespace

const re2::RE2* regex_compile(LuaCallContext& c, std::string_view text, RegexSyntax syntax) {
  char tag = syntax == RegexSyntax::lua_bytes ? 'L' : 'R';
  for (const auto& e : c.regex_cache)
    if (e.key.size() == text.size() + 1 && e.key[0] == tag && std::string_view(e.key).substr(1) == text)
      return e.re.get();
  if (text.size() > kRegexMaxPattern * 6) {  // Lua patterns grow when translated; the source was capped already
    c.scratch = "pattern longer than " + std::to_string(kRegexMaxPattern) + " bytes";
    return nullptr;
  }
  re2::RE2::Options opt;
  opt.set_log_errors(false);
  opt.set_max_mem(kRegexMaxMem);
  if (syntax == RegexSyntax::lua_bytes) {
    opt.set_encoding(re2::RE2::Options::EncodingLatin1);  // one byte, one character, as in Lua
    opt.set_dot_nl(true);
  }
  auto re = std::make_unique<re2::RE2>(re2::StringPiece(text.data(), text.size()), opt);
  if (!re->ok()) {
    c.scratch = "invalid pattern: " + re->error();
    return nullptr;
  }
  if (re->NumberOfCapturingGroups() > kRegexMaxGroups) {
    c.scratch = "more than " + std::to_string(kRegexMaxGroups) + " captures";
    return nullptr;
  }
  if (c.regex_cache.size() >= kRegexCacheMax) {
    auto victim = std::find_if(c.regex_cache.begin(), c.regex_cache.end(), [](const auto& e) { return e.holds == 0; });
    if (victim == c.regex_cache.end()) {
      c.scratch = "more than " + std::to_string(kRegexCacheMax) + " patterns held by nested callbacks";
      return nullptr;
    }
    c.regex_cache.erase(victim);  // the other RE2 objects stay where they are
  }
  std::string key(1, tag);
  key.append(text.data(), text.size());
  c.regex_cache.push_back({std::move(key), std::move(re), 0});
  return c.regex_cache.back().re.get();
}

namespace {

void add_hold(LuaCallContext& c, const void* re, int delta) {
  for (auto& e : c.regex_cache)
    if (e.re.get() == re) e.holds += delta;
}

// __close of the guard regex_hold() leaves on the stack: runs when the C function returns or unwinds.
int release_hold(lua_State* L) {
  lua_rawgeti(L, 1, 1);
  add_hold(ctx_of(L), lua_touserdata(L, -1), -1);
  return 0;
}

}  // namespace

void regex_hold(lua_State* L, const re2::RE2* re) {
  add_hold(ctx_of(L), re, +1);
  lua_createtable(L, 1, 0);
  lua_pushlightuserdata(L, const_cast<re2::RE2*>(re));
  lua_rawseti(L, -2, 1);
  if (luaL_newmetatable(L, "glm.regex_hold")) {
    lua_pushcfunction(L, release_hold);
    lua_setfield(L, -2, "__close");
  }
  lua_setmetatable(L, -2);
  lua_toclose(L, -1);
}

bool regex_search(lua_State* L, const re2::RE2& re, const char* s, size_t n, size_t from, bool anchor,
                  re2::StringPiece* m, int nm) {
  check_deadline(L);
  if (from > n) return false;
  uint64_t work = static_cast<uint64_t>(n - from) * static_cast<uint64_t>(re.ProgramSize() > 0 ? re.ProgramSize() : 1);
  if (work > kRegexWorkMax)
    raise_error(L, ErrorCode::forbidden,
                "regex search refused: %zu subject bytes x %d pattern instructions exceeds the work cap of %llu",
                n - from, re.ProgramSize(), static_cast<unsigned long long>(kRegexWorkMax));
  return re.Match(re2::StringPiece(s, n), from, n, anchor ? re2::RE2::ANCHOR_START : re2::RE2::UNANCHORED, m, nm);
}

}  // namespace glm::tools::lua
