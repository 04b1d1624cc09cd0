// agents/web-research.json against the fake search service of the loopback test server. The config's tools are
// built exactly as runtime/agent/toolset.cpp builds them (http::config_from_settings + HttpTool::create); the
// ${VAR:-default} expansion done by the config loader is reproduced here for the two variables the file uses.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "tests/tools/http/test_http_server.h"
#include "tools/http/http_tool.h"

namespace glm::tools::http {
namespace {

using namespace std::chrono_literals;

Json load_agent(const std::map<std::string, std::string>& env) {
  auto path = std::filesystem::path(__FILE__).parent_path() / ".." / ".." / ".." / "agents" / "web-research.json";
  std::ifstream in(path);
  std::stringstream text;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("//", 0) != 0) text << line << "\n";
  std::string s = text.str();
  for (const auto& [name, value] : env) {
    for (size_t at; (at = s.find("${" + name)) != std::string::npos;) {
      size_t end = s.find('}', at);
      s.replace(at, end - at + 1, value);
    }
  }
  return Json::parse(s);
}

std::shared_ptr<HttpTool> build(const Json& tool, std::shared_ptr<HttpClient> client, std::vector<std::string> secrets,
                                bool allow_loopback = false) {
  ToolSpec spec{tool["name"], tool["description"], tool["parameters"]};
  Json settings = tool;
  double timeout_s = tool["limits"].value("timeout_s", 30.0);
  size_t out = static_cast<size_t>(tool["limits"].value("output_kb", 64) * 1024);
  auto cfg = config_from_settings(spec, settings, timeout_s, out, std::move(secrets));
  EXPECT_TRUE(cfg.ok());
  if (allow_loopback) cfg->policy.allow_private = {"127.0.0.1"};
  auto t = HttpTool::create(std::move(cfg).value(), std::move(client));
  EXPECT_TRUE(t.ok()) << t.error().to_string();
  return *t;
}

ToolResult call(Tool& t, Json args) {
  std::promise<ToolResult> pr;
  auto f = pr.get_future();
  t.invoke(std::move(args), {}, [&](ToolResult r) { pr.set_value(std::move(r)); });
  if (f.wait_for(30s) != std::future_status::ready) return ToolResult::failure(ErrorCode::internal, "no completion");
  return f.get();
}

TEST(WebResearchAgent, SearchAndFetchAgainstAFakeSearchService) {
  testing::TestHttpServer server;
  const std::string key = "search-key-5f3a9c";
  Json agent = load_agent({{"SEARCH_URL", "http://127.0.0.1:" + std::to_string(server.port())}, {"SEARCH_API_KEY", key}});
  auto client = HttpClient::create();
  Json search_cfg = agent["tools"][0], fetch_cfg = agent["tools"][1];
  ASSERT_EQ(search_cfg["name"], "web_search");
  ASSERT_EQ(fetch_cfg["name"], "fetch_page");

  auto search = build(search_cfg, client, {key});
  ToolResult r = call(*search, Json{{"query", "eiffel tower height"}});
  ASSERT_TRUE(r.ok) << r.to_json().dump();
  ASSERT_TRUE(r.content.is_array());
  ASSERT_EQ(r.content.size(), 5u);  // limit 5 of 7
  EXPECT_EQ(r.content[0]["title"], "Result 1 for eiffel tower height");
  EXPECT_EQ(r.content[0].size(), 3u);  // title, url, content only
  std::string page_url = r.content[0]["url"];

  // fetch_page as shipped: the result points at loopback, which the page fetcher refuses (no allow_private).
  auto fetch = build(fetch_cfg, client, {key});
  r = call(*fetch, Json{{"url", page_url}});
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.error.kind, ErrorCode::forbidden);
  for (const char* bad : {"file:///etc/passwd", "http://169.254.169.254/latest/meta-data/", "http://[::1]:1/", "ftp://x.test/"}) {
    r = call(*fetch, Json{{"url", bad}});
    EXPECT_FALSE(r.ok) << bad;
  }
  EXPECT_FALSE(call(*fetch, Json{{"url", "http://a.test/ x"}}).ok);

  // With the test's loopback opt-in the same tool returns the page as readable text.
  auto local_fetch = build(fetch_cfg, client, {key}, /*allow_loopback=*/true);
  r = call(*local_fetch, Json{{"url", page_url}});
  ASSERT_TRUE(r.ok) << r.to_json().dump();
  EXPECT_EQ(r.content, "Page 1\n\nmenu\n\nThe Eiffel Tower\n\nIt is 330 m tall & stands in Paris.");

  // The key reached the search service (header) but the model never sees it.
  auto echo_cfg = search_cfg;
  echo_cfg["extract"] = "/api_key_seen";
  r = call(*build(echo_cfg, client, {key}), Json{{"query", "x"}});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.content, "[redacted]");
}

TEST(WebResearchAgent, DefaultsWithoutEnvironment) {
  Json agent = load_agent({{"SEARCH_URL", "http://127.0.0.1:8888"}, {"SEARCH_API_KEY", ""}});
  EXPECT_EQ(agent["tools"][0]["url"], "http://127.0.0.1:8888/search");
  auto client = HttpClient::create();
  auto search = build(agent["tools"][0], client, {});
  auto req = search->build_request(Json{{"query", "a b"}});
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->url, "http://127.0.0.1:8888/search?format=json&q=a%20b");  // absent page left out
}

}  // namespace
}  // namespace glm::tools::http
