// tools/lua/limits.h — the hard limits of one sandboxed Lua call (reference/sandbox.md §10) and the hook that
// enforces time.
//
// Every limit ends the call with a structured error: deadline or instruction budget -> timeout, allocator
// cap -> memory, print/log/result bytes -> output, source size -> forbidden. Defaults are the policy's;
// an agent config or `glm-agent lua --limits JSON` overrides any subset by field name.
//
// Threads: LuaLimits is a plain value. The hook runs on the thread that runs the lua_State.
#pragma once

#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "base/error.h"

struct lua_State;

namespace glm::tools::lua {

struct LuaLimits {
  int64_t deadline_ms = 1000;            // wall clock, from open_sandbox() to the end of the call
  int64_t max_instructions = 0;          // VM instruction budget, counted per hook call; 0: none
  int hook_interval = 1000;              // VM instructions between two hook calls
  size_t memory_bytes = 64u << 20;       // allocator cap for the whole lua_State
  size_t output_bytes = 64u << 10;       // print + log bytes; separately, the encoded result
  size_t source_bytes = 256u << 10;      // longer source is refused before parsing (also for load())
  size_t args_bytes = 1u << 20;          // encoded arguments
  int args_depth = 64;                   // nesting of arguments and of json.decode input
  int result_depth = 32;                 // nesting of the returned value
  size_t string_rep_bytes = 16u << 20;   // largest string.rep result (never above memory_bytes)
  size_t error_bytes = 1024;             // error messages are cut to this
};

// Overrides fields of `base` from a JSON object whose keys are the field names above.
// invalid_argument: not an object, unknown key, wrong type, value out of range.
Result<LuaLimits> limits_from_json(const nlohmann::json& j, LuaLimits base = {});
nlohmann::json limits_to_json(const LuaLimits& limits);

// Installs the count hook on L (the main thread, before any script code, so every coroutine inherits it).
// Each hook call checks the cancel flag, the deadline and the instruction budget; on a trip it records the
// kind in the call context, re-arms itself to fire on every instruction of whatever thread runs next, and
// raises. pcall can catch one raise, never the next instruction.
void install_limit_hook(lua_State* L);

// For host C functions that loop: raises the timeout if the call already tripped or the deadline passed.
// Call it every few thousand iterations. Must be called from Lua (it may raise).
void check_deadline(lua_State* L);

}  // namespace glm::tools::lua
