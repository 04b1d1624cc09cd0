// The limits of one call: parsing them, and the count hook that enforces time (reference/sandbox.md §3).
//
// The hook fires every `hook_interval` VM instructions on every coroutine (each copies its creator's hook, and
// the hook is installed on the main thread before any script code). Once it trips it re-arms itself with a
// count of 1 and raises on every later instruction, so a pcall loop cannot swallow the timeout. What runs
// unhooked after a raise from a hook (an xpcall message handler, the __close handlers of a coroutine being
// reset) is closed off in sandbox.cpp, which consults `tripped`.
#include "tools/lua/limits.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>

#include <lua.hpp>

#include "tools/lua/context.h"

namespace glm::tools::lua {

Result<LuaLimits> limits_from_json(const nlohmann::json& j, LuaLimits base) {
  if (!j.is_object()) return make_error(ErrorCode::invalid_argument, "limits must be a JSON object");
  LuaLimits l = base;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const nlohmann::json& v = it.value();
    if (!v.is_number_integer() || v.get<int64_t>() < 0)
      return make_error(ErrorCode::invalid_argument, "limits." + k + " must be a non-negative integer");
    int64_t x = v.get<int64_t>();
    auto positive = [&]() -> Status {
      if (x <= 0) return make_error(ErrorCode::invalid_argument, "limits." + k + " must be positive");
      return {};
    };
    if (k == "deadline_ms") { GLM_TRY(positive()); l.deadline_ms = x; }
    else if (k == "max_instructions") l.max_instructions = x;
    else if (k == "hook_interval") {
      GLM_TRY(positive());
      if (x > 1000000) return make_error(ErrorCode::invalid_argument, "limits.hook_interval must be <= 1000000");
      l.hook_interval = static_cast<int>(x);
    }
    else if (k == "memory_bytes") {
      if (x < (1 << 20)) return make_error(ErrorCode::invalid_argument, "limits.memory_bytes must be >= 1048576");
      l.memory_bytes = static_cast<size_t>(x);
    }
    else if (k == "output_bytes") { GLM_TRY(positive()); l.output_bytes = static_cast<size_t>(x); }
    else if (k == "source_bytes") { GLM_TRY(positive()); l.source_bytes = static_cast<size_t>(x); }
    else if (k == "args_bytes") { GLM_TRY(positive()); l.args_bytes = static_cast<size_t>(x); }
    else if (k == "args_depth") {
      if (x < 1 || x > 200) return make_error(ErrorCode::invalid_argument, "limits.args_depth must be in 1..200");
      l.args_depth = static_cast<int>(x);
    }
    else if (k == "result_depth") {
      if (x < 1 || x > 200) return make_error(ErrorCode::invalid_argument, "limits.result_depth must be in 1..200");
      l.result_depth = static_cast<int>(x);
    }
    else if (k == "string_rep_bytes") l.string_rep_bytes = static_cast<size_t>(x);
    else if (k == "error_bytes") {
      if (x < 64) return make_error(ErrorCode::invalid_argument, "limits.error_bytes must be >= 64");
      l.error_bytes = static_cast<size_t>(x);
    }
    else return make_error(ErrorCode::invalid_argument, "unknown limit '" + k + "'");
  }
  return l;
}

nlohmann::json limits_to_json(const LuaLimits& l) {
  return nlohmann::json{{"deadline_ms", l.deadline_ms},   {"max_instructions", l.max_instructions},
                        {"hook_interval", l.hook_interval}, {"memory_bytes", l.memory_bytes},
                        {"output_bytes", l.output_bytes},   {"source_bytes", l.source_bytes},
                        {"args_bytes", l.args_bytes},       {"args_depth", l.args_depth},
                        {"result_depth", l.result_depth},   {"string_rep_bytes", l.string_rep_bytes},
                        {"error_bytes", l.error_bytes}};
}

LuaCallContext& ctx_of(lua_State* L) {
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  return *static_cast<LuaCallContext*>(ud);
}

namespace {

void remember(LuaCallContext& c, ErrorCode kind, const char* message) {
  if (c.raised.size() >= 32) c.raised.erase(c.raised.begin());
  c.raised.emplace_back(kind, message);
}

void count_hook(lua_State* L, lua_Debug*);

// Which limit, if any, has passed. Reads the clock: called once per hook interval.
bool over_limit(LuaCallContext& c, ErrorCode* kind, const char** message) {
  if (c.cancel && c.cancel->load(std::memory_order_relaxed)) {
    *kind = ErrorCode::cancelled;
    *message = "call cancelled";
    return true;
  }
  if (Clock::now() >= c.deadline) {
    *kind = ErrorCode::timeout;
    *message = "deadline exceeded";
    return true;
  }
  if (c.limits.max_instructions > 0 && c.instructions > static_cast<uint64_t>(c.limits.max_instructions)) {
    *kind = ErrorCode::timeout;
    *message = "instruction budget exceeded";
    return true;
  }
  return false;
}

void count_hook(lua_State* L, lua_Debug*) {
  LuaCallContext& c = ctx_of(L);
  if (c.tripped) trip(L, c.tripped_kind, c.tripped_message);
  c.instructions += static_cast<uint64_t>(c.limits.hook_interval);
  ErrorCode kind;
  const char* message;
  if (over_limit(c, &kind, &message)) trip(L, kind, message);
}

}  // namespace

void trip(lua_State* L, ErrorCode kind, const char* message) {
  LuaCallContext& c = ctx_of(L);
  if (!c.tripped) {
    c.tripped = true;
    c.tripped_kind = kind;
    c.tripped_message = message;
  }
  lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);  // every later instruction of this thread raises again
  remember(c, kind, message);
  lua_pushstring(L, message);  // may itself fail for memory: still an error, still tripped
  lua_error(L);
  __builtin_unreachable();
}

void raise_error(lua_State* L, ErrorCode kind, const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  remember(ctx_of(L), kind, buf);
  luaL_where(L, 1);
  lua_pushstring(L, buf);
  lua_concat(L, 2);
  lua_error(L);
  __builtin_unreachable();
}

void install_limit_hook(lua_State* L) {
  LuaCallContext& c = ctx_of(L);
  lua_sethook(L, count_hook, LUA_MASKCOUNT, c.limits.hook_interval);
}

void check_deadline(lua_State* L) {
  LuaCallContext& c = ctx_of(L);
  if (c.tripped) trip(L, c.tripped_kind, c.tripped_message);
  ErrorCode kind;
  const char* message;
  if (over_limit(c, &kind, &message)) trip(L, kind, message);
}

}  // namespace glm::tools::lua
