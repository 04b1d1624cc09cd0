// The sandbox (tools/lua/sandbox.cpp): one test per attack class of reference/sandbox.md §9, each asserting
// the exact error kind, a stop within the limit plus the overshoot, and a liveness probe afterwards. CPU loops
// are in limits_test.cpp.
#include "tools/lua/sandbox.h"
#include "tools/lua/patterns.h"

#include <string>

#include <gtest/gtest.h>

#include "tests/tools/lua/lua_test_util.h"

namespace glm::tools::lua {
namespace {

using testing::describe;
using testing::expect_alive;
using testing::fast_limits;
using testing::run;

void expect_error(std::string_view code, ErrorCode kind, std::string_view message_part = {}) {
  LuaLimits l = fast_limits();
  LuaOutcome r = run(code, l);
  EXPECT_LUA_ERROR(r, kind);
  if (!message_part.empty()) {
    EXPECT_NE(r.error.message.find(message_part), std::string::npos) << describe(r);
  }
  EXPECT_WITHIN_LIMIT(r, l);
  expect_alive();
}


nlohmann::json ok_result(std::string_view code) {
  LuaOutcome r = run(code);
  EXPECT_TRUE(r.ok) << describe(r);
  return r.result;
}

// ---- The environment, enumerated from inside (as Redis's "Prohibit dangerous lua methods in sandbox") ----

// The tests' own copy of the allow lists: a name added to the sandbox must be added here, on purpose.
constexpr const char* kEnvWalk = R"(
  local allowed = {
    _G = {assert=1, error=1, getmetatable=1, ipairs=1, next=1, pairs=1, pcall=1, rawequal=1, rawget=1, rawlen=1,
          rawset=1, select=1, setmetatable=1, tonumber=1, tostring=1, type=1, xpcall=1, _G=1, _VERSION=1,
          print=1, load=1, collectgarbage=1, string=1, table=1, math=1, utf8=1, coroutine=1, os=1,
          json=1, re=1, log=1, time=1},
    string = {byte=1, char=1, find=1, format=1, gmatch=1, gsub=1, len=1, lower=1, match=1, pack=1,
              packsize=1, rep=1, reverse=1, sub=1, unpack=1, upper=1},
    table = {concat=1, insert=1, move=1, pack=1, remove=1, sort=1, unpack=1},
    math = {abs=1, acos=1, asin=1, atan=1, ceil=1, cos=1, deg=1, exp=1, floor=1, fmod=1, huge=1, log=1, max=1,
            maxinteger=1, min=1, mininteger=1, modf=1, pi=1, rad=1, random=1, randomseed=1, sin=1, sqrt=1,
            tan=1, tointeger=1, type=1, ult=1},
    utf8 = {char=1, charpattern=1, codepoint=1, codes=1, len=1, offset=1},
    coroutine = {close=1, create=1, isyieldable=1, resume=1, running=1, status=1, wrap=1, yield=1},
    os = {time=1, clock=1, date=1, difftime=1},
    json = {encode=1, decode=1, null=1},
    re = {find=1, match=1, gsub=1},
    log = {info=1, warn=1, error=1},
    time = {now=1, elapsed_ms=1, remaining_ms=1},
  }
  local unexpected, missing = {}, {}
  local function walk(name, t)
    for k in next, t do
      if not allowed[name][k] then unexpected[#unexpected + 1] = name .. "." .. tostring(k) end
    end
    for k in next, allowed[name] do
      if rawget(t, k) == nil and not (name == "json" and k == "null") then missing[#missing + 1] = name .. "." .. k end
    end
  end
  for name in next, allowed do
    if name == "_G" then walk(name, _G) elseif rawget(_G, name) ~= nil then walk(name, _G[name]) end
  end
  table.sort(unexpected) table.sort(missing)
  return {unexpected = unexpected, missing = missing}
)";

TEST(LuaSandbox, EnvironmentHoldsOnlyAllowedNames) {
  nlohmann::json r = ok_result(kEnvWalk);
  // Empty Lua tables encode as {}: both lists must be empty.
  EXPECT_EQ(r["unexpected"], nlohmann::json::object()) << r.dump();
  EXPECT_EQ(r["missing"], nlohmann::json::object()) << r.dump();
}

TEST(LuaSandbox, AllowTablesMatchTheTestsCopy) {
  EXPECT_EQ(allowed_names("os").size(), 4u);
  EXPECT_EQ(allowed_names("string").size(), 16u);
  EXPECT_TRUE(allowed_names("debug").empty());
}

TEST(LuaSandbox, HostModulesOnlyWhenGranted) {
  LuaOutcome r = run_lua({.code = "return {json ~= nil, re ~= nil, log ~= nil, time ~= nil, fs ~= nil}"},
                         fast_limits(), LuaCapabilities{});
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.result, nlohmann::json::parse("[false, false, false, false, false]"));
}

// ---- Host escape ---------------------------------------------------------------------------------------

TEST(LuaSandbox, OsExecuteIsForbidden) { expect_error("os.execute('id')", ErrorCode::forbidden, "os.execute"); }
TEST(LuaSandbox, OsGetenvIsForbidden) { expect_error("return os.getenv('HOME')", ErrorCode::forbidden, "secrets"); }
TEST(LuaSandbox, IoIsForbidden) { expect_error("return io.open('/etc/passwd'):read('a')", ErrorCode::forbidden, "io"); }
TEST(LuaSandbox, DebugIsForbidden) { expect_error("debug.sethook()", ErrorCode::forbidden, "debug"); }
TEST(LuaSandbox, PackageIsForbidden) {
  expect_error("return package.loadlib('libc.so.6', 'system')", ErrorCode::forbidden, "package");
}
TEST(LuaSandbox, RequireIsForbidden) { expect_error("return require('os')", ErrorCode::forbidden, "require"); }
TEST(LuaSandbox, DofileAndLoadfileAreForbidden) {
  expect_error("return dofile('/etc/passwd')", ErrorCode::forbidden, "dofile");
  expect_error("return loadfile('/etc/passwd')", ErrorCode::forbidden, "loadfile");
}
TEST(LuaSandbox, LoadReturnsTheSandboxOsNotTheHostOne) {
  expect_error("return load('return os')().execute('id')", ErrorCode::forbidden, "os.execute");
  EXPECT_EQ(ok_result("return load('return os.time')() == os.time"), true);
}
TEST(LuaSandbox, LoadWithAnEnvironmentTable) {
  EXPECT_EQ(ok_result("return load('return x + 1', 'c', 't', {x = 41})()"), 42);
  expect_error("return load('return os', 'c', 't', {})().execute", ErrorCode::runtime, "index a nil");
}
TEST(LuaSandbox, CollectgarbageControlIsForbidden) {
  expect_error("collectgarbage('stop')", ErrorCode::forbidden, "collectgarbage");
  expect_error("collectgarbage()", ErrorCode::forbidden, "collectgarbage");
  EXPECT_EQ(ok_result("return type(collectgarbage('count'))"), "number");
}
TEST(LuaSandbox, UndefinedGlobalsAreNil) { EXPECT_EQ(ok_result("return nonexistent == nil"), true); }

// ---- Bytecode ------------------------------------------------------------------------------------------

TEST(LuaSandbox, StringDumpIsForbidden) {
  expect_error("return load(string.dump(function() return 1 end))()", ErrorCode::forbidden, "string.dump");
  expect_error("return ('x').dump(print)", ErrorCode::forbidden, "string.dump");
}
TEST(LuaSandbox, BinarySourceIsRefusedBeforeParsing) {
  expect_error(std::string("\x1bLua\x54\x00garbage", 11), ErrorCode::forbidden, "binary");
}
TEST(LuaSandbox, LoadRefusesBinaryChunks) {
  expect_error("return load('\\27Lua\\84\\0')", ErrorCode::forbidden, "binary");
  expect_error("return load('return 1', 'x', 'b')", ErrorCode::forbidden, "binary");
  expect_error("return load(function() return nil end)", ErrorCode::forbidden, "source text");
}
TEST(LuaSandbox, LoadReportsSyntaxErrorsAsValues) {
  EXPECT_EQ(ok_result("local f, e = load('return +') return f == nil and type(e) == 'string'"), true);
}

// ---- Metatable tricks ----------------------------------------------------------------------------------

TEST(LuaSandbox, GcMetamethodIsRefused) {
  expect_error("setmetatable({}, {__gc = function() while true do end end})", ErrorCode::forbidden, "__gc");
  expect_error("setmetatable({}, {__gc = false})", ErrorCode::forbidden, "__gc");
}
TEST(LuaSandbox, EphemeronTablesAreRefused) {
  expect_error("setmetatable({}, {__mode = 'k'})", ErrorCode::forbidden, "weak-keyed");
  EXPECT_EQ(ok_result("setmetatable({}, {__mode = 'v'}) setmetatable({}, {__mode = 'kv'}) return 1"), 1);
}

TEST(LuaSandbox, ModeAssignedAfterSetmetatableHasNoEffect) {
  // The ephemeron chain that stalls stock Lua's collector (this script: 7.8 s with stock Lua 5.4.4, measured):
  // the installed metatable is a snapshot taken at setmetatable, so the later __mode = 'k' never reaches the
  // collector.
  LuaLimits l = fast_limits(5000);
  LuaOutcome r = run(R"lua(
    local mt = {}
    local t = setmetatable({}, mt)
    mt.__mode = "k"
    local keys = {}
    for i = 1, 100000 do keys[i] = {} end
    for i = 100000 - 1, 1, -1 do t[keys[i]] = keys[i + 1] end
    local root = keys[1]
    keys = nil
    local junk = {}
    for i = 1, 3000000 do junk[i % 1000 + 1] = {i} end  -- keeps the collector cycling
    return getmetatable(t) == mt)lua", l);
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.result, true);
  EXPECT_LT(r.elapsed_ms, 3000.0);
  expect_alive();
}

TEST(LuaSandbox, MetatableSnapshotsKeepClassIdioms) {
  EXPECT_EQ(ok_result(R"lua(
    local Point = {}
    Point.__index = Point
    function Point.new(x, y) return setmetatable({x = x, y = y}, Point) end
    local a = Point.new(1, 2)
    function Point:sum() return self.x + self.y end          -- a method added later: found through __index
    Point.__add = function(p, q) return Point.new(p.x + q.x, p.y + q.y) end
    local b = Point.new(3, 4)                                 -- created after __add: has it
    local c = b + b
    local ok = pcall(function() return a + a end)            -- created before __add: does not
    local Locked = setmetatable({}, {__metatable = "locked"})
    local relock = pcall(setmetatable, Locked, {})
    local r = setmetatable({}, Point)
    setmetatable(r, nil)
    return {getmetatable(a) == Point, a:sum(), c.x, ok, getmetatable(Locked), relock, getmetatable(r) == nil})lua"),
            nlohmann::json::parse(R"([true, 3, 6, false, "locked", false, true])"));
}

TEST(LuaSandbox, GcAddedAfterSetmetatableNeverRuns) {
  // An object is marked for finalization only when its metatable is set with __gc present.
  LuaOutcome r = run(R"(
    local mt = {}
    local t = setmetatable({}, mt)
    mt.__gc = function() while true do end end
    t = nil
    return 'done')");
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_LT(r.elapsed_ms, 100.0);
  expect_alive();
}
TEST(LuaSandbox, ErrorObjectTostringIsNeverCalled) {
  expect_error("error(setmetatable({}, {__tostring = function() while true do end end}))", ErrorCode::runtime,
               "error object is not a string");
}
TEST(LuaSandbox, StringMetatableIsLocked) {
  EXPECT_EQ(ok_result("return getmetatable('')"), false);
  expect_error("getmetatable('').__index = {}", ErrorCode::runtime, "index a boolean");
  expect_error("setmetatable(string, {})", ErrorCode::runtime, "protected metatable");
}

TEST(LuaSandbox, NoHeapAddressesAreShown) {
  LuaOutcome r = run(R"lua(
    local t, u = {}, {}
    print(t, print, coroutine.running())
    return {tostring(t), tostring(t) == tostring(t), tostring(t) ~= tostring(u), string.format("%s|%5s", t, 1),
            tostring(setmetatable({}, {__tostring = function() return "mine" end})),
            tostring(setmetatable({}, {__name = "Point"}))})lua");
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.result, nlohmann::json::parse(R"(["table: 0x00000001", true, true, "table: 0x00000001|    1", "mine",
                                                "Point: 0x00000005"])"));
  EXPECT_EQ(r.output, "table: 0x00000001\tfunction: 0x00000002\tthread: 0x00000003\ttrue\n");
  expect_error("return string.format('%p', {})", ErrorCode::forbidden, "%p");
  EXPECT_EQ(ok_result("return string.format('%%p %d', 1)"), "%p 1");
}

// ---- Cross-call leaks ----------------------------------------------------------------------------------

TEST(LuaSandbox, NothingLeaksAcrossCalls) {
  LuaOutcome a = run(R"(
    string.upper = function() return 'pwned' end
    leaked_global = 1
    math.pi = 3
    return 'a')");
  ASSERT_TRUE(a.ok) << describe(a);
  EXPECT_EQ(ok_result("return {('a'):upper(), leaked_global == nil, math.pi > 3.14}"),
            nlohmann::json::parse(R"(["A", true, true])"));
}

// ---- Memory and string bombs ---------------------------------------------------------------------------

TEST(LuaSandbox, StringRepHugeIsRefused) {
  expect_error("return string.rep('x', 2^40)", ErrorCode::memory, "string.rep");
  expect_error("return ('x'):rep(1e9)", ErrorCode::memory, "string.rep");
  expect_error("return string.rep('ab', 9e6)", ErrorCode::memory, "string.rep");
}
TEST(LuaSandbox, StringRepOfEmptyStringHugeCountIsRefused) {
  expect_error("return #string.rep('', 3e9)", ErrorCode::memory, "string.rep");
  expect_error("return #string.rep('', 1e5, ('x'):rep(1000))", ErrorCode::memory, "string.rep");
  EXPECT_EQ(ok_result("return #string.rep('ab', 3, ',')"), 8);
}
TEST(LuaSandbox, DoublingStringHitsTheMemoryCap) {
  LuaLimits l = fast_limits(2000);
  LuaOutcome r = run("local s = 'x' while true do s = s .. s end", l);
  EXPECT_LUA_ERROR(r, ErrorCode::memory);
  EXPECT_LE(r.memory_peak, l.memory_bytes);
  EXPECT_WITHIN_LIMIT(r, l);
  expect_alive();
}
TEST(LuaSandbox, GrowingTableHitsTheMemoryCap) {
  LuaLimits l = fast_limits(3000);
  l.memory_bytes = 16u << 20;
  LuaOutcome r = run("local t = {} for i = 1, 1e9 do t[i] = i end", l);
  EXPECT_LUA_ERROR(r, ErrorCode::memory);
  EXPECT_LE(r.memory_peak, l.memory_bytes);
  EXPECT_WITHIN_LIMIT(r, l);
  expect_alive();
}
TEST(LuaSandbox, MemoryErrorCaughtByPcallLetsTheScriptRecover) {
  LuaLimits l = fast_limits(2000);
  l.memory_bytes = 8u << 20;
  LuaOutcome r = run(R"(
    local ok, e = pcall(function() local s = 'x' while true do s = s .. s end end)
    return {ok, e})", l);
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.result, nlohmann::json::parse(R"([false, "not enough memory"])"));
}

// ---- Native stalls -------------------------------------------------------------------------------------

TEST(LuaSandbox, BacktrackingPatternRunsInLinearTime) {
  // The stock matcher spends ~23 s on this (reference/sandbox.md §4); on RE2 it is a linear scan.
  LuaLimits l = fast_limits(1000);
  for (const char* code : {"return ('a'):rep(300):find('.-.-.-.-b')", "return ('a'):rep(5000):find('.-.-.-.-.-.-b')",
                           "return string.match(('a'):rep(100000), '(.-)(.-)(.-)b')"}) {
    LuaOutcome r = run(code, l);
    ASSERT_TRUE(r.ok) << code << " " << describe(r);
    EXPECT_EQ(r.result, nullptr) << code;
    EXPECT_LT(r.elapsed_ms, 200.0) << code;
  }
  expect_alive();
}
TEST(LuaSandbox, UnsupportedPatternItemsAreForbidden) {
  expect_error("return ('(a)'):find('%b()')", ErrorCode::forbidden, "%b");
  expect_error("return ('THE (quick) fox'):find('%f[%a]%a+')", ErrorCode::forbidden, "%f");
  expect_error("return ('abab'):match('(ab)%1')", ErrorCode::forbidden, "back-references");
  expect_error("return ('x'):find('(')", ErrorCode::runtime, "unfinished capture");
  expect_error("return ('x'):find('[a')", ErrorCode::runtime, "missing ']'");
  expect_error("return ('x'):find('%')", ErrorCode::runtime, "ends with '%'");
}
TEST(LuaSandbox, LuaPatternsKeepLuaSemantics) {
  EXPECT_EQ(ok_result(R"lua(
    local out = {}
    out[#out + 1] = {("hello world"):find("o w")}
    out[#out + 1] = {("hello world"):find("(o)%s(w)")}
    out[#out + 1] = {("key = value"):match("^(%w+)%s*=%s*(%w+)$")}
    out[#out + 1] = {("  trim me  "):match("^%s*(.-)%s*$")}
    out[#out + 1] = {("abc"):find("b", 1, true)}
    out[#out + 1] = {("a+b"):find("+", 1, true)}
    out[#out + 1] = {("hello"):find("l+")}
    out[#out + 1] = {("hello"):match("()ll()")}
    out[#out + 1] = {("x=1, y=22"):gsub("(%w+)=(%d+)", "%2=%1")}
    out[#out + 1] = {("abc"):gsub("%w", "%0%0")}
    out[#out + 1] = {("hello world"):gsub("o", {o = "0"})}
    out[#out + 1] = {("hello world"):gsub("%w+", function(w) return w:upper() end, 1)}
    out[#out + 1] = {("abc"):gsub("", "-")}
    out[#out + 1] = {("abc"):gsub("b*", "-")}
    local words = {} for w in ("one two  three"):gmatch("%a+") do words[#words + 1] = w end
    out[#out + 1] = words
    local kv = {} for k, v in ("a=1,b=2"):gmatch("(%w+)=(%w+)") do kv[#kv + 1] = k .. v end
    out[#out + 1] = kv
    local e = {} for x in ("abc"):gmatch("b*") do e[#e + 1] = "<" .. x .. ">" end
    out[#out + 1] = table.concat(e)
    out[#out + 1] = {("[x]"):find("[%[%]]")}
    out[#out + 1] = {("a.b"):match("^(.-)%.(.*)$")}
    out[#out + 1] = {("f(a,b)"):match("%((.-)%)")}
    out[#out + 1] = {("2024-01-15"):match("(%d+)-(%d+)-(%d+)")}
    out[#out + 1] = {("abc"):find("^b")}
    out[#out + 1] = {("line1\nline2"):match("1.l")}
    out[#out + 1] = {("abc"):gsub("^a", "X")}
    out[#out + 1] = {("hello"):find("l", -2)}
    out[#out + 1] = {("A1 b2"):gsub("[^%s]", "")}
    out[#out + 1] = {("x^y"):gmatch("^y")()}
    return out)lua"),
            nlohmann::json::parse(R"([[5, 7], [5, 7, "o", "w"], ["key", "value"], ["trim me"], [2, 2], [2, 2],
      [3, 4], [3, 5], ["1=x, 22=y", 2], ["aabbcc", 3], ["hell0 w0rld", 2], ["HELLO world", 1],
      ["-a-b-c-", 4], ["-a-c-", 3], ["one", "two", "three"], ["a1", "b2"], "<><b><>", [1, 1],
      ["a", "b"], ["a,b"], ["2024", "01", "15"], {}, ["1\nl"], ["Xbc", 1], [4, 4], [" ", 4], ["^y"]])"));
}
TEST(LuaSandbox, PatternTranslation) {
  std::string out, err;
  uint32_t pos = 0;
  int groups = 0;
  ASSERT_TRUE(translate_lua_pattern("(%a+)()", 7, out, pos, groups, err));
  EXPECT_EQ(out, "([[:alpha:]]+)()");
  EXPECT_EQ(groups, 2);
  EXPECT_EQ(pos, 2u);
  ASSERT_TRUE(translate_lua_pattern("[^%d.]-$", 8, out, pos, groups, err));
  EXPECT_EQ(out, "[^[:digit:]\\x{2e}]*?\\z");
  EXPECT_FALSE(translate_lua_pattern("%b()", 4, out, pos, groups, err));
}
TEST(LuaSandbox, PlainPatternsWork) {
  EXPECT_EQ(ok_result(R"(
    local out = {}
    out[1] = {('hello world'):find('o w')}
    out[2] = {('a.b.c'):find('.', 1, true)}
    out[3] = ('key=value'):match('=')
    local parts = {} for p in ('a,b,,c'):gmatch(',') do parts[#parts + 1] = p end
    out[4] = #parts
    out[5] = {('a,b,c'):gsub(',', ';')}
    out[6] = {('abc'):gsub('', '-')}
    out[7] = {('a,b'):gsub(',', {[','] = '|'})}
    out[8] = {('a,b'):gsub(',', function(m) return '<' .. m .. '>' end)}
    out[9] = {('xax'):find('a', -2)}
    out[10] = {('aaa'):gsub('a', 'b', 2)}
    return out)"),
            nlohmann::json::parse(R"([[5, 7], [2, 2], "=", 3, ["a;b;c", 2], ["-a-b-c-", 4], ["a|b", 1],
                                      ["a<,>b", 1], [2, 2], ["bba", 2]])"));
}
TEST(LuaSandbox, LongLiteralSearchIsLinear) {
  LuaLimits l = fast_limits(1000);
  LuaOutcome r = run("local s = ('a'):rep(8e6) local p = ('a'):rep(1e5) .. 'b' return s:find(p, 1, true)", l);
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.result, nullptr);
  EXPECT_LT(r.elapsed_ms, 500.0);
}
TEST(LuaSandbox, TableConcatOverHugeRangeIsBounded) {
  expect_error("return table.concat({}, '', 1, 2^40)", ErrorCode::memory, "range");
  // __index would feed the C loop without running a Lua instruction; raw access sees a hole.
  expect_error("return table.concat(setmetatable({}, {__index = table.concat}), '', 1, 1e6)", ErrorCode::runtime,
               "invalid value");
}
TEST(LuaSandbox, TableFunctionsIgnoreLenMetamethods) {
  LuaOutcome r = run(R"(
    local t = setmetatable({}, {__len = function() return 2^40 end})
    table.insert(t, 1, 'x')
    table.remove(t, 1)
    return #t)");
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_LT(r.elapsed_ms, 100.0);
  expect_alive();
}
TEST(LuaSandbox, TableMoveHugeRangeIsBounded) {
  expect_error("table.move({}, 1, 2^40, 2)", ErrorCode::memory, "range");
  LuaOutcome r = run("table.move({}, 1, 2^24 - 1, 2) return 1", fast_limits(5000));
  ASSERT_TRUE(r.ok) << describe(r);
}
TEST(LuaSandbox, TableSortRefusesMetatablesAndHugeArrays) {
  expect_error("table.sort(setmetatable({3, 1}, {}))", ErrorCode::forbidden, "metatable");
  expect_error("local t = {} for i = 1, 300000 do t[i] = i end table.sort(t)", ErrorCode::memory, "longer");
  EXPECT_EQ(ok_result("local t = {3, 1, 2} table.sort(t) return t"), nlohmann::json::parse("[1, 2, 3]"));
  EXPECT_EQ(ok_result("local t = {3, 1, 2} table.sort(t, function(a, b) return a > b end) return t"),
            nlohmann::json::parse("[3, 2, 1]"));
}
TEST(LuaSandbox, TableUnpackTooManyResults) {
  expect_error("return table.unpack({}, 1, 2^31)", ErrorCode::runtime, "too many results");
  EXPECT_EQ(ok_result("return {table.unpack({1, 2, 3})}"), nlohmann::json::parse("[1, 2, 3]"));
}

// ---- Recursion -----------------------------------------------------------------------------------------

TEST(LuaSandbox, DeepLuaRecursion) {
  // Under the default 64 MiB cap the frames run out of memory before Lua's 1M-slot stack limit.
  LuaOutcome m = run("local function f() return f() + 1 end return f()", fast_limits(3000));
  EXPECT_LUA_ERROR(m, ErrorCode::memory);
  LuaLimits l = fast_limits(3000);
  l.memory_bytes = 256u << 20;
  LuaOutcome r = run("local function f() return f() + 1 end return f()", l);
  EXPECT_LUA_ERROR(r, ErrorCode::runtime);
  EXPECT_NE(r.error.message.find("stack overflow"), std::string::npos) << describe(r);
  expect_alive();
}
TEST(LuaSandbox, RecursiveIndexFunction) {
  expect_error("local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x",
               ErrorCode::runtime, "stack overflow");
}
TEST(LuaSandbox, CoroutineWrapRecursion) {
  // Each wrap level prefixes the position, so the cut message no longer shows the cause; the kind is enough.
  expect_error("local function f() return coroutine.wrap(f)() end return f()", ErrorCode::runtime);
}
TEST(LuaSandbox, IndexTableLoop) {
  expect_error("local a, b = {}, {} setmetatable(a, {__index = b}) setmetatable(b, {__index = a}) return a.x",
               ErrorCode::runtime, "'__index' chain too long");
}
TEST(LuaSandbox, DeeplyNestedSourceIsASyntaxError) {
  std::string code = "return " + std::string(100000, '(') + "1" + std::string(100000, ')');
  expect_error(code, ErrorCode::syntax);
}

// ---- Result and output abuse ---------------------------------------------------------------------------

TEST(LuaSandbox, CyclicResult) { expect_error("local t = {} t[1] = t return t", ErrorCode::runtime, "cycle"); }
TEST(LuaSandbox, DeepResult) {
  expect_error("local t = {} for i = 1, 100 do t = {t} end return t", ErrorCode::output, "nested deeper");
}
TEST(LuaSandbox, SharedButAcyclicTablesEncode) {
  EXPECT_EQ(ok_result("local x = {1} return {x, x}"), nlohmann::json::parse("[[1], [1]]"));
}
TEST(LuaSandbox, ResultIndexMetamethodsNeverRun) {
  LuaOutcome r = run(R"(
    return setmetatable({a = 1}, {__index = function() while true do end end,
                                  __pairs = function() while true do end end,
                                  __len = function() while true do end end}))");
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.result, nlohmann::json::parse(R"({"a": 1})"));
}
TEST(LuaSandbox, UnencodableResults) {
  expect_error("return print", ErrorCode::runtime, "function");
  expect_error("return 0/0", ErrorCode::runtime, "NaN");
  expect_error("return {[{}] = 1}", ErrorCode::runtime, "key");
}
TEST(LuaSandbox, PrintFloodIsCutAndFlagged) {
  LuaLimits l = fast_limits();
  LuaOutcome r = run("while true do print('0123456789abcdef') end", l);
  EXPECT_LUA_ERROR(r, ErrorCode::output);
  EXPECT_TRUE(r.output_truncated);
  EXPECT_EQ(r.output.size(), l.output_bytes);
  EXPECT_WITHIN_LIMIT(r, l);
  expect_alive();
}
TEST(LuaSandbox, PrintFloodInsidePcallStillEndsAsOutput) {
  // Past the cap the call is over: like a timeout, pcall cannot catch it, and it ends at once.
  LuaOutcome r = run("while true do pcall(print, ('x'):rep(100)) end");
  EXPECT_LUA_ERROR(r, ErrorCode::output);
  EXPECT_LT(r.elapsed_ms, 100.0) << describe(r);
  expect_alive();
}
TEST(LuaSandbox, HugeResultIsAnOutputError) {
  expect_error("return ('x'):rep(100000)", ErrorCode::output, "bytes");
}
TEST(LuaSandbox, PrintGoesToTheCallOutput) {
  LuaOutcome r = run("print('a', 1, nil, true) return 0");
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.output, "a\t1\tnil\ttrue\n");
  EXPECT_FALSE(r.output_truncated);
}

// ---- Input abuse ---------------------------------------------------------------------------------------

TEST(LuaSandbox, HugeSourceIsRefusedBeforeParsing) {
  std::string code = "return 1 --" + std::string(10u << 20, 'x');
  LuaOutcome r = run(code);
  EXPECT_LUA_ERROR(r, ErrorCode::forbidden);
  EXPECT_LT(r.elapsed_ms, 20.0);
  expect_alive();
}
TEST(LuaSandbox, LoadOfHugeSourceIsRefused) {
  expect_error("return load(('x'):rep(300 * 1024))", ErrorCode::forbidden, "source");
}
TEST(LuaSandbox, HugeArgumentsAreRefused) {
  nlohmann::json args = {{"blob", std::string(2u << 20, 'x')}};
  LuaOutcome r = run("return 1", fast_limits(), LuaCapabilities::pure(), &args);
  EXPECT_LUA_ERROR(r, ErrorCode::invalid_argument);
  nlohmann::json deep = nlohmann::json::array();
  for (int i = 0; i < 100; ++i) deep = nlohmann::json::array({deep});
  LuaOutcome d = run("return 1", fast_limits(), LuaCapabilities::pure(), &deep);
  EXPECT_LUA_ERROR(d, ErrorCode::invalid_argument);
}
TEST(LuaSandbox, SyntaxError) { expect_error("return +", ErrorCode::syntax, "unexpected symbol"); }
TEST(LuaSandbox, RuntimeErrorKeepsThePosition) {
  expect_error("local x = nil\nreturn x.y", ErrorCode::runtime, "tool:2:");
}
TEST(LuaSandbox, ErrorMessagesAreCut) {
  LuaOutcome r = run("error(('x'):rep(5000), 0)");
  EXPECT_LUA_ERROR(r, ErrorCode::runtime);
  EXPECT_LE(r.error.message.size(), 1024u + 3u);
}
TEST(LuaSandbox, RethrownForbiddenErrorKeepsItsKind) {
  expect_error("local ok, e = pcall(function() return os.execute end) error(e)", ErrorCode::forbidden);
}

// ---- Arguments and results -----------------------------------------------------------------------------

TEST(LuaSandbox, ArgumentsArriveAsTablesAndVarargs) {
  nlohmann::json args = nlohmann::json::parse(R"({"n": 3, "xs": [1, 2.5, "s", null, true], "o": {}})");
  LuaOutcome r = run(R"(
    local a = ...
    return {a.n, math.type(a.n), math.type(a.xs[2]), a.xs[3], a.xs[4] == json.null, a.xs[5], args == a})",
                     fast_limits(), LuaCapabilities::pure(), &args);
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.result, nlohmann::json::parse(R"([3, "integer", "float", "s", true, true, true])"));
}
TEST(LuaSandbox, NumbersKeepTheirSubtype) {
  nlohmann::json r = ok_result("return {1, 1.0, 2^53, 1e300, -0.5, math.maxinteger}");
  EXPECT_EQ(r.dump(), "[1,1.0,9.007199254740992e+15,1e+300,-0.5,9223372036854775807]");
}
TEST(LuaSandbox, MultipleResultsBecomeAnArray) {
  EXPECT_EQ(ok_result("return 1, 'a'"), nlohmann::json::parse(R"([1, "a"])"));
  EXPECT_EQ(ok_result("local x = 1"), nullptr);
}

}  // namespace
}  // namespace glm::tools::lua
