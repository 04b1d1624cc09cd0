// `glm-agent chat-render (--model DIR | --tokenizer FILE) [--no-generation-prompt] < request.json`
//
// Renders an OpenAI-style {"messages": [...], "tools": [...]} to the GLM-4 prompt and prints
// {"text": "...", "ids": [...]}: what the engine would see, for debugging prompts and templates.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <iterator>

#include "model/chat.h"
#include "runtime/cli/args.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/model_paths.h"

namespace glm::cli {

int cmd_chat_render(const Argv& argv) {
  auto args = Args::parse(argv, {"model", "tokenizer"}, {"no-generation-prompt"});
  if (!args) return fail(kExitUsage, args.error().message);
  auto path = tokenizer_path(*args);
  if (!path) return fail(kExitUsage, path.error().message);
  auto tok = Tokenizer::load(*path);
  if (!tok) return fail(kExitFailed, tok.error().to_string());

  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  auto req = nlohmann::ordered_json::parse(input, nullptr, false);
  if (req.is_discarded() || !req.is_object() || !req.contains("messages"))
    return fail(kExitFailed, "stdin: expected a JSON object with \"messages\"");
  auto messages = chat::messages_from_openai(req["messages"].dump());
  if (!messages) return fail(kExitFailed, messages.error().message);
  std::vector<chat::ToolSpec> tools;
  if (req.contains("tools") && !req["tools"].is_null()) {
    auto t = chat::tools_from_openai(req["tools"].dump());
    if (!t) return fail(kExitFailed, t.error().message);
    tools = std::move(t).value();
  }
  const bool gen = !args->switches.count("no-generation-prompt");
  auto text = chat::render_text(*messages, tools, gen);
  if (!text) return fail(kExitFailed, text.error().message);
  auto ids = chat::render(*tok, *messages, tools, gen);
  if (!ids) return fail(kExitFailed, ids.error().message);
  nlohmann::ordered_json out;
  out["text"] = *text;
  out["ids"] = *ids;
  std::printf("%s\n", out.dump().c_str());
  return kExitOk;
}

}  // namespace glm::cli
