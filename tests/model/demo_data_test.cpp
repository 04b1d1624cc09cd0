// The demo model's training data (model/demo/gen_data.py): every generated trace renders through
// chat::render with the demo tokenizer, and each assistant turn, as the model would generate it (the ids
// after the generation prompt, then the stop token), parses back through chat::parse to the same calls or
// answer. Also: the traces of one agent share their prompt prefix (train.py relies on it), observations
// follow agents/README.md, and the held-out task files exist and are disjoint from a training sample.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "base/build_info.h"
#include "model/chat.h"
#include "model/tokenizer.h"
#include "tests/test_util.h"

namespace glm {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

const std::string kRoot = GLM_SOURCE_DIR;

// A Python 3 that can run the generator (it needs only the standard library).
std::string find_python() {
  for (const char* p : {"/usr/bin/python3", "/usr/local/bin/python3"}) {
    if (fs::exists(p)) return p;
  }
  auto r = testing::run_command("command -v python3 2>/dev/null");
  if (r.exit_code == 0 && !r.out.empty()) return r.out.substr(0, r.out.find('\n'));
  return "";
}

std::vector<ordered_json> read_jsonl(const std::string& path) {
  std::vector<ordered_json> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if (!line.empty()) out.push_back(ordered_json::parse(line));
  }
  return out;
}

class DemoData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    python_ = new std::string(find_python());
    if (python_->empty()) return;
    dir_ = new std::string(testing::make_temp_dir("glm-demo-data"));
    auto r = testing::run_command(*python_ + " " + kRoot + "/model/demo/gen_data.py --out " + *dir_ +
                                  " --n-calc 40 --n-search 40 --n-coder 40 --seed 7 --fresh-names 0.5 --recovery 0.2"
                                  " --piece-names 0.3 --doubled-names 0.3 --name sample.jsonl 2>&1");
    gen_ok_ = r.exit_code == 0;
    gen_out_ = new std::string(r.out);
  }
  static void TearDownTestSuite() {
    if (dir_) fs::remove_all(*dir_);
    delete dir_;
    delete python_;
    delete gen_out_;
    dir_ = python_ = gen_out_ = nullptr;
  }
  void SetUp() override {
    if (python_->empty()) GTEST_SKIP() << "no python3 found: the demo data generator test needs it";
    ASSERT_TRUE(gen_ok_) << "gen_data.py failed:\n" << *gen_out_;
    auto tok = Tokenizer::load(kRoot + "/model/demo/tokenizer.json");
    ASSERT_TRUE(tok.ok()) << tok.error().to_string();
    tok_ = std::make_unique<Tokenizer>(std::move(tok).value());
    traces_ = read_jsonl(*dir_ + "/sample.jsonl");
  }

  static std::string* python_;
  static std::string* dir_;
  static std::string* gen_out_;
  static bool gen_ok_;
  std::unique_ptr<Tokenizer> tok_;
  std::vector<ordered_json> traces_;
};

std::string* DemoData::python_ = nullptr;
std::string* DemoData::dir_ = nullptr;
std::string* DemoData::gen_out_ = nullptr;
bool DemoData::gen_ok_ = false;

TEST_F(DemoData, SampleHasEveryAgent) {
  std::map<std::string, int> n;
  for (const auto& t : traces_) n[t["agent"].get<std::string>()]++;
  EXPECT_EQ(n["calculator"], 40);
  EXPECT_EQ(n["search-qa"], 40);
  EXPECT_EQ(n["coder"], 40);
}

TEST_F(DemoData, EveryTraceRendersAndEachAssistantTurnParsesBack) {
  auto sp = chat::specials_of(*tok_);
  ASSERT_TRUE(sp.ok());
  int turns = 0, calls = 0, answers = 0, parallel = 0;
  std::map<std::string, std::vector<int32_t>> prefixes;
  for (size_t ti = 0; ti < traces_.size(); ++ti) {
    const auto& t = traces_[ti];
    SCOPED_TRACE("trace " + std::to_string(ti) + " (" + t["agent"].get<std::string>() + ")");
    auto msgs = chat::messages_from_openai(t["messages"].dump());
    ASSERT_TRUE(msgs.ok()) << msgs.error().message;
    auto tools = chat::tools_from_openai(t["tools"].dump());
    ASSERT_TRUE(tools.ok()) << tools.error().message;
    auto all = chat::render(*tok_, *msgs, *tools, false);
    ASSERT_TRUE(all.ok()) << all.error().message;

    // The prompt prefix (before the first <|user|>) is the same for every trace of an agent.
    auto user_at = std::find(all->begin(), all->end(), sp->user);
    ASSERT_NE(user_at, all->end());
    std::vector<int32_t> prefix(all->begin(), user_at);
    auto [it, fresh] = prefixes.emplace(t["agent"].get<std::string>(), prefix);
    if (!fresh) {
      EXPECT_EQ(it->second, prefix) << "prompt prefix differs between traces of one agent";
    }

    for (size_t i = 0; i < msgs->size(); ++i) {
      const chat::Message& m = (*msgs)[i];
      if (m.role != chat::Role::assistant) continue;
      std::span<const chat::Message> before(msgs->data(), i);
      auto prompt = chat::render(*tok_, before, *tools, true);
      auto with = chat::render(*tok_, std::span<const chat::Message>(msgs->data(), i + 1), *tools, false);
      ASSERT_TRUE(prompt.ok() && with.ok());
      ASSERT_GT(with->size(), prompt->size());
      ASSERT_TRUE(std::equal(prompt->begin(), prompt->end(), with->begin())) << "turn " << i << " is not a continuation";
      std::vector<int32_t> gen(with->begin() + std::ptrdiff_t(prompt->size()), with->end());
      gen.push_back(m.tool_calls.empty() ? sp->user : sp->observation);
      auto turn = chat::parse(*tok_, gen);
      ASSERT_TRUE(turn.ok()) << "turn " << i << ": " << turn.error().message;
      EXPECT_EQ(turn->content, m.content);
      ASSERT_EQ(turn->tool_calls.size(), m.tool_calls.size());
      for (size_t k = 0; k < m.tool_calls.size(); ++k) {
        EXPECT_EQ(turn->tool_calls[k].name, m.tool_calls[k].name);
        EXPECT_EQ(turn->tool_calls[k].arguments, m.tool_calls[k].arguments);
      }
      EXPECT_EQ(turn->finish_reason, m.tool_calls.empty() ? "stop" : "tool_calls");
      ++turns;
      calls += int(m.tool_calls.size());
      answers += m.tool_calls.empty() ? 1 : 0;
      parallel += m.tool_calls.size() > 1 ? 1 : 0;
    }
    // The conversation ends with the answer.
    EXPECT_EQ(msgs->back().role, chat::Role::assistant);
    EXPECT_TRUE(msgs->back().tool_calls.empty());
  }
  EXPECT_EQ(answers, int(traces_.size()));
  EXPECT_GT(calls, int(traces_.size()));
  EXPECT_GT(parallel, 0) << "the sample should hold some parallel calls";
  EXPECT_EQ(prefixes.size(), 3u);
}

// Observations as agents/README.md fixes them: compact JSON for JSON results, errors as {"error":{kind,message}}.
TEST_F(DemoData, ObservationsFollowThePromptContract) {
  int errors = 0;
  for (const auto& t : traces_) {
    const std::string agent = t["agent"].get<std::string>();
    std::vector<std::string> pending;  // tool names of the calls awaiting results, in order
    for (const auto& m : t["messages"]) {
      const std::string role = m["role"].get<std::string>();
      if (role == "assistant" && m.contains("tool_calls")) {
        for (const auto& c : m["tool_calls"]) pending.push_back(c["function"]["name"].get<std::string>());
        continue;
      }
      if (role != "tool") continue;
      ASSERT_FALSE(pending.empty()) << "a tool result without a call";
      std::string name = pending.front();
      pending.erase(pending.begin());
      std::string content = m["content"].get<std::string>();
      if (name == "read_file" && content.rfind("{\"error\"", 0) != 0) continue;  // text result
      auto j = ordered_json::parse(content, nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << name << ": not JSON: " << content;
      EXPECT_EQ(j.dump(-1, ' ', false), content) << "not the compact serialization";
      if (j.is_object() && j.contains("error")) {
        ++errors;
        EXPECT_TRUE(j["error"].contains("kind") && j["error"].contains("message")) << content;
        continue;
      }
      if (name == "calc") {
        EXPECT_TRUE(j.is_object() && j["result"].is_string()) << content;
      }
      if (name == "search") {
        ASSERT_TRUE(j.is_array());
        EXPECT_LE(j.size(), 2u);
        for (const auto& d : j) EXPECT_EQ(d.size(), 2u) << "search results are {title, text}";
      }
      if (name == "run_tests") {
        ASSERT_TRUE(j.is_object());
        std::vector<std::string> keys;
        for (auto& [k, v] : j.items()) keys.push_back(k);
        EXPECT_EQ(keys, (std::vector<std::string>{"passed", "failed", "failures"}));
      }
      if (name == "list_files") {
        EXPECT_TRUE(j.is_array());
      }
      if (name == "replace" || name == "write_file") {
        EXPECT_EQ(content, R"({"ok":true})");
      }
    }
    EXPECT_TRUE(pending.empty());
  }
  EXPECT_GT(errors, 0) << "the sample should hold some tool errors";
}

TEST_F(DemoData, HeldOutTasksExistAndAreNotInTheSample) {
  std::set<std::string> sample_tasks;
  for (const auto& t : traces_) {
    for (const auto& m : t["messages"])
      if (m["role"] == "user") sample_tasks.insert(m["content"].get<std::string>());
  }
  for (const char* agent : {"calculator", "search-qa", "coder"}) {
    auto tasks = read_jsonl(kRoot + "/examples/tasks/" + agent + ".jsonl");
    EXPECT_GE(tasks.size(), 10u) << agent;
    for (const auto& t : tasks) {
      ASSERT_TRUE(t.contains("task") && t.contains("expected")) << agent;
      EXPECT_EQ(sample_tasks.count(t["task"].get<std::string>()), 0u) << "held-out task in training: " << t["task"];
    }
  }
}

}  // namespace
}  // namespace glm
