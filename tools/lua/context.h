// tools/lua/context.h — internal: the state of one sandboxed call, shared by the allocator, the hook, the
// sandbox set-up and the host API. Not for use outside tools/lua/.
//
// Owns: everything one call accumulates (allocator counters, output, logs, scratch buffers, the workspace
//   directory fd, compiled regexes). It is the allocator's user data, so any lua_State (any coroutine) finds it
//   with ctx_of(L).
// Threads: the thread running the call; `cancel` is the only field another thread touches (it sets it).
//
// Lua errors are longjmps over C++ frames: a host C function keeps no local with a destructor alive across a
// Lua API call that may raise (allocation, lua_error). Owned data lives here, never on that stack.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <lua.hpp>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "tools/lua/host_api.h"
#include "tools/lua/limits.h"

namespace re2 { class RE2; }

namespace glm::tools::lua {

using Clock = std::chrono::steady_clock;

struct LuaCallContext {
  LuaLimits limits;
  LuaCapabilities caps;

  // Allocator (alloc.cpp).
  size_t mem_used = 0;
  size_t mem_peak = 0;
  bool mem_hit = false;        // some allocation was refused

  // Time (limits.cpp).
  Clock::time_point start;
  Clock::time_point deadline;
  uint64_t instructions = 0;   // hook calls x interval
  const std::atomic<bool>* cancel = nullptr;
  bool tripped = false;        // the hook raised: sticky for the rest of the call
  ErrorCode tripped_kind = ErrorCode::timeout;
  const char* tripped_message = "";  // which limit: a static string

  // Output (print, log).
  std::string output;
  bool output_exceeded = false;  // sticky: the call ends with kind `output`
  lua_Integer next_object_id = 0;  // safe_tolstring's sequence
  nlohmann::json logs = nlohmann::json::array();  // [{"level","message"}]
  size_t log_bytes = 0;

  // Errors raised by the host with a kind, so a rethrown message keeps it (most recent last, at most 32).
  std::vector<std::pair<ErrorCode, std::string>> raised;

  // Scratch space for host functions (see the longjmp note above).
  std::string scratch;
  nlohmann::json scratch_json;

  // Host API state.
  int workspace_fd = -1;
  struct CachedRegex {
    std::string key;
    std::unique_ptr<re2::RE2> re;
    int holds = 0;  // host functions holding it across a callback into Lua: not evicted meanwhile
  };
  std::vector<CachedRegex> regex_cache;
  int http_requests = 0;
  http::HttpRequest http_request;    // built from the script's arguments before the wait
  http::HttpResponse http_response;  // the answer, until pushed

  LuaCallContext();
  ~LuaCallContext();
};

LuaCallContext& ctx_of(lua_State* L);

// Records (kind, message) and raises it as a Lua error prefixed with the script position. Never returns.
[[noreturn]] void raise_error(lua_State* L, ErrorCode kind, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

// Marks the call as tripped with `kind` (timeout or cancelled), re-arms the hook and raises. Never returns.
[[noreturn]] void trip(lua_State* L, ErrorCode kind, const char* message);

// luaL_tolstring without heap addresses (an ASLR leak): an object with no __tostring prints as
// "<type or __name>: 0x<n>", n a sequence number unique to the object within the call. Pushes the string.
const char* safe_tolstring(lua_State* L, int idx, size_t* len);

// The capped allocator (alloc.cpp): `ud` is the LuaCallContext.
void* capped_alloc(void* ud, void* ptr, size_t osize, size_t nsize);

}  // namespace glm::tools::lua
