// tools/builtin/workspace_tools.h — the built-in workspace tools of coding agents: list_files, read_file,
// write_file, replace, run_tests, confined to one folder.
//
// Each is a small Lua script run in the tool sandbox with the workspace granted through its `fs` module
// (tools/lua/host_api.h), so path confinement (relative paths only, no `..`, no symlink on the way) and the
// time/memory/output limits are the sandbox's, in one place. Writes are granted only to write_file and
// replace. run_tests runs a Lua test file: tests declared with the harness of agents/README.md (`test(name, fn)`,
// `assert_eq(actual, expected)`) and/or a report the file returns ({passed, failures = {{test, message}}}, as
// examples/workspace/testlib.lua builds), and answers `{"passed":N,"failed":M,"failures":[{"test","message"}]}`.
// Threads / errors: see tools/lua/lua_tool.h; make_workspace_tool(): invalid_argument for an unknown
// tool name.
#pragma once

#include <memory>
#include <string>

#include "base/error.h"
#include "tools/lua/limits.h"
#include "tools/lua/worker_pool.h"
#include "tools/tool.h"

namespace glm::tools {

// `op` is one of list_files, read_file, write_file, replace, run_tests; `spec` is what the model sees.
Result<std::shared_ptr<Tool>> make_workspace_tool(const std::string& op, ToolSpec spec, const std::string& root,
                                                  lua::LuaLimits limits, std::shared_ptr<lua::WorkerPool> pool);

}  // namespace glm::tools
