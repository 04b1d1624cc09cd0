// tools/lua/lua_tool.h — a Tool backed by a Lua script that defines run(args).
//
//   auto pool = std::make_shared<WorkerPool>();
//   auto tool = LuaTool::create(source, spec_or_nullopt, limits, caps, pool);   // Result<shared_ptr<LuaTool>>
//   registry.add(*tool);
//
// The spec comes from the agent config, or, when none is given, from the script itself: a global table
// `tool = {name = ..., description = ..., parameters = {JSON Schema}}`. create() runs the script once in the
// sandbox (under the same limits) to check that it parses and defines run, and to read `tool`.
// Each invoke() runs on the pool in a fresh sandbox: the script (parsed once at create(), its bytecode loaded
// per call), then run(args); the content is the returned
// value, or {"result": value, "output": printed text} when the script printed.
//
// Owns: the source, the spec, the limits and capabilities; shares the pool (which must outlive running calls:
//   the shared_ptr sees to it).
// Threads: see tools/tool.h. invoke() never blocks; `done` runs on a pool thread.
// Errors: create(): syntax (the script does not parse), invalid_argument (no run function, or no spec and no
//   valid `tool` table), and the kinds of run_lua. invoke(): the kinds of run_lua as ToolResult errors.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/error.h"
#include "tools/lua/host_api.h"
#include "tools/lua/limits.h"
#include "tools/lua/worker_pool.h"
#include "tools/tool.h"

namespace glm::tools::lua {

class LuaTool : public Tool, public std::enable_shared_from_this<LuaTool> {
 public:
  static Result<std::shared_ptr<LuaTool>> create(std::string source, std::optional<ToolSpec> spec, LuaLimits limits,
                                                 LuaCapabilities caps, std::shared_ptr<WorkerPool> pool);

  const ToolSpec& spec() const override { return spec_; }
  void invoke(Json arguments, CallContext context, Completion done) override;

  const LuaLimits& limits() const { return limits_; }

 private:
  LuaTool() = default;
  std::string source_;
  std::string bytecode_;  // precompile(source_): parsed once, loaded per call
  ToolSpec spec_;
  LuaLimits limits_;
  LuaCapabilities caps_;
  std::shared_ptr<WorkerPool> pool_;
};

}  // namespace glm::tools::lua
