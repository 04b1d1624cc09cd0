// tools/lua/json_bridge.h: Lua <-> JSON by raw access, with exact number subtypes and shapes.
#include "tools/lua/json_bridge.h"

#include <lua.hpp>

#include <gtest/gtest.h>

#include "tests/tools/lua/lua_test_util.h"

namespace glm::tools::lua {
namespace {

using testing::describe;
using testing::run;

nlohmann::json result_of(std::string_view code) {
  LuaOutcome r = run(code);
  EXPECT_TRUE(r.ok) << describe(r);
  return r.result;
}

TEST(LuaJsonBridge, TableShapes) {
  EXPECT_EQ(result_of("return {}").dump(), "{}");
  EXPECT_EQ(result_of("return {1, 2, 3}").dump(), "[1,2,3]");
  EXPECT_EQ(result_of("return {[1] = 'a', [3] = 'c'}").dump(), R"({"1":"a","3":"c"})");
  EXPECT_EQ(result_of("return {1, x = 2}").dump(), R"({"1":1,"x":2})");
  EXPECT_EQ(result_of("return {[0] = 'z', 'a'}").dump(), R"({"0":"z","1":"a"})");
  EXPECT_EQ(result_of("return {b = 1, a = {c = true, d = json.null}}").dump(), R"({"a":{"c":true,"d":null},"b":1})");
}

TEST(LuaJsonBridge, NumbersKeepSubtypes) {
  EXPECT_EQ(result_of("return {math.mininteger, math.maxinteger, 0, -0.0, 0.5, 1e-300, 3.0}").dump(),
            "[-9223372036854775808,9223372036854775807,0,-0.0,0.5,1e-300,3.0]");
  EXPECT_EQ(result_of("return 2^63").dump(), "9.223372036854776e+18");
  LuaOutcome inf = run("return 1/0");
  EXPECT_LUA_ERROR(inf, ErrorCode::runtime);
}

TEST(LuaJsonBridge, ArgumentsRoundTrip) {
  nlohmann::json args = nlohmann::json::parse(
      R"({"i": -9223372036854775808, "u": 18446744073709551615, "f": 1.0, "s": "é\u0000x", "a": [[], {}], "n": null})");
  LuaOutcome r = run(R"(
    local a = ...
    return {math.type(a.i), math.type(a.u), math.type(a.f), #a.s, a.n == json.null, a.a[1], a.a[2]})",
                     testing::fast_limits(), LuaCapabilities::pure(), &args);
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.result.dump(), R"(["integer","float","float",4,true,{},{}])");
}

TEST(LuaJsonBridge, InvalidUtf8IsReplacedWhenDumped) {
  LuaOutcome r = run("return 'a\\255b'");
  ASSERT_TRUE(r.ok);
  std::string dumped = r.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  EXPECT_NE(dumped.find("\"a\xEF\xBF\xBD" "b\""), std::string::npos) << dumped;
}

TEST(LuaJsonBridge, DirectConversionLimits) {
  lua_State* L = luaL_newstate();  // a plain state of the test's own, not a sandbox
  luaL_openlibs(L);
  luaL_dostring(L, "return {a = {b = {c = {}}}}");
  nlohmann::json out;
  Status deep = lua_to_json(L, -1, EncodeLimits{2, 1 << 10}, out);
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().code, ErrorCode::output);
  lua_settop(L, 0);
  luaL_dostring(L, "return string.rep('x', 5000)");
  Status big = lua_to_json(L, -1, EncodeLimits{8, 1000}, out);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::output);
  lua_settop(L, 0);
  luaL_dostring(L, "local t = {} t.self = t return t");
  Status cyc = lua_to_json(L, -1, EncodeLimits{}, out);
  ASSERT_FALSE(cyc.ok());
  EXPECT_EQ(cyc.error().code, ErrorCode::runtime);
  EXPECT_EQ(lua_gettop(L), 1);  // the stack is left as it was
  lua_close(L);
  EXPECT_EQ(json_text_depth("[{\"a\": \"[[[\"}]", 13, 10), 2);
}

// Hostile arguments to every wrapped or host function (reference/sandbox.md §5: INT_MIN, huge lengths, NaN,
// deep nesting): each call may fail, none may crash, hang or escape.
TEST(LuaJsonBridge, HostFunctionsSurviveHostileArguments) {
  LuaOutcome r = run(R"lua(
    local weird = {math.mininteger, math.maxinteger, -1, 0, 0/0, 1/0, -1/0, 2^53, 2^63, "", ("x"):rep(1000),
                   {}, setmetatable({}, {__len = function() return math.maxinteger end}), true, json.null}
    local fns = {string.rep, string.find, string.match, string.gmatch, string.gsub, string.format, string.byte,
                 string.sub, string.char, table.concat, table.insert, table.remove, table.move, table.unpack,
                 table.sort, os.date, os.time, json.encode, json.decode, re.find, re.match, re.gsub, load,
                 utf8.char, utf8.codepoint, utf8.offset, select, tostring, tonumber, setmetatable, print}
    local calls = 0
    for _, f in ipairs(fns) do
      for _, a in ipairs(weird) do
        for _, b in ipairs(weird) do
          pcall(f, a, b)
          pcall(f, "abc", a, b)
          pcall(f, {1, 2, 3}, a, b, a)
          calls = calls + 3
        end
      end
    end
    return calls)lua", testing::fast_limits(5000));
  ASSERT_TRUE(r.ok || r.error.code == ErrorCode::output) << describe(r);
  testing::expect_alive();
}

}  // namespace
}  // namespace glm::tools::lua
