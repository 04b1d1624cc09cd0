// tools/tool.h — what every tool (Lua script, HTTP endpoint, MCP server, built-in) is to the runtime.
//
//   ToolSpec   name, description and the JSON Schema of the arguments (what the grammar is built from).
//   ToolResult {ok, content, error{kind, message}}: content is a JSON value, or a JSON string for text.
//   Tool       invoke(arguments, context, done): starts a call and returns at once.
//
// Owns: a Tool owns its spec and what it needs to run (a script, a policy); a call owns its arguments.
// Threads: spec() from any thread. invoke() from any thread, calls may overlap; it must never block the
//   caller (long work goes to a worker pool or async I/O). It calls `done` exactly once, from any thread,
//   possibly before invoke() returns: ToolRegistry::dispatch turns that into one asynchronous completion on
//   the caller's executor.
// Errors: a failed call is ToolResult{ok=false, error{kind, message}}; nothing throws across this boundary.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace glm::tools {

using Json = nlohmann::json;

struct ToolSpec {
  std::string name;                     // [A-Za-z0-9_.-]{1,64}: the model writes it verbatim
  std::string description;
  Json parameters = Json::object();     // JSON Schema of the arguments object
};

struct ToolError {
  ErrorCode kind = ErrorCode::internal;  // timeout, memory, output, syntax, runtime, forbidden, ...
  std::string message;
};

struct ToolResult {
  bool ok = false;
  Json content;       // set when ok: a JSON value, or a string for plain text
  ToolError error;    // set when !ok

  static ToolResult success(Json content);
  static ToolResult failure(ErrorCode kind, std::string message);
  // {"ok":true,"content":...} or {"ok":false,"error":{"kind":"timeout","message":"..."}}
  Json to_json() const;
};

// Per-call context from the caller. `cancel`, when set, is polled by long-running tools; a cancelled call
// completes with kind `cancelled` (or whatever already finished).
struct CallContext {
  std::shared_ptr<const std::atomic<bool>> cancel;
};

// Receives the result of one call. Called exactly once.
using Completion = std::function<void(ToolResult)>;

// Schedules fn to run later on the caller's executor; must never run fn inline. With Boost.Asio:
//   Post post = [ex = ioc.get_executor()](std::function<void()> fn) { boost::asio::post(ex, std::move(fn)); };
using Post = std::function<void(std::function<void()>)>;

class Tool {
 public:
  virtual ~Tool() = default;
  virtual const ToolSpec& spec() const = 0;
  // Starts one call. See the thread contract above; `arguments` were already checked against the schema by
  // the registry (a tool may check more).
  virtual void invoke(Json arguments, CallContext context, Completion done) = 0;
};

}  // namespace glm::tools
