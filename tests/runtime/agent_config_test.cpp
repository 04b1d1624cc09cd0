#include "runtime/config/agent_config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/build_info.h"
#include "runtime/config/jsonc.h"
#include "tests/test_util.h"

namespace glm::config {
namespace {

TEST(Jsonc, CommentsTrailingCommasAndPositions) {
  auto doc = parse_jsonc("// header\n{\n  \"a\": 1, /* note */\n  \"b\": [true, \"x\",],\n}\n");
  ASSERT_TRUE(doc.ok()) << doc.error().to_string();
  EXPECT_EQ(doc->value["a"], 1);
  EXPECT_EQ(doc->value["b"][1], "x");
  EXPECT_EQ(doc->positions.at("/b/1").line, 4);
  EXPECT_EQ(doc->positions.at("/b/1").col, 15);
  EXPECT_EQ(doc->positions.at("/a#key").line, 3);
  EXPECT_EQ(doc->positions.at("/a#key").col, 3);
}

TEST(Jsonc, SyntaxErrorsCarryLineAndColumn) {
  SourcePos at;
  auto r = parse_jsonc("{\n  \"a\": 1\n  \"b\": 2\n}", &at);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::syntax);
  EXPECT_EQ(at.line, 3);
  EXPECT_EQ(at.col, 3);
  EXPECT_FALSE(parse_jsonc("{\"a\": 1, \"a\": 2}").ok());      // duplicate key
  EXPECT_FALSE(parse_jsonc("{\"a\": \"\\ud800\"}").ok());       // lone surrogate
  EXPECT_FALSE(parse_jsonc("/* never closed").ok());
  EXPECT_FALSE(parse_jsonc(std::string(1000, '[')).ok());     // too deep, no stack overflow
}

std::string agents_dir() { return std::string(GLM_SOURCE_DIR) + "/agents"; }

TEST(AgentConfig, ShippedAgentsValidate) {
  for (const char* name : {"calculator.json", "search-qa.json", "coder.json"}) {
    Diagnostics d;
    auto cfg = load_agent_config(agents_dir() + "/" + name, &d);
    ASSERT_TRUE(cfg.ok()) << name << ": " << (d.empty() ? cfg.error().to_string() : d[0].to_string());
    EXPECT_FALSE(cfg->tools.empty());
    for (const auto& t : cfg->tools) {
      EXPECT_EQ(t.spec.begin().key(), "name");  // the order the model sees
      EXPECT_TRUE(t.spec.contains("parameters"));
    }
  }
  Diagnostics d;
  auto coder = load_agent_config(agents_dir() + "/coder.json", &d);
  ASSERT_TRUE(coder.ok());
  EXPECT_EQ(coder->tools.size(), 5u);  // the workspace declaration expands to its tools
  EXPECT_TRUE(coder->tools[2].side_effects);
}

std::string write_config(const std::string& text) {
  std::string dir = glm::testing::make_temp_dir("agent-cfg");
  std::ofstream(dir + "/agent.json") << text;
  std::ofstream(dir + "/tool.lua") << "function run(args) return args end\n";
  return dir + "/agent.json";
}

TEST(AgentConfig, EveryErrorIsReportedWithItsPosition) {
  std::string path = write_config(R"({
  "name": "x",
  "sytem": "typo",
  "limits": {"max_steps": 0, "wall_time_s": "long"},
  "tools": [
    {"type": "lua", "name": "t", "parameters": {"type": "object"}, "script": "missing.lua"},
    {"type": "lua", "name": "t", "parameters": {"type": "object"}, "script": "tool.lua"},
    {"type": "smtp"}
  ]
})");
  Diagnostics d;
  auto cfg = load_agent_config(path, &d);
  ASSERT_FALSE(cfg.ok());
  auto has = [&](int line, int col, const std::string& text) {
    for (const auto& x : d)
      if (x.line == line && x.col == col && x.message.find(text) != std::string::npos) return true;
    return false;
  };
  std::string all;
  for (const auto& x : d) all += x.to_string() + "\n";
  EXPECT_TRUE(has(3, 3, "unknown key \"sytem\"")) << all;
  EXPECT_TRUE(has(4, 27, "max_steps")) << all;
  EXPECT_TRUE(has(4, 45, "must be a number")) << all;
  EXPECT_TRUE(has(6, 78, "missing.lua")) << all;
  EXPECT_TRUE(has(7, 29, "duplicate tool name \"t\"")) << all;
  EXPECT_TRUE(has(8, 14, "must be one of lua, builtin, http, mcp")) << all;
  EXPECT_EQ(d[0].file, path);
}

TEST(AgentConfig, EnvironmentInterpolationAndSecrets) {
  ::setenv("GLM_TEST_TOKEN", "s3cret-value", 1);
  ::setenv("GLM_TEST_SEARCH_URL", "http://127.0.0.1:8888", 1);
  ::setenv("GLM_TEST_PLAIN", "passed-through-env", 1);
  ::unsetenv("GLM_TEST_UNSET");
  std::string path = write_config(R"({"name": "x", "tools": [
    {"type": "http", "name": "api", "parameters": {"type": "object"},
     "url": "${GLM_TEST_BASE:-https://example.org}/q", "headers": {"Authorization": "Bearer ${GLM_TEST_TOKEN}"}},
    {"type": "http", "name": "search", "parameters": {"type": "object"}, "url": "${GLM_TEST_SEARCH_URL}/search"},
    {"type": "mcp", "name": "srv", "command": "srv", "args": ["--root", "${GLM_TEST_SEARCH_URL}"],
     "env": {"X": "${GLM_TEST_PLAIN}"}}]})");
  Diagnostics d;
  auto cfg = load_agent_config(path, &d);
  ASSERT_TRUE(cfg.ok()) << (d.empty() ? "" : d[0].to_string());
  EXPECT_EQ(cfg->tools[0].settings["url"], "https://example.org/q");
  EXPECT_EQ(cfg->tools[0].settings["headers"]["Authorization"], "Bearer s3cret-value");
  // Secrets: header values, server environments and variables named like secrets; not a plain service URL.
  EXPECT_EQ(cfg->secrets, (std::vector<std::string>{"s3cret-value", "passed-through-env"}));
  EXPECT_EQ(cfg->tools[1].settings["url"], "http://127.0.0.1:8888/search");
  EXPECT_EQ(cfg->tools[2].settings["args"][1], "http://127.0.0.1:8888");
  EXPECT_EQ(cfg->tools[2].settings["env"]["X"], "passed-through-env");

  std::string bad = write_config(R"({"name": "x", "model": {"backend": "openai", "url": "${GLM_TEST_UNSET}"}})");
  Diagnostics d2;
  ASSERT_FALSE(load_agent_config(bad, &d2).ok());
  EXPECT_NE(d2[0].message.find("GLM_TEST_UNSET is not set"), std::string::npos) << d2[0].to_string();
}

TEST(ValidateCli, PrintsFileLineColAndExitsOne) {
  std::string path = write_config("{\n  \"name\": \"x\",\n  \"bogus\": 1\n}\n");
  auto r = glm::testing::run_command(glm::testing::agent_binary() + " validate " + path + " 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find(path + ":3:3: unknown key \"bogus\""), std::string::npos) << r.out;
  auto ok = glm::testing::run_command(glm::testing::agent_binary() + " validate " + agents_dir() + "/calculator.json");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
}

}  // namespace
}  // namespace glm::config
