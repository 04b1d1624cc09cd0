// tests/tools/lua/lua_test_util.h — running snippets in the sandbox and asserting the exact outcome.
#pragma once

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "tools/lua/runner.h"

namespace glm::tools::lua::testing {

// How far past its deadline a stopped call may end (reference/sandbox.md §9: limit + 0.2 s).
inline constexpr double kOvershootMs = 200;

// Short deadlines keep the suite fast; every other limit is the default.
inline LuaLimits fast_limits(int64_t deadline_ms = 200) {
  LuaLimits l;
  l.deadline_ms = deadline_ms;
  return l;
}

inline LuaOutcome run(std::string_view code, const LuaLimits& limits = fast_limits(),
                      const LuaCapabilities& caps = LuaCapabilities::pure(), const nlohmann::json* args = nullptr) {
  return run_lua(LuaJob{code, args, LuaEntry::chunk}, limits, caps);
}

inline std::string describe(const LuaOutcome& r) {
  std::string s = r.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 600) s = s.substr(0, 300) + " ... " + s.substr(s.size() - 300);
  return s;
}

// The liveness probe every attack test ends with: the next call in the same process answers correctly.
inline void expect_alive() {
  LuaOutcome r = run("return 1+1");
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.result, 2);
  EXPECT_LT(r.elapsed_ms, 200.0);  // generous: CI machines are shared
}

}  // namespace glm::tools::lua::testing

// Asserts that r failed with exactly `kind`.
#define EXPECT_LUA_ERROR(r, kind)                                                          \
  do {                                                                                     \
    const auto& r_ = (r);                                                                  \
    EXPECT_FALSE(r_.ok) << ::glm::tools::lua::testing::describe(r_);                       \
    EXPECT_EQ(::glm::error_code_name(r_.error.code), ::glm::error_code_name(kind))         \
        << ::glm::tools::lua::testing::describe(r_);                                       \
  } while (0)

// Asserts a stop within the deadline plus the overshoot.
#define EXPECT_WITHIN_LIMIT(r, limits)                                                     \
  EXPECT_LT((r).elapsed_ms, static_cast<double>((limits).deadline_ms) +                    \
                                ::glm::tools::lua::testing::kOvershootMs)                  \
      << ::glm::tools::lua::testing::describe(r)
