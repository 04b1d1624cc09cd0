// HTTP client and tool against a loopback test server. Only 127.0.0.0/8 and ::1 are ever targets; refused
// addresses are refused before any connection (the server counts requests to prove it).
#include "tools/http/http_tool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include "base/redact.h"
#include "tests/tools/http/test_http_server.h"

namespace glm::tools::http {
namespace {

using testing::TestHttpServer;
using namespace std::chrono_literals;

Result<HttpResponse> fetch_sync(HttpClient& c, HttpRequest req, AddressPolicy p, FetchLimits l = {},
                                std::shared_ptr<std::atomic<bool>> cancel = nullptr) {
  std::promise<Result<HttpResponse>> pr;
  auto f = pr.get_future();
  c.fetch(std::move(req), std::move(p), l, cancel, [&](Result<HttpResponse> r) { pr.set_value(std::move(r)); });
  if (f.wait_for(30s) != std::future_status::ready) return make_error(ErrorCode::internal, "test: no completion");
  return f.get();
}

ToolResult call_sync(Tool& t, Json args, CallContext ctx = {}) {
  std::promise<ToolResult> pr;
  auto f = pr.get_future();
  t.invoke(std::move(args), ctx, [&](ToolResult r) { pr.set_value(std::move(r)); });
  if (f.wait_for(30s) != std::future_status::ready) return ToolResult::failure(ErrorCode::internal, "test: no completion");
  return f.get();
}

AddressPolicy loopback_ok() { return AddressPolicy{.allow_private = {"127.0.0.1"}}; }

Resolver fixed_resolver(std::map<std::string, std::vector<std::string>> table) {
  return [table](const std::string& host) -> Result<std::vector<IpAddress>> {
    auto it = table.find(host);
    if (it == table.end()) return make_error(ErrorCode::io, "unknown host " + host);
    std::vector<IpAddress> out;
    for (const auto& a : it->second) out.push_back(**parse_ip_literal(a));
    return out;
  };
}

std::shared_ptr<HttpTool> make_tool(std::shared_ptr<HttpClient> client, HttpToolConfig c) {
  if (c.spec.name.empty()) c.spec.name = "t";
  if (c.policy.allow_private.empty() && !c.policy.allow_all_private) c.policy.allow_private = {"127.0.0.1"};
  auto t = HttpTool::create(std::move(c), std::move(client));
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().to_string());
  return t.ok() ? *t : nullptr;
}

class HttpTest : public ::testing::Test {
 protected:
  TestHttpServer server;
  std::shared_ptr<HttpClient> client = HttpClient::create(fixed_resolver({{"pinned.test", {"127.0.0.1"}},
                                                                          {"other.test", {"127.0.0.1"}},
                                                                          {"rebind.test", {"127.0.0.1"}},
                                                                          {"mixed.test", {"127.0.0.1", "10.0.0.1"}},
                                                                          {"meta.test", {"::ffff:169.254.169.254"}}}));
  std::string base() const { return "http://127.0.0.1:" + std::to_string(server.port()); }
};

TEST_F(HttpTest, SuccessWithPinnedLiteral) {
  auto r = fetch_sync(*client, {.url = server.url("/ok")}, loopback_ok());
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
}

TEST_F(HttpTest, LoopbackRefusedWithoutOptInInEverySpelling) {
  std::string port = std::to_string(server.port());
  for (std::string host : {"127.0.0.1", "127.1", "2130706433", "0x7f.1", "0x7f000001", "0177.0.0.1", "017700000001",
                           "127.0.0.1.", "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::127.0.0.1]",
                           "[64:ff9b::7f00:1]", "[2002:7f00:1::]", "0.0.0.0", "0", "localhost", "LOCALHOST."}) {
    auto r = fetch_sync(*client, {.url = "http://" + host + ":" + port + "/ok"}, AddressPolicy{});
    EXPECT_FALSE(r.ok()) << host;
    if (!r.ok() && host.rfind("localhost", 0) != 0 && host.rfind("LOCAL", 0) != 0) {
      EXPECT_EQ(r.error().code, ErrorCode::forbidden) << host << ": " << r.error().to_string();
    }
  }
  EXPECT_EQ(server.requests(), 0);
}

TEST_F(HttpTest, OnlyTheAllowedLoopbackAddressIsReachable) {
  std::string port = std::to_string(server.port());
  EXPECT_TRUE(fetch_sync(*client, {.url = "http://127.1:" + port + "/ok"}, loopback_ok()).ok());
  auto r = fetch_sync(*client, {.url = "http://127.0.0.2:" + port + "/ok"}, loopback_ok());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::forbidden);
}

TEST_F(HttpTest, ProtocolsAndUrlShapes) {
  for (std::string url : std::vector<std::string>{"file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1/", "dict://127.0.0.1:1/",
                          "http://user:pw@127.0.0.1:" + std::to_string(server.port()) + "/ok", "http:///nohost",
                          "not a url"}) {
    auto r = fetch_sync(*client, {.url = url}, loopback_ok());
    EXPECT_FALSE(r.ok()) << url;
  }
  EXPECT_EQ(server.requests(), 0);
}

TEST_F(HttpTest, ResolverAnswersAreVettedAndPinned) {
  std::string port = std::to_string(server.port());
  // A name whose resolver answers loopback (DNS rebinding) is refused without opt-in.
  auto r = fetch_sync(*client, {.url = "http://rebind.test:" + port + "/ok"}, AddressPolicy{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::forbidden);
  // One denied answer among several refuses the hop (fail closed).
  r = fetch_sync(*client, {.url = "http://mixed.test:" + port + "/ok"}, loopback_ok());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::forbidden);
  r = fetch_sync(*client, {.url = "http://meta.test:" + port + "/ok"}, AddressPolicy{.allow_all_private = true});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::forbidden);
  EXPECT_EQ(server.requests(), 0);
  // With the opt-in, the vetted address is pinned: the system resolver knows nothing of pinned.test.
  r = fetch_sync(*client, {.url = "http://pinned.test:" + port + "/echo"}, loopback_ok());
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(Json::parse(r->body)["headers"]["host"], "pinned.test:" + port);
}

TEST_F(HttpTest, HostAllowlist) {
  std::string port = std::to_string(server.port());
  AddressPolicy p = loopback_ok();
  p.allow_hosts = {"pinned.test"};
  EXPECT_TRUE(fetch_sync(*client, {.url = "http://pinned.test:" + port + "/ok"}, p).ok());
  auto r = fetch_sync(*client, {.url = "http://other.test:" + port + "/ok"}, p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::forbidden);
  r = fetch_sync(*client, {.url = "http://127.0.0.1:" + port + "/ok"}, p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::forbidden);
}

TEST_F(HttpTest, RedirectsAreFollowedAndEveryHopRechecked) {
  std::string port = std::to_string(server.port());
  auto r = fetch_sync(*client, {.url = server.url("/redirect?to=/ok")}, loopback_ok());
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(r->url, server.url("/ok"));
  for (std::string to : std::vector<std::string>{"http://169.254.169.254/latest/meta-data/", "http://127.0.0.2:" + port + "/ok",
                         "http://[::1]:" + port + "/ok", "http://2130706434:" + port + "/ok", "file:///etc/passwd",
                         "ftp://127.0.0.1:" + port + "/", "http://10.0.0.1/", "http://meta.test:" + port + "/ok",
                         "http://mixed.test:" + port + "/ok"}) {
    int before = server.requests();
    auto rr = fetch_sync(*client, {.url = server.url("/redirect?to=" + percent_encode(to))}, loopback_ok());
    ASSERT_FALSE(rr.ok()) << to;
    EXPECT_EQ(rr.error().code, ErrorCode::forbidden) << to << ": " << rr.error().to_string();
    EXPECT_EQ(server.requests(), before + 1) << to;  // only the redirecting hop reached the server
  }
}

TEST_F(HttpTest, RedirectLoopStopsAfterFiveHops) {
  auto r = fetch_sync(*client, {.url = server.url("/loop")}, loopback_ok());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too many redirects"), std::string::npos);
  EXPECT_EQ(server.requests(), 6);
}

TEST_F(HttpTest, PostBecomesGetOn303AndHeadersStayWithTheirHost) {
  std::string port = std::to_string(server.port());
  HttpRequest req{.method = "POST", .url = server.url("/redirect?code=303&to=" +
                                                      percent_encode("http://other.test:" + port + "/echo")),
                  .headers = {{"X-Api-Key", "k-123456"}}, .body = "{}"};
  auto r = fetch_sync(*client, req, loopback_ok());
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  Json echo = Json::parse(r->body);
  EXPECT_EQ(echo["method"], "GET");
  EXPECT_FALSE(echo["headers"].contains("x-api-key"));
  // Same host: headers kept, 307 keeps the method and body.
  req.url = server.url("/redirect?code=307&to=/echo");
  r = fetch_sync(*client, req, loopback_ok());
  ASSERT_TRUE(r.ok());
  echo = Json::parse(r->body);
  EXPECT_EQ(echo["method"], "POST");
  EXPECT_EQ(echo["body"], "{}");
  EXPECT_EQ(echo["headers"]["x-api-key"], "k-123456");
}

TEST_F(HttpTest, SlowTrickleHitsTheLowSpeedTimeout) {
  FetchLimits l;
  l.low_speed_bytes = 1024;
  l.low_speed_s = 1;
  auto t0 = std::chrono::steady_clock::now();
  auto r = fetch_sync(*client, {.url = server.url("/trickle")}, loopback_ok(), l);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::timeout) << r.error().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST_F(HttpTest, TotalTimeoutAndCancel) {
  FetchLimits l;
  l.total_timeout_ms = 500;
  auto r = fetch_sync(*client, {.url = server.url("/trickle")}, loopback_ok(), l);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::timeout);
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  std::thread canceller([cancel] { std::this_thread::sleep_for(300ms); cancel->store(true); });
  auto t0 = std::chrono::steady_clock::now();
  r = fetch_sync(*client, {.url = server.url("/trickle")}, loopback_ok(), {}, cancel);
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST_F(HttpTest, ChunkedFloodStopsAtTheBodyCap) {
  FetchLimits l;
  l.max_body_bytes = 1 << 20;
  auto r = fetch_sync(*client, {.url = server.url("/flood")}, loopback_ok(), l);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::output);
}

TEST_F(HttpTest, GzipBombStopsAtTheDecodedCap) {
  FetchLimits l;
  l.max_body_bytes = 1 << 20;  // 32 MiB of zeros arrive as ~32 KiB of gzip
  auto r = fetch_sync(*client, {.url = server.url("/gzip")}, loopback_ok(), l);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::output);
}

TEST_F(HttpTest, HeaderChecks) {
  EXPECT_FALSE(check_header("X-A", "a\r\nX-Injected: 1").ok());
  EXPECT_FALSE(check_header("X-A", std::string("a\0b", 3)).ok());
  EXPECT_FALSE(check_header("X A", "v").ok());
  EXPECT_FALSE(check_header("X-A\n", "v").ok());
  EXPECT_FALSE(check_header("Host", "evil.test").ok());
  EXPECT_FALSE(check_header("host", "evil.test").ok());
  EXPECT_TRUE(check_header("X-Api-Key", "abc").ok());
  auto r = fetch_sync(*client, {.url = server.url("/ok"), .headers = {{"X-A", "a\r\nX-Injected: 1"}}}, loopback_ok());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(server.requests(), 0);
}

TEST_F(HttpTest, ToolBuildsRequestsFromArguments) {
  HttpToolConfig c;
  c.url = base() + "/echo/{path}";
  c.query = Json{{"q", "{query}"}, {"lang", "{lang}"}, {"format", "json"}};
  c.headers = {{"X-Trace", "t-{query}"}, {"Accept", "application/json"}};
  auto tool = make_tool(client, c);
  auto req = tool->build_request(Json{{"path", "a b/../c"}, {"query", "x&y=z"}});
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->url, base() + "/echo/a%20b%2F..%2Fc?format=json&q=x%26y%3Dz");
  EXPECT_FALSE(tool->build_request(Json{{"query", "x"}}).ok());  // {path} is required by the URL
  // Header injection through an argument is refused before any byte is sent.
  auto res = call_sync(*tool, Json{{"path", "p"}, {"query", "a\r\nX-Injected: 1"}});
  ASSERT_FALSE(res.ok);
  EXPECT_EQ(res.error.kind, ErrorCode::invalid_argument);
  EXPECT_EQ(server.requests(), 0);
  // GET without "query": arguments not used by the URL go to the query string.
  HttpToolConfig g;
  g.url = base() + "/echo";
  auto gt = make_tool(client, g);
  EXPECT_EQ(gt->build_request(Json{{"a", 1}, {"b", "x y"}})->url, base() + "/echo?a=1&b=x%20y");
  // POST with a body template.
  HttpToolConfig p;
  p.method = "POST";
  p.url = base() + "/echo";
  p.body = Json{{"query", "{q}"}, {"n", "{n}"}, {"label", "q={q}"}, {"opt", "{missing}"}};
  auto pt = make_tool(client, p);
  auto out = call_sync(*pt, Json{{"q", "hi"}, {"n", 3}});
  ASSERT_TRUE(out.ok) << out.to_json().dump();
  EXPECT_EQ(Json::parse(out.content["body"].get<std::string>()), (Json{{"query", "hi"}, {"n", 3}, {"label", "q=hi"}}));
  EXPECT_EQ(out.content["headers"]["content-type"], "application/json");
}

TEST_F(HttpTest, ToolConfigRefusals) {
  auto bad = [&](HttpToolConfig c) { c.spec.name = "t"; return !HttpTool::create(std::move(c), client).ok(); };
  HttpToolConfig c;
  c.url = base() + "/ok";
  c.headers = {{"Host", "evil.test"}};
  EXPECT_TRUE(bad(c));
  c.headers = {{"Authorization", "Bearer {token}"}};
  EXPECT_TRUE(bad(c));
  c.headers = {{"X-Key", "abcd-secret-{x}"}};
  c.secrets = {"abcd-secret-"};
  EXPECT_TRUE(bad(c));
  c.headers = {{"X-Key", "v\r\nInjected: 1"}};
  c.secrets = {};
  EXPECT_TRUE(bad(c));
  c.headers = {};
  c.method = "TRACE";
  EXPECT_TRUE(bad(c));
  c.method = "GET";
  c.policy.allow_private = {"not-an-address"};
  EXPECT_TRUE(bad(c));
}

TEST_F(HttpTest, ResponseShaping) {
  HttpToolConfig c;
  c.url = base() + "/json";
  c.extract = Json{{"pointer", "/results"}, {"fields", {"title", "url"}}, {"limit", 2}};
  auto r = call_sync(*make_tool(client, c), Json::object());
  ASSERT_TRUE(r.ok) << r.to_json().dump();
  EXPECT_EQ(r.content, Json::parse(R"([{"title":"A","url":"http://a.test/"},{"title":"B","url":"http://b.test/"}])"));
  c.extract = "/results/1/content";
  r = call_sync(*make_tool(client, c), Json::object());
  EXPECT_EQ(r.content, "second");
  c.extract = "/nope";
  r = call_sync(*make_tool(client, c), Json::object());
  EXPECT_FALSE(r.ok);
  HttpToolConfig h;
  h.url = base() + "/html";
  r = call_sync(*make_tool(client, h), Json::object());
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.content, "T\n\nHeading\n\nOne & two <three>\n\na\n\nbé");
  HttpToolConfig t;
  t.url = base() + "/json";
  t.max_output_bytes = 40;
  r = call_sync(*make_tool(client, t), Json::object());
  ASSERT_TRUE(r.ok);
  ASSERT_TRUE(r.content.is_string());
  EXPECT_NE(r.content.get<std::string>().find("[truncated "), std::string::npos);
  HttpToolConfig s;
  s.url = base() + "/status?code=404";
  r = call_sync(*make_tool(client, s), Json::object());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.error.kind, ErrorCode::runtime);
  EXPECT_NE(r.error.message.find("HTTP 404"), std::string::npos);
  EXPECT_EQ(truncate_utf8("h\xC3\xA9llo", 2), "h\n[truncated 5 bytes]");
}

TEST_F(HttpTest, SecretsAreRedactedFromResults) {
  const std::string secret = "sk-live-0123456789";
  HttpToolConfig c;
  c.url = base() + "/echo";
  c.query = Json{{"key", secret}, {"q", "{q}"}};
  c.headers = {{"X-Api-Key", secret}, {"X-Basic", "Zm9vOnNrLWxpdmUtMDEyMzQ1Njc4OQ"}};
  c.secrets = {secret};
  auto r = call_sync(*make_tool(client, c), Json{{"q", "hello"}});
  ASSERT_TRUE(r.ok) << r.to_json().dump();
  std::string dumped = r.content.dump();
  EXPECT_EQ(dumped.find(secret), std::string::npos) << dumped;
  EXPECT_EQ(dumped.find("sk-live-"), std::string::npos) << dumped;
  EXPECT_NE(dumped.find("[redacted]"), std::string::npos);
  // In error messages too.
  HttpToolConfig e;
  e.url = base() + "/status?code=500&k=" + secret;
  e.secrets = {secret};
  auto er = call_sync(*make_tool(client, e), Json::object());
  EXPECT_EQ(er.to_json().dump().find(secret), std::string::npos);
}

TEST_F(HttpTest, HundredConcurrentRequestsOnOneTransferThread) {
  HttpToolConfig c;
  c.url = base() + "/ok";
  auto tool = make_tool(client, c);
  constexpr int N = 100;
  std::atomic<int> ok{0}, finished{0};
  std::promise<void> all;
  for (int i = 0; i < N; ++i)
    tool->invoke(Json{{"i", i}}, {}, [&](ToolResult r) {
      if (r.ok && r.content == "hello") ok++;
      if (++finished == N) all.set_value();
    });
  ASSERT_EQ(all.get_future().wait_for(30s), std::future_status::ready);
  EXPECT_EQ(ok.load(), N);
  EXPECT_EQ(server.requests(), N);
}

TEST_F(HttpTest, ConfigFromSettings) {
  Json s = Json::parse(R"({"method":"GET","url":"http://127.0.0.1/x","allow_private":true,"max_bytes":100,
                           "allow_hosts":["127.0.0.1"],"extract":"/a"})");
  auto c = config_from_settings(ToolSpec{.name = "x"}, s, 2.5, 1000, {});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->policy.allow_all_private);
  EXPECT_EQ(c->limits.max_body_bytes, 100u);
  EXPECT_EQ(c->limits.total_timeout_ms, 2500);
  EXPECT_EQ(c->max_output_bytes, 1000u);
  EXPECT_FALSE(config_from_settings(ToolSpec{}, Json::parse(R"({"allow_private":"x"})"), 0, 0, {}).ok());
}

TEST(HttpClientLifetime, DestroyingTheClientCancelsInFlightRequests) {
  TestHttpServer server;
  auto client = HttpClient::create();
  std::promise<Result<HttpResponse>> pr;
  auto f = pr.get_future();
  client->fetch({.url = server.url("/trickle")}, loopback_ok(), {}, nullptr,
                [&](Result<HttpResponse> r) { pr.set_value(std::move(r)); });
  std::this_thread::sleep_for(200ms);
  client.reset();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  auto r = f.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::cancelled);
}

}  // namespace
}  // namespace glm::tools::http
