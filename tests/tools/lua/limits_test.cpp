// The limits a hook enforces (tools/lua/limits.cpp): every way to keep the CPU busy ends in `timeout` within
// the deadline plus a small overshoot, and the next call answers.
#include "tools/lua/limits.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "tests/tools/lua/lua_test_util.h"

namespace glm::tools::lua {
namespace {

using testing::expect_alive;
using testing::fast_limits;
using testing::run;

void expect_timeout(std::string_view code, int64_t deadline_ms = 200) {
  LuaLimits l = fast_limits(deadline_ms);
  LuaOutcome r = run(code, l);
  EXPECT_LUA_ERROR(r, ErrorCode::timeout);
  EXPECT_GE(r.elapsed_ms, static_cast<double>(deadline_ms) - 1.0) << testing::describe(r);
  EXPECT_WITHIN_LIMIT(r, l);
  expect_alive();
}

TEST(LuaLimits, InfiniteLoop) { expect_timeout("while true do end"); }

TEST(LuaLimits, PcallCannotSwallowTimeout) {
  expect_timeout("while true do pcall(function() while true do end end) end");
}

TEST(LuaLimits, NestedPcallLoopsCannotSwallowTimeout) {
  expect_timeout(R"(
    local function spin() while true do end end
    while true do
      local ok, e = pcall(function() while true do pcall(spin) end end)
    end)");
}

TEST(LuaLimits, XpcallHandlerCannotRunAfterTrip) {
  // The handler of an error raised by the hook runs with hooks off: the sandbox must not run it.
  expect_timeout("while true do xpcall(function() while true do end end, function() while true do end end) end");
}

TEST(LuaLimits, XpcallHandlerStillRunsForOrdinaryErrors) {
  LuaOutcome r = run("return select(2, xpcall(function() error('boom', 0) end, function(m) return 'handled ' .. m end))");
  ASSERT_TRUE(r.ok) << testing::describe(r);
  EXPECT_EQ(r.result, "handled boom");
}

TEST(LuaLimits, LoopInsideCoroutine) {
  expect_timeout("local co = coroutine.wrap(function() while true do end end) co()");
}

TEST(LuaLimits, CoroutineResumeLoopCannotSwallowTimeout) {
  expect_timeout(R"(
    while true do
      local co = coroutine.create(function() while true do end end)
      coroutine.resume(co)
    end)");
}

TEST(LuaLimits, CloseHandlerOfMainChunkIsHooked) {
  expect_timeout(R"(
    local guard <close> = setmetatable({}, {__close = function() while true do end end})
    while true do end)");
}

TEST(LuaLimits, CloseHandlerInsideWrappedCoroutineNeverRunsUnhooked) {
  // coroutine.wrap resets a coroutine that died by error; after the hook killed it, its __close handler would
  // run with hooks off.
  expect_timeout(R"(
    local f = coroutine.wrap(function()
      local guard <close> = setmetatable({}, {__close = function() while true do end end})
      while true do end
    end)
    f())");
}

TEST(LuaLimits, CoroutineCloseAfterTripIsRefused) {
  // The resumer may run up to one hook interval after the coroutine tripped: enough to call close().
  expect_timeout(R"(
    local co = coroutine.create(function()
      local guard <close> = setmetatable({}, {__close = function() while true do end end})
      while true do end
    end)
    coroutine.resume(co)
    coroutine.close(co)
    while true do end)");
}

TEST(LuaLimits, CloseHandlersStillRunBeforeATrip) {
  LuaOutcome r = run(R"(
    local log = {}
    do local x <close> = setmetatable({}, {__close = function() log[#log + 1] = 'closed' end}) end
    local co = coroutine.wrap(function()
      local y <close> = setmetatable({}, {__close = function() log[#log + 1] = 'co closed' end})
      error('inner', 0)
    end)
    local ok, e = pcall(co)
    return {log, e})");
  ASSERT_TRUE(r.ok) << testing::describe(r);
  EXPECT_EQ(r.result, nlohmann::json::parse(R"([["closed", "co closed"], "inner"])"));
}

TEST(LuaLimits, InstructionBudget) {
  LuaLimits l = fast_limits(5000);
  l.max_instructions = 200000;
  LuaOutcome r = run("local n = 0 while true do n = n + 1 end", l);
  EXPECT_LUA_ERROR(r, ErrorCode::timeout);
  EXPECT_NE(r.error.message.find("instruction budget"), std::string::npos) << r.error.message;
  EXPECT_LT(r.elapsed_ms, 1000.0);
  EXPECT_LE(r.instructions, 200000u + 2000u);
  LuaOutcome ok = run("local n = 0 for i = 1, 1000 do n = n + i end return n", l);
  ASSERT_TRUE(ok.ok) << testing::describe(ok);
  EXPECT_EQ(ok.result, 500500);
}

TEST(LuaLimits, CancelFromAnotherThread) {
  std::atomic<bool> cancel{false};
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cancel = true;
  });
  LuaOutcome r = run_lua({.code = "while true do pcall(function() while true do end end) end"}, fast_limits(5000),
                         LuaCapabilities::pure(), &cancel);
  t.join();
  EXPECT_LUA_ERROR(r, ErrorCode::cancelled);
  EXPECT_LT(r.elapsed_ms, 1000.0);
  expect_alive();
}

TEST(LuaLimits, CancelledBeforeStartRunsNothing) {
  std::atomic<bool> cancel{true};
  LuaOutcome r = run_lua({.code = "return 1"}, fast_limits(), LuaCapabilities::pure(), &cancel);
  EXPECT_LUA_ERROR(r, ErrorCode::cancelled);
}

TEST(LuaLimits, DefaultsAreThePolicy) {
  LuaLimits l;
  EXPECT_EQ(l.deadline_ms, 1000);
  EXPECT_EQ(l.memory_bytes, 64u << 20);
  EXPECT_EQ(l.output_bytes, 64u << 10);
  EXPECT_EQ(l.hook_interval, 1000);
  EXPECT_EQ(l.source_bytes, 256u << 10);
  EXPECT_EQ(l.result_depth, 32);
  EXPECT_EQ(l.string_rep_bytes, 16u << 20);
}

TEST(LuaLimits, FromJsonOverridesAndRejects) {
  auto l = limits_from_json(nlohmann::json::parse(R"({"deadline_ms": 250, "memory_bytes": 8388608})"));
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->deadline_ms, 250);
  EXPECT_EQ(l->memory_bytes, 8388608u);
  EXPECT_EQ(l->output_bytes, 64u << 10);
  auto bad = limits_from_json(nlohmann::json::parse(R"({"deadline": 5})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
  auto neg = limits_from_json(nlohmann::json::parse(R"({"deadline_ms": -1})"));
  ASSERT_FALSE(neg.ok());
  auto round = limits_from_json(limits_to_json(*l));
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(round->deadline_ms, 250);
}

}  // namespace
}  // namespace glm::tools::lua
