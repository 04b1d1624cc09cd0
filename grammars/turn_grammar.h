// grammars/turn_grammar.h — the grammar of one GLM-4 assistant turn over an agent's tools
// (reference/glm4.md §6.3):
//
//   root ::= "\n" TEXT (<|user|> | <|endoftext|>)  |  CALL (<|assistant|> CALL)* <|observation|>
//   CALL ::= NAME "\n" ARGS(NAME)        NAME one of the tool names, ARGS that tool's JSON Schema
//
// Role tokens are terminals matched by id (resolved by spelling against the vocabulary at compile time),
// so plain text can never satisfy them and they can never appear inside TEXT or JSON.
// TEXT is any valid UTF-8 text, or, with an answer schema, JSON that follows it. With no tools the grammar is
// the text branch only. Arguments are laid out as GLM-4 writes them (JsonLayout::spaced) unless asked otherwise.
// Errors: invalid_argument (empty or duplicate tool name, a name containing "\n"), and any error of a
// tool's schema (grammars/json_schema.h), prefixed with the tool name.
// Threads: pure function.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "grammars/grammar.h"
#include "grammars/json_schema.h"

namespace glm::grammar {

struct ToolSpec {
  std::string name;
  nlohmann::ordered_json parameters;  // JSON Schema of the arguments object
};

struct TurnGrammarOptions {
  bool allow_text = true;   // the "\n" TEXT branch (tool_choice auto / none)
  bool allow_calls = true;  // the CALL branch, when there are tools (tool_choice auto / required)
  bool parallel = true;     // more than one call per turn (<|assistant|> between calls)
  std::optional<nlohmann::ordered_json> answer_schema;  // the text answer must be JSON following it
  JsonLayout layout = JsonLayout::spaced;               // of call arguments (and of a JSON answer)
};

Result<Grammar> glm4_turn_grammar(const std::vector<ToolSpec>& tools, const TurnGrammarOptions& options = {});

}  // namespace glm::grammar
