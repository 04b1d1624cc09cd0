// runtime/agent/toolset.h — the tools of an agent config, built into a registry.
//
// lua -> LuaTool (script read from disk, limits and capabilities from the config); builtin search ->
// SearchTool over a BM25 index of the corpus folder; builtin workspace -> the workspace tools; http ->
// tools/http HttpTool (one HttpClient per toolset); mcp -> the server is spawned (stdio) and each listed tool
// (after its allowlist) is added as "<server>.<tool>"; MCP over HTTP is refused with `unsupported`.
// Owns: the registry and the worker pool its Lua tools share. Threads: build on one thread, then share.
// Errors: not_found / io (script or corpus), syntax (a script that does not parse), unsupported,
// unavailable / timeout (an MCP server that does not start or list its tools).
#pragma once

#include <memory>

#include "base/error.h"
#include "runtime/config/agent_config.h"
#include "tools/lua/worker_pool.h"
#include "tools/registry.h"

namespace glm::agent {

struct Toolset {
  std::shared_ptr<tools::lua::WorkerPool> pool;
  std::shared_ptr<tools::ToolRegistry> registry;
};

Result<Toolset> build_toolset(const config::AgentConfig& cfg);

}  // namespace glm::agent
