// tests/tools/mcp/mcp_test_util.h — calling an MCP server's tools synchronously in tests.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "tools/mcp/mcp_client.h"

namespace glm::tools::mcp::testing {

// Invokes t and waits (30 s at most: a missing completion is a test failure, not a hang).
inline ToolResult call(Tool& t, Json args, CallContext ctx = {}) {
  std::promise<ToolResult> pr;
  auto f = pr.get_future();
  t.invoke(std::move(args), ctx, [&](ToolResult r) { pr.set_value(std::move(r)); });
  if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
    return ToolResult::failure(ErrorCode::internal, "test: no completion");
  return f.get();
}

inline std::shared_ptr<Tool> find(const McpServer& s, const std::string& name) {
  for (const auto& t : s.tools())
    if (t->spec().name == name) return t;
  return nullptr;
}

}  // namespace glm::tools::mcp::testing
