// The example agents on the shipped demo model, end to end through `glm-agent eval`: engine, grammar-shaped
// calls, the real tools (Lua calc, BM25 search over examples/corpus, the workspace tools on a copy of
// examples/workspace), observations fed back, the answer checked against the task's expected text. One held-out
// task per agent (the first of examples/tasks/AGENT.jsonl); the success rates over the whole held-out sets are
// measured with `glm-agent eval` and reported in model/demo/README.md, not asserted here.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

#include "base/build_info.h"
#include "tests/test_util.h"

namespace glm {
namespace {

const std::string kRoot = GLM_SOURCE_DIR;

struct DemoTask {
  const char* agent;
  int line;  // 1-based line of examples/tasks/AGENT.jsonl
};

std::string task_line(const DemoTask& t) {
  std::ifstream f(kRoot + "/examples/tasks/" + t.agent + ".jsonl");
  std::string line;
  for (int i = 0; i < t.line && std::getline(f, line); ++i) {
  }
  return line;
}

class DemoAgents : public ::testing::TestWithParam<DemoTask> {};

TEST_P(DemoAgents, HeldOutTaskCompletes) {
  const DemoTask& t = GetParam();
  if (!std::ifstream(kRoot + "/model/demo/model.safetensors")) GTEST_SKIP() << "model/demo/model.safetensors absent";
  const std::string line = task_line(t);
  ASSERT_FALSE(line.empty()) << "examples/tasks/" << t.agent << ".jsonl has no line " << t.line;
  const std::string dir = testing::make_temp_dir("demo-agents");
  std::ofstream(dir + "/task.jsonl") << line << "\n";
  auto r = testing::run_command(testing::agent_binary() + " eval " + kRoot + "/agents/" + t.agent +
                                ".json --tasks " + dir + "/task.jsonl --threads 2 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_EQ(j["tasks"], 1);
  const auto& task = j["per_task"][0];
  EXPECT_EQ(task["status"], "ok") << task.dump();
  EXPECT_TRUE(task["ok"].get<bool>()) << "expected \"" << task["expected"] << "\" in the answer: " << task.dump();
  EXPECT_GE(task["tool_calls"].get<int>(), 1) << task.dump();
}

INSTANTIATE_TEST_SUITE_P(Agents, DemoAgents,
                         ::testing::Values(DemoTask{"calculator", 1}, DemoTask{"search-qa", 1},
                                           DemoTask{"coder", 1}),
                         [](const auto& info) {
                           std::string n = info.param.agent;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace glm
