// The `glm-agent tokenize` contract (ARCHITECTURE.md): a JSON array of ids; --jsonl; --no-special;
// exit 1 with a message for bad input, 2 for usage errors.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "tests/test_util.h"

namespace glm {
namespace {

using glm::testing::run_command;

std::string tokenize_cmd(const std::string& dir, const std::string& flags) {
  return glm::testing::agent_binary() + " tokenize --tokenizer " + dir + "/tokenizer/qwen3.tokenizer.json " + flags;
}

TEST(TokenizeCli, PrintsIdsOfStdin) {
  GLM_REQUIRE_SHARED_DATA(dir);
  auto r = run_command("printf 'Hello world' | " + tokenize_cmd(dir, ""));
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(r.out), nlohmann::json({9707, 1879}));
}

TEST(TokenizeCli, JsonlAnswersEveryLineAndFlagsBadOnes) {
  GLM_REQUIRE_SHARED_DATA(dir);
  std::string tmp = glm::testing::make_temp_dir("tok-cli") + "/in.jsonl";
  std::ofstream(tmp) << "{\"text\": \"Hello world\"}\n{\"nope\": 1}\n{\"text\": \"<|endoftext|>\"}\n";
  auto r = run_command(tokenize_cmd(dir, "--jsonl") + " < " + tmp);
  EXPECT_EQ(r.exit_code, 1);  // one bad line
  std::vector<nlohmann::json> lines;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) lines.push_back(nlohmann::json::parse(l));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["ids"], nlohmann::json({9707, 1879}));
  EXPECT_NE(lines[1]["error"].get<std::string>().find("line 2"), std::string::npos);
  EXPECT_EQ(lines[2]["ids"], nlohmann::json({151643}));

  auto plain = run_command(tokenize_cmd(dir, "--jsonl --no-special") + " < " + tmp);
  std::istringstream in2(plain.out);
  std::string l;
  for (int i = 0; i < 3; ++i) std::getline(in2, l);
  auto ids = nlohmann::json::parse(l)["ids"];
  EXPECT_GT(ids.size(), 1u);
  for (const auto& id : ids) EXPECT_NE(id.get<int>(), 151643);
}

TEST(TokenizeCli, InvalidUtf8AndMissingFilesFailClearly) {
  GLM_REQUIRE_SHARED_DATA(dir);
  auto bad = run_command("printf 'ab\\377' | " + tokenize_cmd(dir, "") + " 2>&1");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("not valid UTF-8 at byte 2"), std::string::npos) << bad.out;
  auto missing = run_command(glm::testing::agent_binary() + " tokenize --tokenizer /nope.json < /dev/null 2>&1");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("/nope.json"), std::string::npos) << missing.out;
  auto usage = run_command(glm::testing::agent_binary() + " tokenize --bogus < /dev/null 2>&1");
  EXPECT_EQ(usage.exit_code, 2);
}

TEST(InfoCli, JsonNamesVersionAndBackends) {
  auto r = run_command(glm::testing::agent_binary() + " info --json");
  ASSERT_EQ(r.exit_code, 0);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["name"], "glm-agent");
  EXPECT_TRUE(j["backends"].is_array());
  EXPECT_EQ(j["devices"][0]["type"], "cpu");
}

}  // namespace
}  // namespace glm
