// tools/lua/patterns.h: the RE2-backed string.find/match/gmatch/gsub give the same answers as stock Lua 5.4
// (run here, in the test only, on small inputs where backtracking is harmless).
#include "tools/lua/patterns.h"

#include <lua.hpp>

#include <gtest/gtest.h>

#include "tests/tools/lua/lua_test_util.h"

namespace glm::tools::lua {
namespace {

constexpr const char* kCases = R"lua(
local cases = {
  {"hello world", "o w"}, {"hello world", "(o)%s(w)"}, {"hello world", "l+"}, {"hello world", "l*"},
  {"hello world", "l-o"}, {"hello world", "^h"}, {"hello world", "^w"}, {"hello world", "d$"},
  {"hello world", "o$"}, {"hello world", "%a+"}, {"hello world", "%A"}, {"hello world", "[aeiou]"},
  {"hello world", "[^aeiou ]+"}, {"hello world", "()o()"}, {"hello world", ".-"}, {"hello world", ".*"},
  {"hello world", "x*"}, {"hello world", "l?"}, {"hello world", "(h)(e)(l)(l)(o)"}, {"a.b.c", "%."},
  {"a.b.c", "[.]"}, {"a-b-c", "%-"}, {"a-b-c", "[a-b]"}, {"a-b-c", "[%a-]+"}, {"x = 10, y = 20", "(%w+)%s*=%s*(%d+)"},
  {"  padded  ", "^%s*(.-)%s*$"}, {"CamelCaseWord", "%u%l+"}, {"tab\tsep\tvalues", "[^\t]+"},
  {"2024-01-15T10:20:30", "(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)"}, {"f(a, g(b))", "%((.-)%)"},
  {"f(a, g(b))", "%((.*)%)"}, {"[brackets]", "[%[%]]"}, {"]x]", "[]x]+"}, {"^caret", "^^c"}, {"a^b", "%^"},
  {"dollar$", "%$"}, {"dollar$", "$"}, {"mid$dle", "d$d"}, {"abc", ""}, {"", ""}, {"", "a*"}, {"aaa", "a-"},
  {"aaa", "a-$"}, {"aaab", "a-b"}, {"\0\1\2", "%c+"}, {"caf\195\169", "[\128-\255]+"}, {"x1y22z333", "%d+"},
  {"x1y22z333", "%D+"}, {"hex ff 0A zz", "%x%x"}, {"p.u,n;c", "%p"}, {"MiXeD", "[%l]"}, {"a b\nc", "%s"},
  {"a b\nc", "."}, {"key=val", "([^=]+)=(.*)"}, {"one,two,,three", "([^,]*)"}, {"aXbXc", "X"},
  {"1.5e10", "^[+-]?%d+%.?%d*[eE]?[+-]?%d*$"}, {"path/to/file.txt", "([^/]+)$"}, {"path/to/file.txt", "^(.*)/"},
  {"repeat repeat", "(%w+) "}, {"(a)", "%(a%)"}, {"a+b", "a+b"}, {"aab", "a+b"}, {"a?", "a?"}, {"[x", "%[x"},
}
local function pack(...)
  local t = table.pack(...)
  local r = {}
  for i = 1, t.n do r[#r + 1] = type(t[i]) .. ":" .. tostring(t[i]) end
  return table.concat(r, ",")
end
local out = {}
for i, c in ipairs(cases) do
  local s, p = c[1], c[2]
  out[#out + 1] = i .. " find " .. pack(string.find(s, p))
  out[#out + 1] = i .. " find3 " .. pack(string.find(s, p, 3))
  out[#out + 1] = i .. " match " .. pack(string.match(s, p))
  out[#out + 1] = i .. " gsub " .. pack(string.gsub(s, p, "<%0>"))
  out[#out + 1] = i .. " gsubf " .. pack(string.gsub(s, p, function(...) return "[" .. select("#", ...) .. "]" end))
  out[#out + 1] = i .. " gsub1 " .. pack(string.gsub(s, p, "#", 1))
  local g = {}
  for a, b in string.gmatch(s, p) do g[#g + 1] = tostring(a) .. "|" .. tostring(b) end
  out[#out + 1] = i .. " gmatch " .. table.concat(g, ";")
end
return table.concat(out, "\n")
)lua";

std::string stock_lua(const char* code) {
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  std::string out;
  if (luaL_loadstring(L, code) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) out = std::string("error: ") + lua_tostring(L, -1);
  else {
    size_t n = 0;
    const char* s = lua_tolstring(L, -1, &n);
    out.assign(s, n);
  }
  lua_close(L);
  return out;
}

TEST(LuaPatterns, SameAnswersAsStockLua) {
  std::string expected = stock_lua(kCases);
  ASSERT_EQ(expected.rfind("error", 0), std::string::npos) << expected;
  LuaOutcome r = testing::run(kCases, testing::fast_limits(2000));
  ASSERT_TRUE(r.ok) << testing::describe(r);
  std::string got = r.result.get<std::string>();
  // Compare line by line for a readable failure.
  size_t i = 0, j = 0;
  int diffs = 0;
  while (i < expected.size() || j < got.size()) {
    size_t ei = expected.find('\n', i), gj = got.find('\n', j);
    std::string e = expected.substr(i, ei == std::string::npos ? std::string::npos : ei - i);
    std::string g = got.substr(j, gj == std::string::npos ? std::string::npos : gj - j);
    if (e != g && ++diffs <= 20) ADD_FAILURE() << "stock: " << e << "\nsandbox: " << g;
    if (ei == std::string::npos || gj == std::string::npos) break;
    i = ei + 1;
    j = gj + 1;
  }
  EXPECT_EQ(diffs, 0);
  EXPECT_EQ(expected.size(), got.size());
}

TEST(LuaPatterns, ManyEmptyMatchesStayWithinTheDeadline) {
  LuaLimits l = testing::fast_limits(200);
  LuaOutcome r = testing::run("local s = ('a'):rep(8e6) while true do s:gsub('x*', '') end", l);
  EXPECT_LUA_ERROR(r, ErrorCode::timeout);
  EXPECT_WITHIN_LIMIT(r, l);
  testing::expect_alive();
}

TEST(LuaPatterns, HugeSearchesAreRefusedByTheWorkCap) {
  LuaOutcome r = testing::run("local s = ('a'):rep(16e6 - 1) return s:find('(a|b)*c')", testing::fast_limits(2000));
  // '(a|b)' is literal in Lua patterns; the translated program is small, so this one is allowed and linear.
  EXPECT_TRUE(r.ok || r.error.code == ErrorCode::forbidden) << testing::describe(r);
  LuaOutcome big = testing::run(
      "local s = ('a'):rep(16e6 - 1) return s:find(('[ab]?'):rep(200) .. 'c')", testing::fast_limits(2000));
  EXPECT_LUA_ERROR(big, ErrorCode::forbidden);
  EXPECT_LT(big.elapsed_ms, 500.0);
  testing::expect_alive();
}

}  // namespace
}  // namespace glm::tools::lua
