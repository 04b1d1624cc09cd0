// The shipped demo checkpoint (model/demo): config, tokenizer and weights load through the same code path
// as real GLM-4 weights, the files stay small, greedy decoding of one held-out task per agent starts with a
// well-formed call of the right tool, and the calculator answers with the tool's result.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/build_info.h"
#include "model/chat.h"
#include "model/config.h"
#include "model/cpu/cpu_engine.h"
#include "model/tokenizer.h"
#include "model/weights.h"

namespace glm {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

const std::string kRoot = GLM_SOURCE_DIR;
// $GLM_DEMO_MODEL overrides, as for the CLI (runtime/cli/model_paths.cpp).
const std::string kDemo = std::getenv("GLM_DEMO_MODEL") ? std::getenv("GLM_DEMO_MODEL") : kRoot + "/model/demo";

// agents/*.json allow whole-line // comments.
ordered_json read_agent(const std::string& name) {
  std::ifstream f(kRoot + "/agents/" + name + ".json");
  std::string line, text;
  while (std::getline(f, line)) {
    auto p = line.find_first_not_of(" \t");
    if (p != std::string::npos && line.compare(p, 2, "//") == 0) continue;
    text += line + "\n";
  }
  return ordered_json::parse(text);
}

std::vector<chat::ToolSpec> agent_tools(const ordered_json& agent) {
  std::vector<chat::ToolSpec> out;
  for (const auto& t : agent["tools"]) {
    const ordered_json& specs = t.contains("tools") ? t["tools"] : ordered_json::array({t});
    for (const auto& s : specs) {
      ordered_json f;
      f["name"] = s["name"];
      f["description"] = s["description"];
      f["parameters"] = s["parameters"];
      out.push_back({s["name"].get<std::string>(), f.dump()});
    }
  }
  return out;
}

ordered_json first_task(const std::string& agent) {
  std::ifstream f(kRoot + "/examples/tasks/" + agent + ".jsonl");
  std::string line;
  std::getline(f, line);
  return ordered_json::parse(line);
}

TEST(DemoModel, ConfigAndTokenizerLoad) {
  auto cfg = Glm4Config::load(kDemo);
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  auto tok = Tokenizer::load(kDemo + "/tokenizer.json");
  ASSERT_TRUE(tok.ok()) << tok.error().to_string();
  auto sp = chat::specials_of(*tok);
  ASSERT_TRUE(sp.ok()) << sp.error().message;
  EXPECT_EQ(cfg->n_vocab, tok->n_vocab());
  EXPECT_EQ(tok->special_ids().size(), 14u);
  std::vector<int32_t> eos = cfg->eos_token_ids;
  std::sort(eos.begin(), eos.end());
  std::vector<int32_t> want{sp->endoftext, sp->user, sp->observation};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(eos, want);
  // Tied (a Glm4Config field real checkpoints leave false): copying tokens out of the context was what the small
  // model could not learn untied (model/demo/README.md).
  EXPECT_TRUE(cfg->tie_word_embeddings);
  EXPECT_LT(cfg->n_rot, cfg->head_dim);  // partial RoPE
  EXPECT_LT(cfg->n_head_kv, cfg->n_head);  // GQA
  uintmax_t total = 0;
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"}) total += fs::file_size(kDemo + "/" + f);
  EXPECT_LE(total, uintmax_t(30) << 20) << "the demo checkpoint must stay within 30 MB";
}

TEST(DemoModel, WeightsLoad) {
  auto w = Glm4Weights::load(kDemo);
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  EXPECT_GT(w->config().n_params(), 1000000);
}

// Greedy decoding until a stop id; returns the generated ids (stop id included).
std::vector<int32_t> greedy(Engine& eng, const std::vector<int32_t>& prompt, const std::vector<int32_t>& stops,
                            int max_tokens) {
  auto seq = eng.create_sequence();
  EXPECT_TRUE(seq.ok());
  std::vector<float> row(size_t(eng.caps().n_vocab));
  EXPECT_TRUE(eng.prefill(*seq, prompt, LogitsMode::last, row).ok());
  std::vector<int32_t> out;
  for (int i = 0; i < max_tokens; ++i) {
    int32_t next = int32_t(std::max_element(row.begin(), row.end()) - row.begin());
    out.push_back(next);
    if (std::find(stops.begin(), stops.end(), next) != stops.end()) break;
    DecodeInput in{*seq, next};
    EXPECT_TRUE(eng.decode({&in, 1}, row).ok());
  }
  (void)eng.release_sequence(*seq);
  return out;
}

struct AgentCase {
  const char* agent;
  const char* first_tool;
};

class DemoModelAgents : public ::testing::TestWithParam<AgentCase> {};

TEST_P(DemoModelAgents, HeldOutTaskStartsWithTheRightCall) {
  const AgentCase& c = GetParam();
  auto eng = open_cpu_engine(kDemo, EngineOptions{.n_threads = 2, .max_seq_len = 2048, .max_batch = 1});
  ASSERT_TRUE(eng.ok()) << eng.error().to_string();
  auto tok = Tokenizer::load(kDemo + "/tokenizer.json");
  ASSERT_TRUE(tok.ok());
  auto sp = *chat::specials_of(*tok);
  ordered_json agent = read_agent(c.agent);
  auto tools = agent_tools(agent);
  ordered_json task = first_task(c.agent);
  std::vector<chat::Message> msgs{chat::Message::system(agent["system"].get<std::string>()),
                                  chat::Message::user(task["task"].get<std::string>())};
  auto prompt = chat::render(*tok, msgs, tools, true);
  ASSERT_TRUE(prompt.ok());
  std::vector<int32_t> stops{sp.endoftext, sp.user, sp.observation};
  auto gen = greedy(**eng, *prompt, stops, 200);
  auto turn = chat::parse(*tok, gen);
  ASSERT_TRUE(turn.ok()) << turn.error().message << "\n" << *tok->decode(gen);
  ASSERT_EQ(turn->finish_reason, "tool_calls") << *tok->decode(gen);
  ASSERT_FALSE(turn->tool_calls.empty());
  EXPECT_EQ(turn->tool_calls[0].name, c.first_tool);
  auto args = ordered_json::parse(turn->tool_calls[0].arguments, nullptr, false);
  EXPECT_TRUE(args.is_object()) << turn->tool_calls[0].arguments;
}

// With the tool's result in the context, the calculator answers with it and stops.
TEST(DemoModel, CalculatorAnswersWithTheToolResult) {
  auto eng = open_cpu_engine(kDemo, EngineOptions{.n_threads = 2, .max_seq_len = 2048, .max_batch = 1});
  ASSERT_TRUE(eng.ok()) << eng.error().to_string();
  auto tok = Tokenizer::load(kDemo + "/tokenizer.json");
  ASSERT_TRUE(tok.ok());
  auto sp = *chat::specials_of(*tok);
  ordered_json agent = read_agent("calculator");
  auto tools = agent_tools(agent);
  std::vector<chat::Message> msgs{chat::Message::system(agent["system"].get<std::string>()),
                                  chat::Message::user("What is 1234 * 5678?"),
                                  chat::Message::assistant("", {{"calc", R"({"expression": "1234 * 5678"})"}}),
                                  chat::Message::observation(R"({"result":"7006652"})")};
  auto prompt = chat::render(*tok, msgs, tools, true);
  ASSERT_TRUE(prompt.ok());
  auto gen = greedy(**eng, *prompt, {sp.endoftext, sp.user, sp.observation}, 100);
  auto answer = chat::parse(*tok, gen);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->finish_reason, "stop");
  EXPECT_NE(answer->content.find("7006652"), std::string::npos) << answer->content;
}

INSTANTIATE_TEST_SUITE_P(Agents, DemoModelAgents,
                         ::testing::Values(AgentCase{"calculator", "calc"}, AgentCase{"search-qa", "search"},
                                           AgentCase{"coder", "run_tests"}),
                         [](const auto& info) {
                           std::string n = info.param.agent;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace glm
