// MCP client against tests/tools/mcp/fake_mcp_server.py (python3, standard library) over stdio.
#include "tools/mcp/mcp_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>

#include "tests/tools/mcp/mcp_test_util.h"
#include "tools/registry.h"

namespace glm::tools::mcp {
namespace {

using namespace std::chrono_literals;

std::string fake_server() {
  return (std::filesystem::path(__FILE__).parent_path() / "fake_mcp_server.py").string();
}

McpServerConfig fake_config() {
  McpServerConfig c;
  c.name = "fake";
  // Not "python3" from PATH: a pyenv shim would put PATH back into the cleared environment.
  c.command = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  c.args = {fake_server()};
  c.env = {{"FAKE_VISIBLE", "1"}};
  c.request_timeout_s = 5;
  c.setup_timeout_s = 10;
  c.max_line_bytes = 1 << 20;
  return c;
}

using testing::call;
using testing::find;

class McpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = McpServer::start(fake_config());
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    server = *s;
  }
  std::shared_ptr<McpServer> server;
};

TEST_F(McpTest, HandshakeAndPagedListing) {
  // 17 tools over 9 pages; the one with a 70-character name cannot be a glm-agent tool name and is skipped.
  EXPECT_EQ(server->tools().size(), 16u);
  auto echo = find(*server, "fake.echo");
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->spec().description, "Echo text");
  EXPECT_EQ(echo->spec().parameters["required"], Json::array({"text"}));
  EXPECT_TRUE(find(*server, "fake.filler_4"));
  ToolRegistry reg;
  for (const auto& t : server->tools()) ASSERT_TRUE(reg.add(t).ok());
}

TEST_F(McpTest, CallsMapContentStructuredContentAndIsError) {
  auto r = call(*find(*server, "fake.echo"), Json{{"text", "hi there"}});
  ASSERT_TRUE(r.ok) << r.to_json().dump();
  EXPECT_EQ(r.content, "hi there");
  r = call(*find(*server, "fake.add"), Json{{"a", 2}, {"b", 3}});
  EXPECT_EQ(r.content, "5");
  r = call(*find(*server, "fake.structured"), Json::object());
  EXPECT_EQ(r.content, (Json{{"x", 1}}));
  r = call(*find(*server, "fake.fail"), Json::object());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.error.kind, ErrorCode::runtime);
  EXPECT_EQ(r.error.message, "it broke");
  r = call(*find(*server, "fake.image"), Json::object());
  ASSERT_TRUE(r.ok);
  ASSERT_TRUE(r.content.is_array());
  EXPECT_EQ(r.content[1]["note"], "400 bytes of base64 omitted");
}

TEST_F(McpTest, ChildEnvironmentIsClearedPlusConfig) {
  auto r = call(*find(*server, "fake.env"), Json::object());
  ASSERT_TRUE(r.ok);
  Json env = r.content["env"];
  EXPECT_NE(std::find(env.begin(), env.end(), "FAKE_VISIBLE"), env.end());
  EXPECT_EQ(std::find(env.begin(), env.end(), "PATH"), env.end());
  EXPECT_EQ(std::find(env.begin(), env.end(), "HOME"), env.end());
}

TEST_F(McpTest, TimeoutAndCancel) {
  auto slow = find(*server, "fake.slow");
  McpServerConfig c = fake_config();
  auto t0 = std::chrono::steady_clock::now();
  std::promise<Result<Json>> pr;
  server->request("tools/call", Json{{"name", "slow"}, {"arguments", {{"seconds", 3}}}}, 0.3, nullptr,
                  [&](Result<Json> r) { pr.set_value(std::move(r)); });
  auto r = pr.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  std::thread canceller([cancel] { std::this_thread::sleep_for(200ms); cancel->store(true); });
  auto cr = call(*slow, Json{{"seconds", 3}}, CallContext{cancel});
  canceller.join();
  ASSERT_FALSE(cr.ok);
  EXPECT_EQ(cr.error.kind, ErrorCode::cancelled);
}

TEST_F(McpTest, UnknownToolIsAJsonRpcError) {
  std::promise<Result<Json>> pr;
  server->request("tools/call", Json{{"name", "nope"}, {"arguments", Json::object()}}, 5, nullptr,
                  [&](Result<Json> r) { pr.set_value(std::move(r)); });
  auto r = pr.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
}

TEST_F(McpTest, CrashGivesAToolErrorAndTheNextCallRestarts) {
  auto r = call(*find(*server, "fake.crash"), Json::object());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.error.kind, ErrorCode::unavailable);
  r = call(*find(*server, "fake.echo"), Json{{"text", "back"}});
  ASSERT_TRUE(r.ok) << r.to_json().dump();
  EXPECT_EQ(r.content, "back");
  EXPECT_EQ(server->restarts(), 1);
  bool saw = false;
  for (const auto& l : server->logs()) saw |= l.find("crashing on purpose") != std::string::npos;
  EXPECT_TRUE(saw);
}

TEST_F(McpTest, BadServerOutputGivesToolErrors) {
  for (const char* name : {"fake.bigline", "fake.garbage"}) {
    auto r = call(*find(*server, name), Json::object());
    ASSERT_FALSE(r.ok) << name;
    EXPECT_EQ(r.error.kind, ErrorCode::unavailable) << name << ": " << r.error.message;
    auto ok = call(*find(*server, "fake.echo"), Json{{"text", "again"}});
    EXPECT_TRUE(ok.ok) << name << ": " << ok.to_json().dump();
  }
  auto r = call(*find(*server, "fake.wrongid"), Json::object());
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.content, "right");
}

TEST_F(McpTest, ConcurrentCalls) {
  auto echo = find(*server, "fake.echo");
  constexpr int N = 50;
  std::atomic<int> ok{0}, finished{0};
  std::promise<void> all;
  for (int i = 0; i < N; ++i)
    echo->invoke(Json{{"text", std::to_string(i)}}, {}, [&, i](ToolResult r) {
      if (r.ok && r.content == std::to_string(i)) ok++;
      if (++finished == N) all.set_value();
    });
  ASSERT_EQ(all.get_future().wait_for(20s), std::future_status::ready);
  EXPECT_EQ(ok.load(), N);
}

TEST(McpSetup, AllowlistAndFailures) {
  McpServerConfig c = fake_config();
  c.allow = {"echo", "add"};
  auto s = McpServer::start(c);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ((*s)->tools().size(), 2u);
  c.allow = {"missing"};
  EXPECT_EQ(McpServer::start(c).error().code, ErrorCode::not_found);
  c.allow = {};
  c.command = "/nonexistent/mcp-server";
  EXPECT_EQ(McpServer::start(c).error().code, ErrorCode::not_found);
  c = fake_config();
  c.env["FAKE_MCP_VERSION"] = "1999-01-01";
  auto v = McpServer::start(c);
  ASSERT_FALSE(v.ok());
  c = fake_config();
  c.command = "false";  // exits at once
  c.args = {};
  auto f = McpServer::start(c);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, ErrorCode::unavailable);
}

TEST(McpSetup, ResultMapping) {
  EXPECT_EQ(map_call_result(Json::parse(R"({"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]})")).content, "a\nb");
  EXPECT_FALSE(map_call_result(Json::parse(R"({"content":[],"isError":true})")).ok);
  EXPECT_FALSE(map_call_result(Json(3)).ok);
  EXPECT_EQ(map_call_result(Json::parse(R"({"content":[{"type":"resource_link","uri":"file:///x","name":"x"}]})")).content[0]["uri"], "file:///x");
}

TEST(McpSetup, ConfigFromSettings) {
  auto c = config_from_settings("srv", Json::parse(R"({"command":"python3","args":["-m","x"],"env":{"A":"1"},"tools":["t"]})"), 7, {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->args.size(), 2u);
  EXPECT_EQ(c->request_timeout_s, 7);
  EXPECT_TRUE(config_from_settings("srv", Json::parse(R"({"url":"http://127.0.0.1:1/mcp"})"), 0, {}).ok());  // HTTP: mcp_http_test
  EXPECT_FALSE(config_from_settings("srv", Json::parse(R"({"command":"x","args":"notalist"})"), 0, {}).ok());
}

}  // namespace
}  // namespace glm::tools::mcp
