// tools/registry.h — the tools of one agent, by name, and the one way to call them.
//
//   ToolRegistry reg;
//   reg.add(lua_tool);                                   // before the first dispatch
//   reg.dispatch("grep", args, post, [](ToolResult r) { ... });
//
// Owns: shared ownership of its tools; a running call keeps its tool alive, so the registry may be destroyed
//   while calls are in flight.
// Threads: add() must not overlap any other member. After set-up, find(), specs() and dispatch() may be
//   called from any thread, concurrently.
// dispatch() contract: it never blocks and never completes inline; `done` runs exactly once, through `post`
//   (the loop's executor; `post` must be callable from any thread, as boost::asio::post is), whatever the
//   tool does: an unknown name (not_found), arguments that fail the
//   schema (invalid_argument), a tool that calls its completion twice (the second is dropped) or never
//   (internal, when the tool drops it). Calls may overlap; cancellation goes through CallContext::cancel.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "tools/tool.h"

namespace glm::tools {

class ToolRegistry {
 public:
  // invalid_argument: empty or malformed name, or a name already registered.
  Status add(std::shared_ptr<Tool> tool);

  std::shared_ptr<Tool> find(std::string_view name) const;
  std::vector<ToolSpec> specs() const;  // in registration order
  size_t size() const { return tools_.size(); }

  void dispatch(std::string_view name, Json arguments, Post post, Completion done, CallContext context = {}) const;

 private:
  std::vector<std::shared_ptr<Tool>> tools_;
};

// Checks `arguments` against the subset of JSON Schema a tool declares: type (incl. lists of types), properties,
// required, additionalProperties: false, enum, items, minimum/maximum, minLength/maxLength, minItems/maxItems.
// Other keywords are ignored here (decoding is constrained by the grammar upstream). Errors: invalid_argument
// with the JSON pointer of the first offending value.
Status check_arguments(const Json& schema, const Json& arguments);

// True for names the model can write: [A-Za-z0-9_.-]{1,64}.
bool valid_tool_name(std::string_view name);

}  // namespace glm::tools
