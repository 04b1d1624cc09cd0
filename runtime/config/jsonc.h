// runtime/config/jsonc.h — JSON with comments, parsed with the source position of every value.
//
// Accepts JSON plus `// line` and `/* block */` comments and trailing commas before } or ]. Each value's
// position is recorded under its JSON pointer ("" for the root, "/tools/0/name"); a key's own position
// is recorded under the pointer with a "#key" suffix, so "unknown key" errors point at the key.
// Threads: pure function. Errors: syntax, with line and column (1-based) in Error::message as
// "LINE:COL: message" and also in *error_at.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <string_view>

#include "base/error.h"

namespace glm::config {

struct SourcePos {
  int line = 0;
  int col = 0;
};

struct JsoncDocument {
  nlohmann::ordered_json value;
  std::map<std::string, SourcePos> positions;  // JSON pointer -> position of the value (or "#key")

  // The position of pointer, or of its nearest recorded ancestor.
  SourcePos at(const std::string& pointer) const;
};

Result<JsoncDocument> parse_jsonc(std::string_view text, SourcePos* error_at = nullptr);

// Escapes a key for use in a JSON pointer (RFC 6901: ~ -> ~0, / -> ~1).
std::string pointer_escape(std::string_view key);

}  // namespace glm::config
