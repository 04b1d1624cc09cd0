// `glm-agent tokenize (--model DIR | --tokenizer FILE) [--no-special] [--jsonl] < text`
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "model/tokenizer.h"
#include "runtime/cli/args.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/model_paths.h"

namespace glm::cli {

int cmd_tokenize(const Argv& argv) {
  auto args = Args::parse(argv, {"model", "tokenizer"}, {"no-special", "jsonl"});
  if (!args) return fail(kExitUsage, args.error().message);
  auto path = tokenizer_path(*args);
  if (!path) return fail(kExitUsage, path.error().message);
  auto tok = Tokenizer::load(*path);
  if (!tok) return fail(kExitFailed, tok.error().to_string());
  const Specials specials = args->switches.count("no-special") ? Specials::as_text : Specials::match;

  if (!args->switches.count("jsonl")) {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    auto ids = tok->encode(text, specials);
    if (!ids) return fail(kExitFailed, "stdin: " + ids.error().message);
    std::printf("%s\n", nlohmann::json(*ids).dump().c_str());
    return kExitOk;
  }
  int status = kExitOk;
  std::string line;
  for (long line_no = 1; std::getline(std::cin, line); ++line_no) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    nlohmann::json out;
    if (j.is_discarded() || !j.is_object() || !j.contains("text") || !j["text"].is_string()) {
      out["error"] = "line " + std::to_string(line_no) + ": expected an object {\"text\": string}";
      status = kExitFailed;
    } else {
      auto ids = tok->encode(j["text"].get_ref<const std::string&>(), specials);
      if (ids) {
        out["ids"] = *ids;
      } else {
        out["error"] = "line " + std::to_string(line_no) + ": " + ids.error().message;
        status = kExitFailed;
      }
    }
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
  return status;
}

}  // namespace glm::cli
