// tools/lua/host_api.h — what a sandboxed script may use beyond plain Lua, granted per tool.
//
//   json   json.encode(v) / json.decode(s) / json.null (texts up to 4 x limits.args_bytes)
//   re     RE2 regexes (linear time): re.find(s, pat [, init]) -> start, end, captures...;
//          re.match(s, pat [, init]) -> captures (or the whole match); re.gsub(s, pat, repl [, n]) -> s, count
//          (repl: string with \0-\9, table, or function)
//   log    log.info/warn/error(...): lines kept with the call's output, counted against the output cap
//   time   time.now() (Unix seconds), time.elapsed_ms(), time.remaining_ms()
//   fs     workspace files under one directory: fs.read(path), fs.write(path, data) (only with
//          workspace_write), fs.list([dir]), fs.exists(path). Paths are relative, without `..`; no component
//          may be a symlink; only regular files are read.
//
// http.request is not offered yet: it needs the HTTP tool policy (tools/http/), which does not exist.
// Threads: plain values.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/error.h"

struct lua_State;

namespace glm::tools::lua {

struct LuaCapabilities {
  bool json = false;
  bool re = false;
  bool log = false;
  bool time = false;
  std::string workspace;          // empty: no fs module
  bool workspace_write = false;

  // json, re, log and time: no access to anything outside the call.
  static LuaCapabilities pure() { return LuaCapabilities{true, true, true, true, {}, false}; }
};

// From an agent config: {"json":true,"re":true,"log":true,"time":true,"workspace":"DIR","workspace_write":false}
// or a list of names ["json","re",...]. invalid_argument on unknown names or wrong types.
Result<LuaCapabilities> capabilities_from_json(const nlohmann::json& j);

struct LuaCallContext;

// Opens what the granted modules hold outside Lua (the workspace directory). Called by open_sandbox() first.
// io: the workspace directory cannot be opened.
Status prepare_host_api(LuaCallContext& ctx);

// Registers the granted modules as globals of L, after the allow lists are applied. Runs inside the protected
// set-up call of open_sandbox() (it allocates, so it may raise).
void register_host_api(lua_State* L);

// The global names the host API may add (for the allow-list test and the sandbox's own pruning).
inline constexpr const char* kHostModules[] = {"json", "re", "log", "time", "fs"};

}  // namespace glm::tools::lua
