// Integration: the official MCP reference servers from PyPI (requirements.txt: mcp-server-time,
// mcp-server-git) over stdio. Skipped, with a visible message, when /work/main/.venv lacks them.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>

#include "tests/test_util.h"
#include "tools/mcp/mcp_client.h"

namespace glm::tools::mcp {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string venv_python() {
  return (fs::path(__FILE__).parent_path() / ".." / ".." / ".." / ".venv" / "bin" / "python").lexically_normal().string();
}

bool has_module(const std::string& module) {
  std::string py = venv_python();
  if (!fs::exists(py)) return false;
  return std::system((py + " -c 'import " + module + "' >/dev/null 2>&1").c_str()) == 0;
}

ToolResult call(Tool& t, Json args) {
  std::promise<ToolResult> pr;
  auto f = pr.get_future();
  t.invoke(std::move(args), {}, [&](ToolResult r) { pr.set_value(std::move(r)); });
  if (f.wait_for(60s) != std::future_status::ready) return ToolResult::failure(ErrorCode::internal, "test: no completion");
  return f.get();
}

std::shared_ptr<Tool> find(const McpServer& s, const std::string& name) {
  for (const auto& t : s.tools()) if (t->spec().name == name) return t;
  return nullptr;
}

TEST(McpReferenceServers, Time) {
  if (!has_module("mcp_server_time"))
    GTEST_SKIP() << "mcp-server-time is not installed in .venv (pip install -r requirements.txt); skipping";
  McpServerConfig c;
  c.name = "time";
  c.command = venv_python();
  c.args = {"-m", "mcp_server_time", "--local-timezone", "UTC"};
  c.setup_timeout_s = 60;
  c.request_timeout_s = 30;
  auto s = McpServer::start(c);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  auto now = find(**s, "time.get_current_time");
  ASSERT_TRUE(now);
  auto r = call(*now, Json{{"timezone", "Europe/Paris"}});
  ASSERT_TRUE(r.ok) << r.to_json().dump();
  EXPECT_NE(r.content.dump().find("Europe/Paris"), std::string::npos) << r.content.dump();
  auto conv = find(**s, "time.convert_time");
  ASSERT_TRUE(conv);
  r = call(*conv, Json{{"source_timezone", "UTC"}, {"time", "12:00"}, {"target_timezone", "Asia/Tokyo"}});
  ASSERT_TRUE(r.ok) << r.to_json().dump();
  EXPECT_NE(r.content.dump().find("21:00"), std::string::npos) << r.content.dump();
  r = call(*now, Json{{"timezone", "Not/AZone"}});
  EXPECT_FALSE(r.ok);  // the server's error comes back as a tool error
}

TEST(McpReferenceServers, Git) {
  if (!has_module("mcp_server_git"))
    GTEST_SKIP() << "mcp-server-git is not installed in .venv (pip install -r requirements.txt); skipping";
  std::string repo = glm::testing::make_temp_dir("mcp-git");
  std::string init = "cd " + repo + " && git init -q && git config user.email t@t && git config user.name t && "
                     "echo hello > a.txt && git add a.txt && git commit -q -m 'first commit' && echo change >> a.txt";
  ASSERT_EQ(std::system(init.c_str()), 0);
  McpServerConfig c;
  c.name = "git";
  c.command = venv_python();
  c.args = {"-m", "mcp_server_git", "--repository", repo};
  c.env = {{"PATH", "/usr/bin:/bin"}, {"HOME", repo}};
  c.allow = {"git_status", "git_log", "git_diff_unstaged"};
  c.setup_timeout_s = 60;
  c.request_timeout_s = 30;
  auto s = McpServer::start(c);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ((*s)->tools().size(), 3u);
  auto r = call(*find(**s, "git.git_log"), Json{{"repo_path", repo}});
  ASSERT_TRUE(r.ok) << r.to_json().dump();
  EXPECT_NE(r.content.dump().find("first commit"), std::string::npos) << r.content.dump();
  r = call(*find(**s, "git.git_diff_unstaged"), Json{{"repo_path", repo}});
  ASSERT_TRUE(r.ok) << r.to_json().dump();
  EXPECT_NE(r.content.dump().find("+change"), std::string::npos) << r.content.dump();
  fs::remove_all(repo);
}

}  // namespace
}  // namespace glm::tools::mcp
