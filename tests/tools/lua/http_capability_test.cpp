// tools/lua/host_api.h: the `http` capability — http.request under the same SSRF policy as http tools, bounded
// by the call's deadline, and its grant parsed from an agent config.
#include <gtest/gtest.h>

#include "tests/tools/http/test_http_server.h"
#include "tests/tools/lua/lua_test_util.h"
#include "tools/lua/host_api.h"

namespace glm::tools::lua {
namespace {

using http::testing::TestHttpServer;
using testing::describe;
using testing::expect_alive;
using testing::fast_limits;
using testing::run;

class LuaHttp : public ::testing::Test {
 protected:
  // A grant for the loopback test server; `policy` as an agent config writes capabilities.http.
  LuaCapabilities caps(const nlohmann::json& policy = {{"allow_private", {"127.0.0.1"}}}) {
    auto c = capabilities_from_json(nlohmann::json{{"http", policy}});
    EXPECT_TRUE(c.ok()) << c.error().message;
    LuaCapabilities out = LuaCapabilities::pure();
    out.http = c->http;
    out.http->client = client_;
    return out;
  }
  LuaOutcome run_http(const std::string& code, const LuaCapabilities& c, int64_t deadline_ms = 2000) {
    nlohmann::json args = {{"base", server_.url("")}};
    return run_lua(LuaJob{code, &args, LuaEntry::chunk}, fast_limits(deadline_ms), c);
  }
  TestHttpServer server_;
  std::shared_ptr<http::HttpClient> client_ = http::HttpClient::create();
};

TEST(LuaHttpGrant, ParsedFromTheAgentConfig) {
  auto obj = capabilities_from_json(nlohmann::json::parse(
      R"({"json": true, "http": {"allow_hosts": ["example.com"], "allow_private": ["10.0.0.0/8"], "max_bytes": 4096,
          "max_requests": 3}})"));
  ASSERT_TRUE(obj.ok()) << obj.error().message;
  ASSERT_TRUE(obj->http);
  EXPECT_EQ(obj->http->policy.allow_hosts, std::vector<std::string>{"example.com"});
  EXPECT_EQ(obj->http->limits.max_body_bytes, 4096u);
  EXPECT_EQ(obj->http->max_requests, 3);
  EXPECT_FALSE(obj->http->client);  // the toolset shares its client

  auto list = capabilities_from_json(nlohmann::json::parse(R"(["json", "http"])"));
  ASSERT_TRUE(list.ok());
  ASSERT_TRUE(list->http);
  EXPECT_TRUE(list->http->policy.allow_hosts.empty());
  EXPECT_FALSE(capabilities_from_json(nlohmann::json::parse(R"({"http": false})"))->http);

  for (const char* bad : {R"({"http": {"allow_hostz": ["a"]}})", R"({"http": {"allow_private": ["300.1.1.1"]}})",
                          R"({"http": {"max_requests": 0}})", R"({"http": {"max_bytes": "big"}})", R"({"http": 3})"}) {
    auto r = capabilities_from_json(nlohmann::json::parse(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument) << bad;
  }
}

TEST(LuaHttpGrant, NoHttpModuleWithoutTheGrant) {
  LuaOutcome r = run("return http == nil");
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.result, true);
}

TEST(LuaHttpGrant, AGrantWithoutAClientIsASetUpError) {
  LuaCapabilities c = LuaCapabilities::pure();
  c.http = std::make_shared<LuaHttpGrant>();
  LuaOutcome r = run("return 1", fast_limits(), c);
  EXPECT_LUA_ERROR(r, ErrorCode::invalid_argument);
}

TEST_F(LuaHttp, GetAndPostThroughThePolicy) {
  LuaOutcome r = run_http(R"(
    local a = ...
    local g = http.request(a.base .. "/json?q=x")
    local p = http.request{url = a.base .. "/echo", method = "post", headers = {["X-Thing"] = "t1"},
                           body = json.encode({k = 1})}
    local e = json.decode(p.body)
    return {g.status, g.content_type, json.decode(g.body).results[2].title, e.method, e.body, e.headers["x-thing"]})",
                          caps());
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.result, nlohmann::json::parse(R"([200, "application/json", "B", "POST", "{\"k\":1}", "t1"])"));
}

TEST_F(LuaHttp, LoopbackIsRefusedWithoutTheOptInBeforeAnyByteIsSent) {
  LuaOutcome r = run_http("local a = ... return http.request(a.base .. '/ok')", caps(nlohmann::json::object()));
  EXPECT_LUA_ERROR(r, ErrorCode::forbidden);
  EXPECT_NE(r.error.message.find("loopback"), std::string::npos) << describe(r);
  EXPECT_EQ(server_.requests(), 0);
  // A script may catch the refusal and answer something else.
  LuaOutcome caught = run_http("local a = ... local ok, e = pcall(http.request, a.base .. '/ok') return {ok, e ~= nil}",
                               caps(nlohmann::json::object()));
  ASSERT_TRUE(caught.ok) << describe(caught);
  EXPECT_EQ(caught.result, nlohmann::json::parse("[false, true]"));
}

TEST_F(LuaHttp, RedirectsAreRecheckedEveryHop) {
  for (const char* to : {"http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "file:///etc/passwd"}) {
    LuaOutcome r = run_http(std::string("local a = ... return http.request(a.base .. '/redirect?to=") + to + "')", caps());
    EXPECT_LUA_ERROR(r, ErrorCode::forbidden);
  }
  LuaOutcome hosts = run_http("return http.request('http://example.org/')", caps({{"allow_hosts", {"example.com"}}}));
  EXPECT_LUA_ERROR(hosts, ErrorCode::forbidden);
}

TEST_F(LuaHttp, ASlowServerEndsAtTheCallsDeadline) {
  LuaLimits limits = fast_limits(300);
  nlohmann::json args = {{"base", server_.url("")}};
  LuaOutcome r = run_lua(LuaJob{"local a = ... return http.request(a.base .. '/trickle')", &args, LuaEntry::chunk},
                         limits, caps());
  EXPECT_LUA_ERROR(r, ErrorCode::timeout);
  EXPECT_WITHIN_LIMIT(r, limits);
  // pcall cannot swallow the call's own deadline.
  LuaOutcome p = run_lua(LuaJob{"local a = ... pcall(http.request, a.base .. '/trickle') return 'swallowed'", &args,
                                LuaEntry::chunk}, limits, caps());
  EXPECT_LUA_ERROR(p, ErrorCode::timeout);
  expect_alive();
}

TEST_F(LuaHttp, BodyCapRequestCapAndHeaderInjection) {
  LuaOutcome flood = run_http("local a = ... return http.request(a.base .. '/flood')",
                              caps({{"allow_private", {"127.0.0.1"}}, {"max_bytes", 4096}}));
  EXPECT_LUA_ERROR(flood, ErrorCode::output);
  LuaOutcome many = run_http("local a = ... for i = 1, 3 do http.request(a.base .. '/ok') end return 1",
                             caps({{"allow_private", {"127.0.0.1"}}, {"max_requests", 2}}));
  EXPECT_LUA_ERROR(many, ErrorCode::forbidden);
  EXPECT_NE(many.error.message.find("at most 2"), std::string::npos) << describe(many);
  LuaOutcome inj = run_http(
      "local a = ... return http.request{url = a.base .. '/ok', headers = {['X-A'] = 'v\\r\\nHost: evil'}}", caps());
  EXPECT_LUA_ERROR(inj, ErrorCode::invalid_argument);
  LuaOutcome host = run_http("local a = ... return http.request{url = a.base .. '/ok', headers = {Host = 'evil'}}", caps());
  EXPECT_LUA_ERROR(host, ErrorCode::forbidden);
  LuaOutcome bad = run_http("return http.request{method = 'GET'}", caps());
  EXPECT_LUA_ERROR(bad, ErrorCode::invalid_argument);
  expect_alive();
}

}  // namespace
}  // namespace glm::tools::lua
