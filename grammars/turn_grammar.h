// grammars/turn_grammar.h — the grammar of one GLM-4 assistant turn over an agent's tools
// (reference/glm4.md §6.3):
//
//   root ::= "\n" TEXT (<|user|> | <|endoftext|>)  |  CALL (<|assistant|> CALL)* <|observation|>
//   CALL ::= NAME "\n" ARGS(NAME)        NAME one of the tool names, ARGS that tool's JSON Schema
//
// Role tokens are terminals matched by id (resolved by spelling against the vocabulary at compile time),
// so plain text can never satisfy them and they can never appear inside TEXT or JSON.
// TEXT is any byte string. With no tools the grammar is the text branch only.
// Errors: invalid_argument (empty or duplicate tool name, a name containing "\n"), and any error of a
// tool's schema (grammars/json_schema.h), prefixed with the tool name.
// Threads: pure function.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "grammars/grammar.h"

namespace glm::grammar {

struct ToolSpec {
  std::string name;
  nlohmann::ordered_json parameters;  // JSON Schema of the arguments object
};

struct TurnGrammarOptions {
  bool allow_text = true;   // the "\n" TEXT branch
  bool allow_calls = true;  // the CALL branch (when there are tools)
};

Result<Grammar> glm4_turn_grammar(const std::vector<ToolSpec>& tools, const TurnGrammarOptions& options = {});

}  // namespace glm::grammar
