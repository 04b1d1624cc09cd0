// glm-agent: a thin main over glm_runtime. Dispatches on the subcommand name (ARCHITECTURE.md, CLI).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/cli/args.h"
#include "runtime/cli/commands.h"

namespace {

constexpr const char* kUsage = R"(usage: glm-agent <command> [options]

commands:
  run AGENT.json [--task TEXT] [--model DIR] [--output-format text|json|stream-json] [--trace FILE.jsonl]
  eval AGENT.json --tasks FILE.jsonl [--model DIR] [--concurrency N]
  tool AGENT.json --call JSON                     dispatch one call through the agent's tools
  chat [--model DIR] [--agent AGENT.json]         interactive, multi-turn (one line per turn)
  serve [--model DIR] [--host 127.0.0.1] [--port 8080] [--agents DIR]   OpenAI-compatible server
  validate AGENT.json [--json]                    check an agent config: FILE:LINE:COL: message
  info [--json]                                   version, compiled backends, devices
  tokenize (--model DIR | --tokenizer FILE) [--no-special] [--jsonl] < text
  generate [--model DIR] (--prompt TEXT | --ids CSV) [--max-tokens N] [--temperature T] [--seed S] ...
  logits --model DIR --ids CSV [--all] [--exact]   (--exact: f32 activations in every matmul, the reference)
  convert --model DIR --out FILE.gguf [--type q8_0|q4_0|q4_k|q6_k|f16|bf16|f32]   safetensors -> GGUF
  grammar test|bench ...                          grammar-constrained decoding tools
  lua [--limits JSON] (FILE | --batch FILE.jsonl) run Lua in the tool sandbox
  chat-render --model DIR|--tokenizer FILE < conversation.json   render a conversation to ids
  bench tokenizer|engine|matmul|grammar|lua ...   benchmarks printing JSON

exit codes: 0 success, 1 the task or input failed, 2 usage error, 130 interrupted
)";

struct Command {
  const char* name;
  int (*run)(const glm::cli::Argv&);
};

int cmd_bench(const glm::cli::Argv& argv) {
  if (argv.empty()) return glm::cli::fail(glm::cli::kExitUsage, "bench needs a target: tokenizer | engine | matmul | grammar | lua");
  glm::cli::Argv rest(argv.begin() + 1, argv.end());
  if (argv[0] == "tokenizer") return glm::cli::cmd_bench_tokenizer(rest);
  if (argv[0] == "engine") return glm::cli::cmd_bench_engine(rest);
  if (argv[0] == "matmul") return glm::cli::cmd_bench_matmul(rest);
  if (argv[0] == "lua") return glm::cli::cmd_bench_lua(rest);
  if (argv[0] == "grammar") {
    glm::cli::Argv g{"bench"};
    g.insert(g.end(), rest.begin(), rest.end());
    return glm::cli::cmd_grammar(g);
  }
  return glm::cli::fail(glm::cli::kExitUsage, "unknown bench target '" + argv[0] + "'");
}

const Command kCommands[] = {
    {"info", glm::cli::cmd_info},
    {"tokenize", glm::cli::cmd_tokenize},
    {"chat-render", glm::cli::cmd_chat_render},
    {"validate", glm::cli::cmd_validate},
    {"run", glm::cli::cmd_run},
    {"eval", glm::cli::cmd_eval},
    {"tool", glm::cli::cmd_tool},
    {"chat", glm::cli::cmd_chat},
    {"logits", glm::cli::cmd_logits},
    {"generate", glm::cli::cmd_generate},
    {"convert", glm::cli::cmd_convert},
    {"grammar", glm::cli::cmd_grammar},
    {"lua", glm::cli::cmd_lua},
    {"serve", glm::cli::cmd_serve},
    {"bench", cmd_bench},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? glm::cli::kExitUsage : glm::cli::kExitOk;
  }
  if (!std::strcmp(argv[1], "--version")) {
    return glm::cli::cmd_info({});
  }
  std::vector<std::string> rest(argv + 2, argv + argc);
  for (const auto& c : kCommands)
    if (c.name == std::string(argv[1])) return c.run(rest);
  std::fprintf(stderr, "glm-agent: unknown command '%s'\n\n%s", argv[1], kUsage);
  return glm::cli::kExitUsage;
}
