// MCP client over the streamable HTTP transport, against tests/tools/mcp/fake_mcp_server.py --http (python3,
// standard library) on loopback: sessions, JSON and SSE replies, paging, expiry and re-initialization, headers,
// HTTP errors, timeouts, the address policy, and DELETE at shutdown.
#include "tools/mcp/mcp_client.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "tests/tools/mcp/mcp_test_util.h"

namespace glm::tools::mcp {
namespace {

using namespace std::chrono_literals;

// The fake server in HTTP mode, as a child process; it stops when its stdin closes.
class FakeHttpServer {
 public:
  FakeHttpServer() {
    std::string py = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    std::string script = (std::filesystem::path(__FILE__).parent_path() / "fake_mcp_server.py").string();
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      execlp(py.c_str(), py.c_str(), script.c_str(), "--http", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    std::string line;
    char ch;
    while (line.size() < 64 && read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;
    close(out[0]);
    if (line.rfind("PORT ", 0) == 0) port_ = std::stoi(line.substr(5));
  }
  ~FakeHttpServer() {
    if (stdin_ >= 0) close(stdin_);
    if (pid_ > 0) {
      for (int i = 0; i < 200; ++i) {
        int st;
        if (waitpid(pid_, &st, WNOHANG) == pid_) return;
        std::this_thread::sleep_for(10ms);
      }
      kill(pid_, SIGKILL);
      int st;
      waitpid(pid_, &st, 0);
    }
  }
  int port() const { return port_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int port_ = 0;
};

using testing::call;
using testing::find;

class McpHttp : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GT(fake_.port(), 0) << "the fake MCP HTTP server did not start"; }

  McpServerConfig config() {
    McpServerConfig c;
    c.name = "web";
    c.url = fake_.url("/mcp");
    c.policy.allow_private = {"127.0.0.1"};
    c.request_timeout_s = 5;
    c.setup_timeout_s = 10;
    c.http_client = client_;
    return c;
  }
  Json stats() {
    std::promise<Result<http::HttpResponse>> pr;
    http::AddressPolicy p;
    p.allow_private = {"127.0.0.1"};
    client_->fetch(http::HttpRequest{"GET", fake_.url("/stats"), {}, {}}, p, http::FetchLimits{}, nullptr,
                   [&](Result<http::HttpResponse> r) { pr.set_value(std::move(r)); });
    auto r = pr.get_future().get();
    return r.ok() ? Json::parse(r->body, nullptr, false) : Json();
  }

  FakeHttpServer fake_;
  std::shared_ptr<http::HttpClient> client_ = http::HttpClient::create();
};

TEST_F(McpHttp, HandshakePagedListingJsonAndSseReplies) {
  auto s = McpServer::start(config());
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_NE(find(**s, "web.filler_4"), nullptr);  // the last page
  EXPECT_NE(find(**s, "web.notjson"), nullptr);
  auto add = call(*find(**s, "web.add"), Json{{"a", 2}, {"b", 3}});
  ASSERT_TRUE(add.ok) << add.to_json().dump();
  EXPECT_EQ(add.content, "5");
  auto echo = call(*find(**s, "web.echo"), Json{{"text", "over SSE"}});  // a notification comes first
  ASSERT_TRUE(echo.ok) << echo.to_json().dump();
  EXPECT_EQ(echo.content, "over SSE");
  auto st = call(*find(**s, "web.structured"), Json::object());
  ASSERT_TRUE(st.ok);
  EXPECT_EQ(st.content, (Json{{"x", 1}}));
  auto fail = call(*find(**s, "web.fail"), Json::object());
  ASSERT_FALSE(fail.ok);
  EXPECT_EQ(fail.error.kind, ErrorCode::runtime);
  Json j = stats();
  EXPECT_EQ(j["initializes"], 1);
  EXPECT_EQ(j["protocol_errors"], 0);  // MCP-Protocol-Version on every request after initialize
}

TEST_F(McpHttp, LoopbackIsRefusedWithoutTheOptIn) {
  McpServerConfig c = config();
  c.policy.allow_private.clear();
  c.setup_timeout_s = 3;
  auto s = McpServer::start(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::forbidden) << s.error().to_string();
  EXPECT_EQ(stats()["initializes"], 0);
}

TEST_F(McpHttp, AnExpiredSessionIsReinitializedAndTheCallResent) {
  auto s = McpServer::start(config());
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  ASSERT_TRUE(call(*find(**s, "web.expire"), Json::object()).ok);
  auto add = call(*find(**s, "web.add"), Json{{"a", 40}, {"b", 2}});  // 404 -> initialize -> resend
  ASSERT_TRUE(add.ok) << add.to_json().dump();
  EXPECT_EQ(add.content, "42");
  EXPECT_EQ(stats()["initializes"], 2);
  EXPECT_EQ((*s)->restarts(), 1);
}

TEST_F(McpHttp, ConfiguredHeadersAreSentAndRedacted) {
  McpServerConfig c = config();
  c.headers = {{"Authorization", "Bearer test-token"}};
  c.secrets = {"test-token"};
  auto s = McpServer::start(c);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  auto who = call(*find(**s, "web.whoami"), Json::object());
  ASSERT_TRUE(who.ok);
  EXPECT_EQ(who.content, (Json{{"authorized", true}}));
  auto echo = call(*find(**s, "web.echo"), Json{{"text", "token is test-token"}});
  ASSERT_TRUE(echo.ok);
  EXPECT_EQ(echo.content.get<std::string>().find("test-token"), std::string::npos) << echo.content;
}

TEST_F(McpHttp, HttpErrorsMalformedRepliesAndTimeoutsAreToolErrors) {
  auto s = McpServer::start(config());
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  auto e500 = call(*find(**s, "web.http500"), Json::object());
  ASSERT_FALSE(e500.ok);
  EXPECT_EQ(e500.error.kind, ErrorCode::unavailable);
  EXPECT_NE(e500.error.message.find("HTTP 500"), std::string::npos) << e500.error.message;
  auto bad = call(*find(**s, "web.notjson"), Json::object());
  ASSERT_FALSE(bad.ok);
  EXPECT_EQ(bad.error.kind, ErrorCode::unavailable);
  std::promise<Result<Json>> pr;
  auto t0 = std::chrono::steady_clock::now();
  (*s)->request("tools/call", Json{{"name", "slow"}, {"arguments", {{"seconds", 3}}}}, 0.3, nullptr,
                [&](Result<Json> r) { pr.set_value(std::move(r)); });
  auto slow = pr.get_future().get();
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code, ErrorCode::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  auto ok = call(*find(**s, "web.add"), Json{{"a", 1}, {"b", 1}});  // still usable (re-initialized if needed)
  ASSERT_TRUE(ok.ok) << ok.to_json().dump();
  EXPECT_EQ(ok.content, "2");
}

TEST_F(McpHttp, ConcurrentCallsAndDeleteAtShutdown) {
  {
    auto s = McpServer::start(config());
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    auto add = find(**s, "web.add");
    constexpr int N = 40;
    std::atomic<int> ok{0}, finished{0};
    std::promise<void> all;
    for (int i = 0; i < N; ++i)
      add->invoke(Json{{"a", i}, {"b", 1}}, {}, [&, i](ToolResult r) {
        if (r.ok && r.content == std::to_string(i + 1)) ok++;
        if (++finished == N) all.set_value();
      });
    ASSERT_EQ(all.get_future().wait_for(20s), std::future_status::ready);
    EXPECT_EQ(ok.load(), N);
  }
  for (int i = 0; i < 200 && stats()["deletes"] != 1; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(stats()["deletes"], 1);
}

TEST(McpHttpConfig, FromSettings) {
  auto c = config_from_settings("srv", Json::parse(R"({"url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer x"},
                                                       "allow_private": ["127.0.0.1"], "tools": ["a"]})"), 7, {});
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->url, "http://127.0.0.1:9/mcp");
  EXPECT_EQ(c->headers.size(), 1u);
  EXPECT_EQ(c->policy.allow_private, std::vector<std::string>{"127.0.0.1"});
  for (const char* bad : {R"({"url": "http://x/", "command": "y"})", R"({})",
                          R"({"url": "http://x/", "headers": {"X-A": "a\r\nb"}})",
                          R"({"url": "http://x/", "allow_private": ["nope"]})"}) {
    auto r = config_from_settings("srv", Json::parse(bad), 7, {});
    EXPECT_FALSE(r.ok()) << bad;
  }
}

}  // namespace
}  // namespace glm::tools::mcp
