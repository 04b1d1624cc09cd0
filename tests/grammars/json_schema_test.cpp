// tests/grammars/json_schema_test.cpp — JSON Schema compiler: exact bounds, policies, and errors that
// name the keyword and its JSON pointer. A failure prints the command that reproduces it.
#include "grammars/json_schema.h"

#include <gtest/gtest.h>

#include "grammars/compiler.h"
#include "grammars/matcher.h"

namespace glm::grammar {
namespace {

struct Case {
  const char* schema;
  std::vector<std::string> valid, invalid;
};

void check(const Case& c) {
  auto g = json_schema_text_to_grammar(c.schema);
  ASSERT_TRUE(g.ok()) << c.schema << "\n" << g.error().to_string();
  auto cg = compile(std::move(*g), Vocab::build(VocabView{{"a"}, {}, {}}));
  ASSERT_TRUE(cg.ok()) << cg.error().to_string();
  for (const auto& v : c.valid) {
    Matcher m(*cg);
    EXPECT_TRUE(m.advance_bytes(v) && m.is_accepting())
        << "valid instance rejected; reproduce: echo '" << c.schema << "' > s.json; printf '%s' '" << v
        << "' > i.json; glm-agent grammar test --json-schema s.json --input i.json";
  }
  for (const auto& v : c.invalid) {
    Matcher m(*cg);
    EXPECT_FALSE(m.advance_bytes(v) && m.is_accepting())
        << "invalid instance accepted; reproduce: echo '" << c.schema << "' > s.json; printf '%s' '" << v
        << "' > i.json; glm-agent grammar test --json-schema s.json --input i.json";
  }
}

TEST(JsonSchema, IntegerBoundsExact) {
  check({R"({"type":"integer","minimum":-15,"maximum":120})", {"-15", "-1", "0", "9", "99", "100", "120"},
         {"-16", "-150", "121", "1000", "1.5", "01", "-0"}});
  check({R"({"type":"integer","exclusiveMinimum":0})", {"1", "10", "123456789012345678901234567890"}, {"0", "-1"}});
  check({R"({"type":"integer","maximum":-3})", {"-3", "-30", "-1000"}, {"-2", "0", "3"}});
  check({R"({"type":"integer","minimum":1.5,"maximum":3.5})", {"2", "3"}, {"1", "4"}});
}

TEST(JsonSchema, DecimalBoundsExact) {
  check({R"({"type":"number","minimum":1.1,"exclusiveMaximum":3})", {"1.1", "1.10", "1.2", "2", "2.999", "1.1000001"},
         {"1.09", "1", "3", "3.0", "3.01", "-2", "0.5"}});
  check({R"({"type":"number","exclusiveMinimum":-1.5,"maximum":0})", {"-1.4", "-1", "0", "-0.0001", "0.0"},
         {"-1.5", "-2", "0.1", "1"}});
}

TEST(JsonSchema, StringsAndPatterns) {
  check({R"({"type":"string","minLength":2,"maxLength":3})", {R"("ab")", R"("abc")", R"("é€")", R"("\n\"")"},
         {R"("a")", R"("abcd")", "\"a\nb\""}});
  check({R"({"type":"string","pattern":"^[a-z]+-[0-9]{2}$"})", {R"("ab-12")"}, {R"("ab-1")", R"("Ab-12")"}});
  check({R"({"type":"string","pattern":"b+"})", {R"("abbbc")", R"("b")"}, {R"("ac")"}});
  check({R"({"type":"string","format":"date"})", {R"("2024-02-29")", R"("2023-12-31")"},
         {R"("2023-02-29")", R"("2023-13-01")", R"("2023-1-01")"}});
}

TEST(JsonSchema, ObjectsOrderRequiredAdditional) {
  check({R"({"type":"object","properties":{"b":{"type":"integer"},"a":{"type":"string"}},"required":["a"],"additionalProperties":false})",
         {R"({"b":1,"a":"x"})", R"({"a":"x"})"},
         {R"({"b":1})", R"({"a":"x","b":1})", R"({"a":"x","c":1})", R"({})", R"({ "a":"x"})"}});
  check({R"({"properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"boolean"}})",
         {R"({"a":1,"z":true})", R"({"z":false,"y":true})", R"({})"}, {R"({"z":1})", R"({"a":true})", R"({"z":true,"a":1})"}});
  check({R"({"required":["id"]})", {R"({"id":null})", R"({"id":{"x":[1,2]}})", "3"}, {R"({"x":1})"}});
}

TEST(JsonSchema, ArraysEnumsRefs) {
  check({R"({"type":"array","prefixItems":[{"type":"integer"}],"items":{"type":"string"},"minItems":2,"maxItems":3})",
         {R"([1,"a"])", R"([1,"a","b"])"}, {R"([1])", R"([1,"a","b","c"])", R"(["a","b"])", R"([1,2])"}});
  check({R"({"enum":["red",1,null,{"a":[1]}]})", {R"("red")", "1", "1.0", "null", R"({"a":[1]})"}, {R"("blue")", "2", R"({"a":[2]})"}});
  check({R"({"type":"string","enum":["a",1]})", {R"("a")"}, {"1"}});
  check({R"({"$defs":{"t":{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/t"}}},"required":["v"],"additionalProperties":false}},"$ref":"#/$defs/t"})",
         {R"({"v":1})", R"({"v":1,"kids":[{"v":2,"kids":[{"v":3}]}]})"}, {R"({"v":1,"kids":[{}]})", R"({"kids":[]})"}});
  check({R"({"oneOf":[{"type":"integer"},{"type":"number","minimum":2}]})", {"1", "2.5"}, {"3"}});
  check({R"({"type":"string","not":{"pattern":"^a"}})", {R"("ba")"}, {R"("ab")", "1"}});
}

void expect_error(const char* schema, ErrorCode code, const std::string& fragment) {
  auto g = json_schema_text_to_grammar(schema);
  ASSERT_FALSE(g.ok()) << schema;
  EXPECT_EQ(g.error().code, code) << g.error().to_string();
  EXPECT_NE(g.error().message.find(fragment), std::string::npos) << g.error().message;
}

TEST(JsonSchema, UnsupportedIsAnErrorWithPointer) {
  expect_error(R"({"properties":{"a":{"type":"integer","multipleOf":3}}})", ErrorCode::unsupported,
               "/properties/a/multipleOf: unsupported keyword 'multipleOf'");
  expect_error(R"({"items":{"uniqueItems":true}})", ErrorCode::unsupported, "/items/uniqueItems");
  expect_error(R"({"type":"string","format":"color"})", ErrorCode::unsupported, "format 'color'");
  expect_error(R"x({"type":"string","pattern":"(?=a)"})x", ErrorCode::unsupported, "lookaround");
  expect_error(R"({"$ref":"http://example.com/s.json"})", ErrorCode::unsupported, "local references");
  expect_error(R"({"$ref":"#/$defs/missing"})", ErrorCode::invalid_argument, "does not resolve");
  expect_error("{\"type\":\n  \"string\",,}", ErrorCode::syntax, "2:12:");
  expect_error(R"({"type":"strin"})", ErrorCode::invalid_argument, "unknown type");
}

}  // namespace
}  // namespace glm::grammar
