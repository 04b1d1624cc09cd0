// runtime/config/agent_config.h — an agent as a person writes it: a JSON-with-comments file.
//
//   config::Diagnostics diags;
//   auto cfg = config::load_agent_config("agents/calculator.json", &diags);
//   if (!cfg) for (auto& d : diags) std::cerr << d.to_string() << "\n";   // FILE:LINE:COL: message
//
// Every problem is collected (unknown keys, wrong types, out-of-range values, missing files, duplicate
// tool names, unresolved ${VAR}), each with the position of the offending key or value; load fails when
// any was found. ${VAR} and ${VAR:-default} are expanded from the environment in every string the model
// does not see (paths, URLs, headers, commands); the expanded values are kept in `secrets` so that
// transcripts and tool results can redact them. Relative paths are resolved against the file's folder.
// Threads: plain values.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace glm::config {

struct Diagnostic {
  std::string file;
  int line = 0;
  int col = 0;
  std::string message;
  std::string to_string() const;  // "FILE:LINE:COL: message"
};
using Diagnostics = std::vector<Diagnostic>;

struct SamplingConfig {
  double temperature = 0.0;  // 0: greedy
  double top_p = 1.0;
  int top_k = 0;
  double min_p = 0.0;
  double repetition_penalty = 1.0;
  double presence_penalty = 0.0;
  uint64_t seed = 0;
};

struct ModelConfig {
  std::string path;             // checkpoint folder or .gguf; empty: the shipped demo model
  std::string backend = "auto";  // auto | cpu | cuda | openai
  int64_t context = 4096;
  SamplingConfig sampling;
  std::string url;              // openai backend: base URL (…/v1)
  std::string api_key;          // openai backend: from ${VAR}
  std::string model_name;       // openai backend: "model" field
};

struct ToolLimits {
  double timeout_s = 0;         // 0: the agent's tool_timeout_s
  int64_t memory_bytes = 0;     // 0: the tool kind's default
  int64_t output_bytes = 0;
  int64_t instructions = 0;
};

// One tool as declared. `spec` is what the model sees: {"name","description","parameters"}.
struct ToolConfig {
  std::string type;             // lua | builtin | http | mcp
  std::string name;
  nlohmann::ordered_json spec;
  bool side_effects = false;
  ToolLimits limits;
  nlohmann::ordered_json settings;  // the kind-specific fields (script, corpus, url, ...), paths resolved
  std::string pointer;          // JSON pointer of the declaration, for later diagnostics
};

struct Limits {
  int max_steps = 20;
  int max_tool_calls = 50;
  int64_t max_tokens = 8192;           // generated tokens over the whole run
  double wall_time_s = 600;
  double tool_timeout_s = 30;
  int64_t max_tool_output_bytes = 65536;  // fed back to the model; the transcript keeps everything
  int max_identical_calls = 2;         // a third identical (name, args) call is refused
  int max_consecutive_errors = 3;      // malformed calls / tool errors in a row before stopping
};

struct ContextPolicy {
  std::string mode = "drop_old_observations";  // drop_old_observations | fail
  double threshold = 0.8;                       // fraction of model.context
};

struct AgentConfig {
  std::string file;                  // the config's path
  std::string dir;                   // its folder (relative paths resolve here)
  std::string name;
  std::string description;
  ModelConfig model;
  std::string system;
  std::vector<ToolConfig> tools;     // builtin workspace declarations are expanded to one per tool
  Limits limits;
  std::string strategy = "react";    // react | plan
  std::string tool_choice = "auto";  // auto | required | none
  bool parallel_tool_calls = true;
  std::string approval = "never";    // never | side_effects | always
  std::optional<nlohmann::ordered_json> output_schema;
  ContextPolicy context_policy;
  std::vector<std::string> secrets;  // values expanded from ${VAR}
};

// Parses and checks; on any problem returns an error (its message is the first diagnostic) and fills
// *diags with all of them.
Result<AgentConfig> load_agent_config(const std::string& path, Diagnostics* diags);
Result<AgentConfig> parse_agent_config(std::string_view text, const std::string& path, Diagnostics* diags);

}  // namespace glm::config
