// tools/lua/runner.h — one sandboxed Lua call: source text (+ JSON arguments) in, a JSON result or a
// kind-tagged error out.
//
//   LuaOutcome r = run_lua({.code = "return 1+1"}, LuaLimits{}, LuaCapabilities::pure());
//   // r.ok, r.result == 2, r.elapsed_ms, r.memory_peak
//
// Entry points: `chunk` runs the source with the arguments as `...` and as the global `args`, and returns
// what it returns (nothing: null; one value: that value; several: an array). `run_function` runs the source,
// then calls its global run(args). `describe` runs the source and returns the global `tool` table
// (self-describing tools: {name, description, parameters}) as {"tool": ..., "has_run": bool}.
//
// Error kinds: timeout (deadline, instruction budget), cancelled, memory, output (print/log/result caps,
// result nesting), syntax (the source does not parse), runtime (the script failed; cycles and unencodable
// results too), forbidden (a refused capability, binary chunks, source over the size cap), invalid_argument
// (arguments over their caps).
// Threads: any thread; each call builds and destroys its own lua_State. Blocks for at most the deadline
// plus the overshoot of one native step (reference/sandbox.md §4); run it on a worker pool, not the loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "tools/lua/host_api.h"
#include "tools/lua/limits.h"

namespace glm::tools::lua {

enum class LuaEntry { chunk, run_function, describe };

struct LuaJob {
  std::string_view code;
  const nlohmann::json* args = nullptr;  // nullptr: no arguments
  LuaEntry entry = LuaEntry::chunk;
  // Optional: precompile(code), to skip parsing on every call. Only bytes precompile() produced belong here:
  // scripts and models can never supply binary chunks.
  const std::string* bytecode = nullptr;
};

// Parses `code` once (as text, under the source cap) and returns its bytecode for LuaJob::bytecode.
// Errors: syntax, forbidden (size, binary input), memory.
Result<std::string> precompile(std::string_view code, const LuaLimits& limits);

struct LuaOutcome {
  bool ok = false;
  nlohmann::json result;        // when ok
  Error error;                  // when !ok
  std::string output;           // what print wrote (at most limits.output_bytes)
  bool output_truncated = false;
  nlohmann::json logs = nlohmann::json::array();  // [{"level","message"}]
  double elapsed_ms = 0;        // open to close, wall clock
  size_t memory_peak = 0;       // bytes, as the allocator saw them
  uint64_t instructions = 0;    // approximate: hook calls x interval

  // {"ok":true,"result":...,"elapsed_ms":...,"memory_peak":...[,"output","output_truncated","logs"]} or
  // {"ok":false,"error":{"kind","message"},...}
  nlohmann::json to_json() const;
};

LuaOutcome run_lua(const LuaJob& job, const LuaLimits& limits, const LuaCapabilities& caps,
                   const std::atomic<bool>* cancel = nullptr);

}  // namespace glm::tools::lua
