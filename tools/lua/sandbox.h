// tools/lua/sandbox.h — one fresh, locked-down lua_State per call (reference/sandbox.md).
//
//   auto sb = open_sandbox(limits, LuaCapabilities::pure());   // allocator, hook, allow lists, host API
//   lua_State* L = (*sb)->state();                             // load text chunks only, run under lua_pcall
//
// What a script sees is the allow lists at the top of sandbox.cpp (base subset, string without dump and with
// a capped rep, raw-access table functions, math, utf8, coroutine, os.time/clock/date/difftime, a capped
// print, a text-only load, tostring without heap addresses, setmetatable installing a checked snapshot of the
// metatable: no __gc, no weak keys). Names removed on purpose raise a `forbidden` error when touched. Lua patterns run
// on RE2 instead of Lua's backtracking matcher (patterns.h): the stock one can spend minutes inside one C call,
// where no hook runs.
//
// Owns: the lua_State and its LuaCallContext (the allocator's user data). Destroying the sandbox closes the
//   state; no script code can run then (no metatable with __gc is ever accepted).
// Threads: one thread at a time; only the cancel flag may be set from elsewhere.
// Errors: open_sandbox fails with memory (the cap is too small for the libraries) or forbidden/io (the
//   workspace cannot be opened).
#pragma once

#include <atomic>
#include <memory>
#include <span>
#include <string_view>

#include "base/error.h"
#include "tools/lua/host_api.h"
#include "tools/lua/limits.h"

struct lua_State;

namespace glm::tools::lua {

struct LuaCallContext;

class LuaSandbox {
 public:
  ~LuaSandbox();
  LuaSandbox(const LuaSandbox&) = delete;
  LuaSandbox& operator=(const LuaSandbox&) = delete;

  lua_State* state() const { return L_; }
  LuaCallContext& context() const { return *ctx_; }

 private:
  friend Result<std::unique_ptr<LuaSandbox>> open_sandbox(const LuaLimits&, const LuaCapabilities&,
                                                           const std::atomic<bool>*);
  LuaSandbox() = default;
  std::unique_ptr<LuaCallContext> ctx_;
  lua_State* L_ = nullptr;
};

// The deadline starts now. `cancel`, when given, must outlive the sandbox; setting it ends the call with
// kind `cancelled` at the next hook call.
Result<std::unique_ptr<LuaSandbox>> open_sandbox(const LuaLimits& limits, const LuaCapabilities& caps = {},
                                                 const std::atomic<bool>* cancel = nullptr);

// The names a script can reach in `library` ("_G", "string", "table", "math", "utf8", "coroutine", "os"):
// for documentation and for the CLI; the tests keep their own copy on purpose.
std::span<const std::string_view> allowed_names(std::string_view library);

}  // namespace glm::tools::lua
