// runtime/agent/toolset.h: a config's tools built and called through the registry — here the Lua tool whose
// "http" policy grants http.request (sharing the toolset's HTTP client), against the loopback test server.
#include "runtime/agent/toolset.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>

#include "runtime/config/agent_config.h"
#include "tests/test_util.h"
#include "tests/tools/http/test_http_server.h"

namespace glm::agent {
namespace {

using namespace std::chrono_literals;

Result<Toolset> build_from(const std::string& config_text, config::Diagnostics* d) {
  std::string dir = glm::testing::make_temp_dir("toolset");
  std::ofstream(dir + "/agent.json") << config_text;
  std::ofstream(dir + "/fetch.lua") << R"(
function run(args)
  local r = http.request(args.url)
  return {status = r.status, body = r.body}
end
)";
  auto cfg = config::load_agent_config(dir + "/agent.json", d);
  if (!cfg) return cfg.error();
  return build_toolset(*cfg);
}

tools::ToolResult call(const Toolset& ts, const std::string& name, tools::Json args) {
  std::promise<tools::ToolResult> pr;
  auto f = pr.get_future();
  ts.registry->dispatch(name, std::move(args), [](std::function<void()> fn) { fn(); },
                        [&](tools::ToolResult r) { pr.set_value(std::move(r)); });
  if (f.wait_for(30s) != std::future_status::ready) return tools::ToolResult::failure(ErrorCode::internal, "no completion");
  return f.get();
}

std::string config_with_http(const std::string& http) {
  return R"({"name": "x", "tools": [{"type": "lua", "name": "fetch", "script": "fetch.lua",
    "parameters": {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]}, )" +
         http + "}]}";
}

TEST(Toolset, LuaToolWithAnHttpPolicyReachesOnlyWhatItAllows) {
  tools::http::testing::TestHttpServer server;
  config::Diagnostics d;
  auto ts = build_from(config_with_http(R"("http": {"allow_private": ["127.0.0.1"]})"), &d);
  ASSERT_TRUE(ts.ok()) << (d.empty() ? ts.error().message : d[0].to_string());
  tools::ToolResult ok = call(*ts, "fetch", {{"url", server.url("/ok")}});
  ASSERT_TRUE(ok.ok) << ok.error.message;
  EXPECT_EQ(ok.content, (tools::Json{{"status", 200}, {"body", "hello"}}));
  // The same script without the opt-in: refused before any byte is sent.
  config::Diagnostics d2;
  auto closed = build_from(config_with_http(R"("http": {"allow_hosts": ["example.com"]})"), &d2);
  ASSERT_TRUE(closed.ok());
  int before = server.requests();
  tools::ToolResult refused = call(*closed, "fetch", {{"url", server.url("/ok")}});
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.error.kind, ErrorCode::forbidden) << refused.error.message;
  EXPECT_EQ(server.requests(), before);
}

TEST(Toolset, AMalformedHttpPolicyIsAConfigError) {
  config::Diagnostics d;
  auto ts = build_from(config_with_http(R"("http": {"allow_private": ["not-an-address"]})"), &d);
  ASSERT_FALSE(ts.ok());
  EXPECT_NE(ts.error().message.find("tool \"fetch\""), std::string::npos) << ts.error().message;
  config::Diagnostics d2;
  auto not_obj = build_from(config_with_http(R"("http": true)"), &d2);
  ASSERT_FALSE(not_obj.ok());
  ASSERT_FALSE(d2.empty());
  EXPECT_NE(d2[0].message.find("\"http\" must be an object"), std::string::npos) << d2[0].to_string();
}

}  // namespace
}  // namespace glm::agent
