#include "runtime/agent/toolset.h"

#include "base/mapped_file.h"
#include "tools/builtin/bm25.h"
#include "tools/builtin/search_tool.h"
#include "tools/builtin/workspace_tools.h"
#include "tools/http/http_tool.h"
#include "tools/mcp/mcp_client.h"
#include "tools/lua/host_api.h"
#include "tools/lua/limits.h"
#include "tools/lua/lua_tool.h"

namespace glm::agent {

namespace {

tools::ToolSpec to_spec(const config::ToolConfig& t) {
  tools::ToolSpec s;
  s.name = t.name;
  s.description = t.spec.value("description", "");
  s.parameters = nlohmann::json::parse(t.spec["parameters"].dump());
  return s;
}

tools::lua::LuaLimits lua_limits(const config::ToolConfig& t) {
  tools::lua::LuaLimits l;
  if (t.limits.timeout_s > 0) l.deadline_ms = static_cast<int64_t>(t.limits.timeout_s * 1000);
  if (t.limits.memory_bytes > 0) l.memory_bytes = static_cast<size_t>(t.limits.memory_bytes);
  if (t.limits.output_bytes > 0) l.output_bytes = static_cast<size_t>(t.limits.output_bytes);
  if (t.limits.instructions > 0) l.max_instructions = t.limits.instructions;
  return l;
}

Error at(const config::ToolConfig& t, const Error& e) {
  return make_error(e.code, "tool \"" + t.name + "\": " + e.message);
}

}  // namespace

Result<Toolset> build_toolset(const config::AgentConfig& cfg) {
  Toolset ts;
  ts.pool = std::make_shared<tools::lua::WorkerPool>();
  ts.registry = std::make_shared<tools::ToolRegistry>();
  // One per toolset, made on first use: http tools, Lua http.request and MCP over HTTP share its transfer thread.
  std::shared_ptr<tools::http::HttpClient> http_client;
  auto shared_http = [&http_client] {
    if (!http_client) http_client = tools::http::HttpClient::create();
    return http_client;
  };
  for (const auto& t : cfg.tools) {
    std::shared_ptr<tools::Tool> tool;
    if (t.type == "lua") {
      auto src = read_text_file(t.settings["script"].get<std::string>());
      if (!src) return at(t, src.error());
      tools::lua::LuaCapabilities caps = tools::lua::LuaCapabilities::pure();
      if (t.settings.contains("capabilities")) {
        auto c = tools::lua::capabilities_from_json(nlohmann::json::parse(t.settings["capabilities"].dump()));
        if (!c) return at(t, c.error());
        caps = *c;
      }
      if (t.settings.contains("workspace")) caps.workspace = t.settings["workspace"].get<std::string>();
      if (t.settings.contains("http")) {
        auto g = tools::lua::http_grant_from_json(nlohmann::json::parse(t.settings["http"].dump()));
        if (!g) return at(t, g.error());
        caps.http = std::move(g).value();
      }
      if (caps.http) caps.http->client = shared_http();
      auto lt = tools::lua::LuaTool::create(std::move(src).value(), to_spec(t), lua_limits(t), caps, ts.pool);
      if (!lt) return at(t, lt.error());
      tool = std::move(lt).value();
    } else if (t.type == "builtin" && t.settings["builtin"] == "search") {
      auto idx = tools::Bm25Index::from_folder(t.settings["corpus"].get<std::string>());
      if (!idx) return at(t, idx.error());
      tool = std::make_shared<tools::SearchTool>(to_spec(t), std::make_shared<tools::Bm25Index>(std::move(idx).value()),
                                                 t.settings["top_k"].get<size_t>());
    } else if (t.type == "builtin" && t.settings["builtin"] == "workspace") {
      auto wt = tools::make_workspace_tool(t.settings["tool"].get<std::string>(), to_spec(t),
                                           t.settings["root"].get<std::string>(), lua_limits(t), ts.pool);
      if (!wt) return at(t, wt.error());
      tool = std::move(wt).value();
    } else if (t.type == "http") {  // tools/http (issue 6): a declarative endpoint behind the address policy
      double timeout_s = t.limits.timeout_s > 0 ? t.limits.timeout_s : cfg.limits.tool_timeout_s;
      size_t out_bytes = static_cast<size_t>(t.limits.output_bytes > 0 ? t.limits.output_bytes : cfg.limits.max_tool_output_bytes);
      auto hc = tools::http::config_from_settings(to_spec(t), nlohmann::json::parse(t.settings.dump()), timeout_s,
                                                  out_bytes, cfg.secrets);
      if (!hc) return at(t, hc.error());
      auto ht = tools::http::HttpTool::create(std::move(hc).value(), shared_http());
      if (!ht) return at(t, ht.error());
      tool = std::move(ht).value();
    } else if (t.type == "mcp") {  // tools/mcp: start (stdio) or reach (HTTP) the server; its tools are "<server>.<tool>"
      double timeout_s = t.limits.timeout_s > 0 ? t.limits.timeout_s : cfg.limits.tool_timeout_s;
      auto mc = tools::mcp::config_from_settings(t.name, nlohmann::json::parse(t.settings.dump()), timeout_s, cfg.secrets);
      if (!mc) return at(t, mc.error());
      if (!mc->url.empty()) mc->http_client = shared_http();  // streamable HTTP
      auto server = tools::mcp::McpServer::start(std::move(mc).value());
      if (!server) return at(t, server.error());
      for (const auto& mt : (*server)->tools()) GLM_TRY(ts.registry->add(mt));  // each tool keeps the server alive
      continue;
    } else {
      return make_error(ErrorCode::unsupported, "tool \"" + t.name + "\": " + t.type +
                                                    " tools are not available in this build yet");
    }
    GLM_TRY(ts.registry->add(std::move(tool)));
  }
  return ts;
}

}  // namespace glm::agent
