// grammars/json_values.h — expressions for JSON scalars: numbers within decimal bounds, and the string
// formats of JSON Schema. Internal to the JSON Schema compiler.
#pragma once

#include <optional>
#include <string>

#include "base/error.h"
#include "grammars/expr.h"

namespace glm::grammar {

// A decimal bound, exact: sign, integer digits (no leading zeros), fraction digits (no trailing zeros).
struct DecimalBound {
  bool negative = false;
  std::string int_digits = "0";
  std::string frac_digits;
  bool strict = false;
};
// From a JSON number's text (e.g. "1.5", "-2", "1e3"); nullopt when out of the supported range.
std::optional<DecimalBound> decimal_from_text(const std::string& text, bool strict);

// Canonical JSON numbers in [lo, hi] (either may be absent). integer_only: no fraction.
// Without bounds, numbers may have an exponent; with bounds they are written without one.
ExprId json_number_expr(ExprPool& pool, const std::optional<DecimalBound>& lo,
                        const std::optional<DecimalBound>& hi, bool integer_only);

// The string body (between the quotes) of a JSON Schema format; unsupported error for unknown ones.
Result<ExprId> json_format_expr(ExprPool& pool, const std::string& format);

}  // namespace glm::grammar
