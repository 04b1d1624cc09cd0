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
//   http   http.request(url | {url=, method=, headers={name=value}, body=}) -> {status=, body=, content_type=, url=}
//          through tools/http's HttpClient under the grant's AddressPolicy (the same SSRF policy as http tools:
//          hosts allowlist, private/loopback/metadata refused unless allowed, every redirect re-checked). The call
//          waits on the worker thread, never past the call's deadline (it ends as a timeout like a runaway loop)
//          or its cancellation; refusals and failures raise errors with their kind (forbidden, timeout, io,
//          output, invalid_argument) that a script may pcall. At most max_requests requests per call.
// Threads: plain values (the grant's client is shared and thread-safe).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "tools/http/http_client.h"

struct lua_State;

namespace glm::tools::lua {

// What `http` may reach; `client` is shared with the toolset's http tools (filled in by whoever builds tools).
struct LuaHttpGrant {
  http::AddressPolicy policy;
  http::FetchLimits limits;
  int max_requests = 16;
  std::shared_ptr<http::HttpClient> client;
};

struct LuaCapabilities {
  bool json = false;
  bool re = false;
  bool log = false;
  bool time = false;
  std::string workspace;          // empty: no fs module
  bool workspace_write = false;
  std::shared_ptr<LuaHttpGrant> http;  // null: no http module

  // json, re, log and time: no access to anything outside the call.
  static LuaCapabilities pure() { return LuaCapabilities{true, true, true, true, {}, false, nullptr}; }
};

// From an agent config: {"json":true,"re":true,"log":true,"time":true,"workspace":"DIR","workspace_write":false,
// "http":{"allow_hosts":[...],"allow_private":[...],"max_bytes":N,"max_requests":N}} (or "http":true: any public
// host) or a list of names ["json","re","http",...]. The http grant has no client yet. invalid_argument on unknown
// names, wrong types or a malformed policy.
Result<LuaCapabilities> capabilities_from_json(const nlohmann::json& j);

// The grant alone, from its policy object (what an agent config's lua tool gives as "http"); no client yet.
// invalid_argument for anything but such an object, unknown settings or a malformed policy.
Result<std::shared_ptr<LuaHttpGrant>> http_grant_from_json(const nlohmann::json& policy);

struct LuaCallContext;

// Opens what the granted modules hold outside Lua (the workspace directory). Called by open_sandbox() first.
// io: the workspace directory cannot be opened; invalid_argument: an http grant without a client.
Status prepare_host_api(LuaCallContext& ctx);

// Registers the granted modules as globals of L, after the allow lists are applied. Runs inside the protected
// set-up call of open_sandbox() (it allocates, so it may raise).
void register_host_api(lua_State* L);

// The global names the host API may add (for the allow-list test and the sandbox's own pruning).
inline constexpr const char* kHostModules[] = {"json", "re", "log", "time", "fs", "http"};

}  // namespace glm::tools::lua
