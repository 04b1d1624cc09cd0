// grammars/json_schema.h — JSON Schema (draft 2020-12) to a Grammar that accepts exactly the instances
// the schema validates, serialised compactly and canonically (as nlohmann::json::dump() writes them).
//
//   auto g = json_schema_text_to_grammar(R"({"type":"object","properties":{"n":{"type":"integer"}}})");
//   if (!g) return fail(g.error());          // every unsupported keyword, with its JSON pointer
//
// Supported: type, enum, const, properties, required, additionalProperties, patternProperties,
// propertyNames, items, prefixItems, minItems, maxItems, uniqueItems:false, minLength, maxLength,
// pattern (grammars/regex.h), format (date-time, date, time, duration, email, uuid, uri, uri-reference,
// iri and iri-reference (checked as URIs), uri-template, json-pointer, relative-json-pointer, ipv4,
// ipv6, hostname), unevaluatedProperties / unevaluatedItems in schemas without applicators,
// minimum, maximum, exclusiveMinimum, exclusiveMaximum (exact, on the decimal digits), anyOf, oneOf
// (when its branches are disjoint or call-free), allOf (merged), not (of call-free schemas or of
// types), $ref to local JSON pointers ("#", "#/$defs/x", recursive), $defs / definitions.
// Annotations (title, description, default, examples, $comment, $schema, deprecated, readOnly,
// writeOnly, content*) are ignored. Anything else is an error naming the keyword and its JSON pointer:
// a constraint is never silently dropped or widened.
// Policies: properties in schema order (then additional properties); no whitespace (compact); strings
// canonical (only `"`, `\` and control characters escaped, as \n or \u00xx); integers without a
// fraction; numbers with bounds are written without exponent. These only narrow: never a false accept.
// Errors: syntax (the text is not JSON, with line:col), invalid_argument (malformed schema),
// unsupported (keyword / feature), each message listing every problem found.
// Threads: pure functions.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "grammars/grammar.h"

namespace glm::grammar {

Result<Grammar> json_schema_to_grammar(const nlohmann::ordered_json& schema);
// Parses the schema text first (syntax errors with line:col).
Result<Grammar> json_schema_text_to_grammar(std::string_view schema_text);
// How instances are laid out. compact: `{"a":1,"b":[1,2]}` (the default). spaced: `{"a": 1, "b": [1, 2]}`,
// Python's json.dumps defaults, which is how GLM-4 writes tool-call arguments (reference/glm4.md §6.3), so
// the turn grammar constrains calls to the model's own style.
enum class JsonLayout { compact, spaced };

// Adds rules for `schema` to an existing grammar and returns the expression of one instance.
Result<ExprId> json_schema_to_expr(Grammar& grammar, const nlohmann::ordered_json& schema,
                                   JsonLayout layout = JsonLayout::compact);

}  // namespace glm::grammar
