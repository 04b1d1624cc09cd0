// The shipped Lua tool (examples/tools/calc.lua) runs in the sandbox as a LuaTool under the default limits.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "base/build_info.h"
#include "tools/lua/lua_tool.h"
#include "tools/lua/runner.h"

namespace glm::tools::lua {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LuaExamples, CalcToolAnswersExactly) {
  std::string source = read(std::string(GLM_SOURCE_DIR) + "/examples/tools/calc.lua");
  ASSERT_FALSE(source.empty());
  nlohmann::json cases = nlohmann::json::parse(R"([
    [{"expression": "(12.5 + 3) * 4"}, {"result": "62"}],
    [{"expression": "2^10 - 1"}, {"result": "1023"}]
  ])");
  for (const auto& c : cases) {
    LuaOutcome r = run_lua({.code = source, .args = &c[0], .entry = LuaEntry::run_function}, LuaLimits{},
                           LuaCapabilities{});
    ASSERT_TRUE(r.ok) << r.to_json().dump();
    EXPECT_EQ(r.result, c[1]) << c[0].dump();
    EXPECT_LT(r.elapsed_ms, 100.0);
  }
  nlohmann::json bad = {{"expression", "1/"}};
  LuaOutcome e = run_lua({.code = source, .args = &bad, .entry = LuaEntry::run_function}, LuaLimits{}, LuaCapabilities{});
  EXPECT_FALSE(e.ok);
  EXPECT_EQ(e.error.code, ErrorCode::runtime) << e.to_json().dump();
}

TEST(LuaExamples, PrecompiledCalcGivesTheSameAnswersAndLines) {
  std::string source = read(std::string(GLM_SOURCE_DIR) + "/examples/tools/calc.lua");
  auto bytecode = precompile(source, LuaLimits{});
  ASSERT_TRUE(bytecode.ok());
  nlohmann::json args = {{"expression", "7 * 6"}};
  LuaOutcome r = run_lua({.code = source, .args = &args, .entry = LuaEntry::run_function, .bytecode = &*bytecode},
                         LuaLimits{}, LuaCapabilities{});
  ASSERT_TRUE(r.ok) << r.to_json().dump();
  EXPECT_EQ(r.result, (nlohmann::json{{"result", "42"}}));
  auto line = precompile("local x = 1\nerror('at two')", LuaLimits{});
  ASSERT_TRUE(line.ok());
  LuaOutcome e = run_lua({.code = "", .bytecode = &*line}, LuaLimits{}, LuaCapabilities{});
  EXPECT_EQ(e.error.message, "tool:2: at two");
  auto bad = precompile("return +", LuaLimits{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::syntax);
  auto binary = precompile("\x1bLua", LuaLimits{});
  ASSERT_FALSE(binary.ok());
  EXPECT_EQ(binary.error().code, ErrorCode::forbidden);
}

}  // namespace
}  // namespace glm::tools::lua
