// runtime/cli/commands.h — one function per glm-agent subcommand; main() dispatches on the name.
//
// Each takes the arguments after the subcommand and returns the process exit code (0 ok, 1 the task or
// input failed, 2 usage error, 130 interrupted). Results go to stdout, diagnostics to stderr.
#pragma once

#include <string>
#include <vector>

namespace glm::cli {

using Argv = std::vector<std::string>;

int cmd_info(const Argv& argv);
int cmd_tokenize(const Argv& argv);
int cmd_bench_tokenizer(const Argv& argv);
int cmd_chat_render(const Argv& argv);
int cmd_validate(const Argv& argv);

// Agent commands (runtime/cli/agent_commands.cpp).
int cmd_run(const Argv& argv);
int cmd_eval(const Argv& argv);
int cmd_tool(const Argv& argv);
int cmd_chat(const Argv& argv);

// Engine commands (runtime/cli/engine_commands.cpp).
int cmd_logits(const Argv& argv);
int cmd_generate(const Argv& argv);
int cmd_bench_engine(const Argv& argv);
int cmd_bench_matmul(const Argv& argv);  // runtime/cli/bench_matmul_command.cpp
int cmd_convert(const Argv& argv);

// Grammar commands (runtime/cli/grammar_commands.cpp): `grammar test`, `grammar bench`.
int cmd_grammar(const Argv& argv);

// Lua sandbox command (runtime/cli/lua_command.cpp).
int cmd_lua(const Argv& argv);
int cmd_bench_lua(const Argv& argv);

// OpenAI-compatible server (runtime/cli/serve_command.cpp).
int cmd_serve(const Argv& argv);

}  // namespace glm::cli
