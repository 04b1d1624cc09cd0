// grammars/tool_call_grammar.h — the grammar of one GLM-4-0414 assistant turn (reference/glm4.md §6.3).
//
//   turn  = "\n" TEXT (<|user|> | <|endoftext|>)                 a text answer (when allowed)
//         | CALL (<|assistant|> CALL)* <|observation|>           one or more calls (when allowed)
//   CALL  = NAME_i "\n" ARGS_i                                   for each tool i
//
// ARGS_i follows tool i's JSON Schema (grammars/json_schema.h); TEXT is any UTF-8 text (special tokens are
// grammar terminals matched by id, so text can never spell one) or, with an answer schema, JSON that
// follows it. Special tokens are named by spelling and resolved against the vocabulary at compile().
// Threads: pure function. Errors: those of json_schema_to_expr, prefixed with the tool's name.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "grammars/grammar.h"

namespace glm::grammar {

struct ToolCallGrammarSpec {
  struct Tool {
    std::string name;
    nlohmann::ordered_json parameters;  // JSON Schema of the arguments object
  };
  std::vector<Tool> tools;
  bool allow_text = true;                // tool_choice auto / none
  bool allow_calls = true;               // tool_choice auto / required
  bool parallel = true;                  // more than one call per turn
  std::optional<nlohmann::ordered_json> answer_schema;  // the text answer must be JSON following it
};

Result<Grammar> tool_call_grammar(const ToolCallGrammarSpec& spec);

}  // namespace glm::grammar
