// tools/mcp/mcp_client.h — a Model Context Protocol client (protocol 2025-11-25) over stdio or streamable HTTP,
// and its tools.
//
//   McpServerConfig cfg{.name = "time", .command = "/usr/bin/python3", .args = {"-m", "mcp_server_time"}};
//   auto server = McpServer::start(cfg);                 // spawn, initialize, tools/list (all pages); blocks
//   for (auto& tool : server->tools()) registry.add(tool);  // each named "<server>.<tool>"
//
// stdio transport: the child gets a cleared environment plus cfg.env only (the command is looked up on the
//   parent's PATH); one JSON-RPC message per line on stdin/stdout, lines capped at max_line_bytes; stderr is
//   kept as logs (last 200 lines, logs()). Handshake: initialize {protocolVersion 2025-11-25} ->
//   notifications/initialized; a server answering another version we know (2025-06-18, 2025-03-26,
//   2024-11-05) is accepted, anything else refused. Server requests: ping answered, others get -32601.
// streamable HTTP transport (cfg.url set instead of cfg.command): every message is one POST to the endpoint
//   through tools/http's HttpClient and AddressPolicy (cfg.policy: a local server needs allow_private), with
//   Accept: application/json, text/event-stream; cfg.headers on every request; the Mcp-Session-Id the server
//   gives at initialize and MCP-Protocol-Version afterwards. Replies: application/json (one message or an array)
//   or an SSE stream whose data events are messages (requests and notifications before the response are
//   handled as on stdio); 202 for notifications. A 404 while holding a session means it expired: the client
//   re-initializes and re-sends the request once. Other HTTP errors fail the request (401/403: forbidden).
//   The session is ended with DELETE at shutdown. notifications/initialized is acknowledged before any request.
// Results: tools/call {content, structuredContent, isError} -> ToolResult: isError -> failure `runtime` with the
//   text; structuredContent -> that JSON; all-text content -> the joined text; otherwise the content array
//   (binary data replaced by a short note). JSON-RPC errors -> failure (invalid_argument for -32602, else runtime).
// Failures: every request has a timeout (then notifications/cancelled is sent; failure `timeout`); a crashed or
//   misbehaving server (EOF, malformed JSON, an overlong line) fails its pending calls with `unavailable` and is
//   restarted (spawn + handshake) on the next call. Responses with unknown ids are logged and dropped.
// Shutdown (when the McpServer and every tool it made are gone): close stdin, wait 2 s, SIGTERM, wait 1 s, SIGKILL.
// Owns: the child process, a stdout and a stderr reader thread per child, one watchdog thread (timeouts,
//   cancellation). Threads: tools' invoke() from any thread; never blocks (a write that would block fails the
//   call with `unavailable`); completions run on the reader or watchdog thread. start() blocks (set-up only).
// Tool names: "<server>.<tool>"; tools whose combined name is not [A-Za-z0-9_.-]{1,64} are skipped (logged);
//   cfg.allow (when non-empty) keeps only the listed MCP tool names.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "tools/http/http_client.h"
#include "tools/tool.h"

namespace glm::tools::mcp {

inline constexpr const char* kProtocolVersion = "2025-11-25";

struct McpServerConfig {
  std::string name;
  std::string command;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::vector<std::string> allow;   // MCP tool names; empty: all
  double request_timeout_s = 60;    // tools/call
  double setup_timeout_s = 20;      // initialize and tools/list
  size_t max_line_bytes = 4 << 20;
  std::vector<std::string> secrets; // redacted from results and logs
  // HTTP transport.
  std::string url;                                           // the MCP endpoint; set: HTTP instead of stdio
  std::vector<std::pair<std::string, std::string>> headers;  // sent with every request (e.g. Authorization)
  http::AddressPolicy policy;                                // what url may reach (loopback needs allow_private)
  std::shared_ptr<http::HttpClient> http_client;             // shared with the toolset; created when null
};

class McpServer {
 public:
  // Spawns the server, runs the handshake and lists its tools. not_found (command), unavailable (spawn,
  // handshake or listing failed; the message carries the last stderr lines), timeout.
  static Result<std::shared_ptr<McpServer>> start(McpServerConfig cfg);
  ~McpServer();

  const std::vector<std::shared_ptr<Tool>>& tools() const { return tools_; }
  std::vector<std::string> logs() const;  // stderr lines and client notes, redacted
  int restarts() const;                   // how many times the child was (re)spawned after the first

  // One JSON-RPC request, asynchronously (exposed for tests). done runs exactly once.
  void request(std::string method, Json params, double timeout_s, std::shared_ptr<const std::atomic<bool>> cancel,
               std::function<void(Result<Json>)> done);

  struct Core;
  struct Guard {  // shuts the child down when the server object and all its tools are gone
    std::shared_ptr<Core> core;
    explicit Guard(std::shared_ptr<Core> c) : core(std::move(c)) {}
    ~Guard();
  };
 private:
  explicit McpServer(std::shared_ptr<Guard> g) : guard_(std::move(g)) {}
  std::shared_ptr<Guard> guard_;
  std::vector<std::shared_ptr<Tool>> tools_;
};

// From an agent config's mcp server settings {command, args, env, tools} or {url, headers, allow_hosts,
// allow_private, tools}. invalid_argument when malformed.
Result<McpServerConfig> config_from_settings(const std::string& name, const Json& settings, double timeout_s,
                                             std::vector<std::string> secrets);

// Maps a tools/call result to a ToolResult (exposed for tests).
ToolResult map_call_result(const Json& result);

}  // namespace glm::tools::mcp
