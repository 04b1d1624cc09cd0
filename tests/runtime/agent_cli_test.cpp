// run / eval / tool through the built binary, with scripted completions standing in for the model and the
// shipped calculator agent's real Lua tool.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "base/build_info.h"
#include "tests/test_util.h"

namespace glm {
namespace {

using glm::testing::run_command;

std::string calculator() { return std::string(GLM_SOURCE_DIR) + "/agents/calculator.json"; }

std::string script(const std::vector<std::string>& completions) {
  std::string path = glm::testing::make_temp_dir("script") + "/script.jsonl";
  std::ofstream out(path);
  for (const auto& c : completions) out << nlohmann::json(c).dump() << "\n";
  return path;
}

TEST(RunCli, JsonOutputAndTraceOfACalculatorRun) {
  std::string s = script({"calc\n{\"expression\": \"1234 * 5678\"}<|observation|>", "\nIt is 7006652.<|user|>"});
  std::string trace = glm::testing::make_temp_dir("trace") + "/t.jsonl";
  auto r = run_command(glm::testing::agent_binary() + " run " + calculator() +
                       " --task 'What is 1234 * 5678?' --output-format json --script " + s + " --trace " + trace);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["answer"], "It is 7006652.");
  EXPECT_EQ(j["steps"], 2);
  EXPECT_EQ(j["tool_calls"], 1);
  std::ifstream in(trace);
  std::string line, all;
  bool saw_result = false;
  while (std::getline(in, line)) {
    auto e = nlohmann::json::parse(line);
    if (e["type"] == "tool_result") {
      EXPECT_EQ(e["content"], "{\"result\":\"7006652\"}");  // the real calc.lua computed it
      saw_result = true;
    }
    all = line;
  }
  EXPECT_TRUE(saw_result);
  EXPECT_EQ(nlohmann::json::parse(all)["type"], "result");
}

TEST(RunCli, StreamJsonAndBudgetExitCode) {
  std::string s = script({"calc\n{\"expression\": \"1+1\"}<|observation|>", "calc\n{\"expression\": \"2+2\"}<|observation|>",
                          "calc\n{\"expression\": \"3+3\"}<|observation|>", "calc\n{\"expression\": \"4+4\"}<|observation|>",
                          "calc\n{\"expression\": \"5+5\"}<|observation|>", "calc\n{\"expression\": \"6+6\"}<|observation|>",
                          "calc\n{\"expression\": \"7+7\"}<|observation|>"});
  auto r = run_command(glm::testing::agent_binary() + " run " + calculator() +
                       " --task t --output-format stream-json --script " + s);
  EXPECT_EQ(r.exit_code, 1);  // max_steps (6) exhausted
  std::istringstream in(r.out);
  std::string line, last;
  int n = 0;
  while (std::getline(in, line)) {
    auto e = nlohmann::json::parse(line);
    EXPECT_EQ(e["seq"], n++);
    last = line;
  }
  auto res = nlohmann::json::parse(last);
  EXPECT_EQ(res["type"], "result");
  EXPECT_EQ(res["status"], "budget_exhausted");
  EXPECT_EQ(res["reason"], "max_steps");
}

TEST(EvalCli, CountsSuccessesAgainstExpectedAnswers) {
  std::string dir = glm::testing::make_temp_dir("eval");
  std::ofstream(dir + "/tasks.jsonl") << "{\"task\": \"a\", \"expected\": \"7006652\"}\n"
                                         "{\"task\": \"b\", \"expected\": \"42\"}\n";
  std::string s = script({"\nIt is 7,006,652.<|user|>", "\nI do not know.<|user|>"});
  auto r = run_command(glm::testing::agent_binary() + " eval " + calculator() + " --tasks " + dir +
                       "/tasks.jsonl --script " + s);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["tasks"], 2);
  EXPECT_EQ(j["succeeded"], 1);
  EXPECT_EQ(j["per_task"][0]["ok"], true);   // thousands separators are ignored
  EXPECT_EQ(j["per_task"][1]["ok"], false);
}

TEST(ToolCli, DispatchesThroughTheRealRegistry) {
  auto ok = run_command(glm::testing::agent_binary() + " tool " + calculator() +
                        " --call '{\"name\": \"calc\", \"arguments\": {\"expression\": \"(12.5 + 3) * 4\"}}'");
  ASSERT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_EQ(nlohmann::json::parse(ok.out)["content"]["result"], "62");
  auto bad = run_command(glm::testing::agent_binary() + " tool " + calculator() +
                         " --call '{\"name\": \"calc\", \"arguments\": {\"nope\": 1}}'");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(bad.out)["ok"], false);
  auto unknown = run_command(glm::testing::agent_binary() + " tool " + calculator() +
                             " --call '{\"name\": \"rm\", \"arguments\": {}}'");
  EXPECT_EQ(nlohmann::json::parse(unknown.out)["error"]["kind"], "not_found");
}

}  // namespace
}  // namespace glm

namespace glm {
namespace {

TEST(ChatCli, KeepsTheConversationAcrossTurns) {
  std::string s = script({"\nHello!<|user|>", "calc\n{\"expression\": \"6*7\"}<|observation|>", "\n42<|user|>"});
  auto r = glm::testing::run_command("printf 'hi\\nwhat is 6*7?\\n' | " + glm::testing::agent_binary() + " chat --agent " +
                                     calculator() + " --script " + s + " 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "Hello!\n42\n");
}

}  // namespace
}  // namespace glm

namespace glm {
namespace {

TEST(RunCli, InterruptEndsCleanlyWithTheTranscriptFlushed) {
  std::string s = script({"!sleep 5000\n\nnever<|user|>"});
  std::string trace = glm::testing::make_temp_dir("sigint") + "/t.jsonl";
  auto r = glm::testing::run_command("(" + glm::testing::agent_binary() + " run " + calculator() + " --task t --script " +
                                     s + " --trace " + trace + " & pid=$!; sleep 0.5; kill -INT $pid; wait $pid; echo rc=$?)");
  EXPECT_NE(r.out.find("rc=130"), std::string::npos) << r.out;
  std::ifstream in(trace);
  std::string line, last;
  while (std::getline(in, line)) last = line;
  ASSERT_FALSE(last.empty());
  auto e = nlohmann::json::parse(last);
  EXPECT_EQ(e["type"], "result");
  EXPECT_EQ(e["status"], "cancelled");
}

}  // namespace
}  // namespace glm

#include "tests/model/tiny_checkpoint.h"
#include "tests/runtime/tiny_model.h"

namespace glm {
namespace {

// The whole path a user runs: a checkpoint folder on disk (config.json, model.safetensors, tokenizer.json)
// loaded by `glm-agent run --model DIR`, the real CPU engine, the turn grammar, the real Lua calc tool.
TEST(RunCli, RealEngineOnATinyCheckpointOnDisk) {
  std::string dir = glm::testing::make_temp_dir("tiny-ckpt");
  Glm4Config c = glm::testing::tiny_config();
  c.n_vocab = 288;  // the tiny GLM tokenizer has 269 ids
  c.max_position_embeddings = 4096;
  c.eos_token_ids = {259, 266, 268};
  ASSERT_TRUE(glm::testing::write_tiny_checkpoint(dir, c, kernels::DType::bf16, 1, 5));
  std::ofstream(dir + "/tokenizer.json") << glm::testing::tiny_glm_tokenizer_json();
  std::string trace = dir + "/trace.jsonl";
  auto r = run_command(glm::testing::agent_binary() + " run " + calculator() + " --model " + dir +
                       " --task 'What is 2+2?' --output-format json --threads 1 --trace " + trace);
  ASSERT_NE(r.out.find("\"status\""), std::string::npos) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["status"] == "ok" || j["status"] == "budget_exhausted") << r.out;
  EXPECT_GT(j["tokens"]["completion"].get<int>(), 0);
  std::ifstream in(trace);
  std::string line;
  int turns = 0;
  while (std::getline(in, line)) {
    auto e = nlohmann::json::parse(line);
    if (e["type"] == "model_turn") ++turns;
    EXPECT_NE(e["type"], "error") << line;  // a random model, yet never a malformed turn
    if (e["type"] == "tool_call") {
      EXPECT_EQ(e["name"], "calc");
    }
  }
  EXPECT_GE(turns, 1);
}

}  // namespace
}  // namespace glm
