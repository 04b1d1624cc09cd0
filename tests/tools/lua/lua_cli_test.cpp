// `glm-agent lua` (runtime/cli/lua_command.cpp), run as a process: batch lines answered one after another in
// one process, each with the exact error kind, and the process still answering afterwards.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace glm {
namespace {

std::string binary_or_skip() {
  std::string bin = testing::agent_binary();
  if (bin.find('/') == std::string::npos || !std::filesystem::exists(bin)) return {};
  return bin;
}

std::vector<nlohmann::json> lines_of(const std::string& out) {
  std::vector<nlohmann::json> v;
  size_t i = 0;
  while (i < out.size()) {
    size_t j = out.find('\n', i);
    if (j == std::string::npos) j = out.size();
    if (j > i) v.push_back(nlohmann::json::parse(out.substr(i, j - i)));
    i = j + 1;
  }
  return v;
}

TEST(LuaCli, BatchAnswersEveryLineWithItsKind) {
  std::string bin = binary_or_skip();
  if (bin.empty()) GTEST_SKIP() << "glm-agent is not built (set GLM_AGENT_BIN)";
  std::string dir = testing::make_temp_dir("glm-lua-cli");
  std::string batch = dir + "/batch.jsonl";
  std::ofstream(batch) << R"jsonl({"code": "return 1+1"}
{"code": "local a = ... return a.x * 2", "args": {"x": 21}}
{"code": "while true do pcall(function() while true do end end) end", "limits": {"deadline_ms": 150}}
{"code": "local s = 'x' while true do s = s .. s end"}
{"code": "while true do print('flood') end"}
{"code": "return +"}
{"code": "error('boom')"}
{"code": "os.execute('id')"}
{"code": "return ('a'):rep(300):find('.-.-.-.-b')"}
this is not json
{"code": "return 1+1"}
)jsonl";
  auto r = testing::run_command(bin + " lua --batch " + batch);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(r.exit_code, 0);
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 11u) << r.out;
  auto kind = [&](size_t i) { return lines[i]["error"]["kind"].get<std::string>(); };
  EXPECT_EQ(lines[0]["result"], 2);
  EXPECT_EQ(lines[1]["result"], 42);
  EXPECT_EQ(kind(2), "timeout");
  EXPECT_LT(lines[2]["elapsed_ms"].get<double>(), 150.0 + 200.0);
  EXPECT_EQ(kind(3), "memory");
  EXPECT_EQ(kind(4), "output");
  EXPECT_EQ(kind(5), "syntax");
  EXPECT_EQ(kind(6), "runtime");
  EXPECT_EQ(kind(7), "forbidden");
  EXPECT_EQ(lines[8]["ok"], true);  // a pattern that backtracks for ~23 s in stock Lua: linear on RE2
  EXPECT_EQ(lines[8]["result"], nullptr);
  EXPECT_LT(lines[8]["elapsed_ms"].get<double>(), 100.0);
  EXPECT_EQ(kind(9), "invalid_argument");
  EXPECT_EQ(lines[10]["result"], 2);
  for (const auto& l : lines) {
    EXPECT_TRUE(l.contains("ok") && l.contains("elapsed_ms") && l.contains("memory_peak")) << l.dump();
    EXPECT_TRUE(l["ok"].get<bool>() ? l.contains("result") : l.contains("error")) << l.dump();
  }
}

TEST(LuaCli, FileLimitsAndExitCodes) {
  std::string bin = binary_or_skip();
  if (bin.empty()) GTEST_SKIP() << "glm-agent is not built (set GLM_AGENT_BIN)";
  std::string dir = testing::make_temp_dir("glm-lua-cli");
  std::ofstream(dir + "/ok.lua") << "print('hi') return {a = 1}";
  std::ofstream(dir + "/spin.lua") << "while true do end";
  auto ok = testing::run_command(bin + " lua " + dir + "/ok.lua");
  EXPECT_EQ(ok.exit_code, 0);
  auto j = nlohmann::json::parse(ok.out);
  EXPECT_EQ(j["result"], nlohmann::json::parse(R"({"a": 1})"));
  EXPECT_EQ(j["output"], "hi\n");
  auto spin = testing::run_command(bin + " lua --limits '{\"deadline_ms\": 100}' " + dir + "/spin.lua");
  EXPECT_EQ(spin.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(spin.out)["error"]["kind"], "timeout");
  EXPECT_EQ(testing::run_command(bin + " lua 2>/dev/null").exit_code, 2);
  EXPECT_EQ(testing::run_command(bin + " lua --limits '{\"bogus\": 1}' " + dir + "/ok.lua 2>/dev/null").exit_code, 2);
  EXPECT_EQ(testing::run_command(bin + " lua " + dir + "/missing.lua 2>/dev/null").exit_code, 1);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace glm
