#include "model/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>

#include "tests/test_util.h"

namespace glm {
namespace {

using nlohmann::json;

struct Loaded {
  std::map<std::string, Tokenizer> by_file;
};

// Both reference tokenizers, loaded once for the whole suite (each file is 11 MB).
const Tokenizer* reference(const std::string& dir, const std::string& file) {
  static std::map<std::string, Result<Tokenizer>> cache;
  auto it = cache.find(file);
  if (it == cache.end()) it = cache.emplace(file, Tokenizer::load(dir + "/tokenizer/" + file)).first;
  return it->second ? &it->second.value() : nullptr;
}

std::vector<json> read_cases(const std::string& dir) {
  std::vector<json> cases;
  std::ifstream in(dir + "/tokenizer/cases.jsonl");
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) cases.push_back(json::parse(line));
  return cases;
}

void check_all_cases(const std::string& file, const std::string& field) {
  GLM_REQUIRE_SHARED_DATA(dir);
  const Tokenizer* tok = reference(dir, file);
  ASSERT_NE(tok, nullptr) << "cannot load " << file;
  auto cases = read_cases(dir);
  ASSERT_EQ(cases.size(), 891u);
  int mismatches = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const json& c = cases[i];
    std::string text = c["text"];
    auto ids = tok->encode(text, Specials::match);
    ASSERT_TRUE(ids.ok()) << "case " << i << ": " << ids.error().to_string();
    auto want = c[field].get<std::vector<int32_t>>();
    if (*ids != want) {
      if (++mismatches <= 5)
        ADD_FAILURE() << file << " case " << i << " text=" << json(text).dump() << "\n got  " << json(*ids).dump()
                      << "\n want " << json(want).dump();
      continue;
    }
    auto back = tok->decode(*ids);
    ASSERT_TRUE(back.ok());
    std::string expect = c["roundtrip"].get<bool>() ? text : c["decoded"].get<std::string>();
    EXPECT_EQ(*back, expect) << "decode of case " << i;
  }
  EXPECT_EQ(mismatches, 0) << "cases whose ids differ from Hugging Face tokenizers";
}

TEST(TokenizerReference, Qwen3AllCasesMatch) { check_all_cases("qwen3.tokenizer.json", "qwen3_ids"); }
TEST(TokenizerReference, Glm4RegexAllCasesMatch) { check_all_cases("glm4-regex.tokenizer.json", "glm4_regex_ids"); }

TEST(TokenizerReference, DigitGroupsFollowGlm4Regex) {
  GLM_REQUIRE_SHARED_DATA(dir);
  const Tokenizer* tok = reference(dir, "glm4-regex.tokenizer.json");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(*tok->encode("12345678"), (std::vector<int32_t>{151892, 152225, 151747}));
}

TEST(TokenizerReference, NoSpecialEncodesSpecialTextAsPlainText) {
  GLM_REQUIRE_SHARED_DATA(dir);
  const Tokenizer* tok = reference(dir, "qwen3.tokenizer.json");
  ASSERT_NE(tok, nullptr);
  auto eot = tok->token_id("<|endoftext|>");
  ASSERT_TRUE(eot.has_value());
  auto matched = tok->encode("a<|endoftext|>b", Specials::match);
  auto plain = tok->encode("a<|endoftext|>b", Specials::as_text);
  ASSERT_TRUE(matched.ok() && plain.ok());
  EXPECT_EQ(std::count(matched->begin(), matched->end(), *eot), 1);
  EXPECT_EQ(std::count(plain->begin(), plain->end(), *eot), 0);
  for (int32_t id : *plain) EXPECT_FALSE(tok->is_special(id)) << id;
  EXPECT_EQ(*tok->decode(*plain), "a<|endoftext|>b");
}

TEST(TokenizerReference, InvalidUtf8IsAnErrorNamingTheOffset) {
  GLM_REQUIRE_SHARED_DATA(dir);
  const Tokenizer* tok = reference(dir, "qwen3.tokenizer.json");
  ASSERT_NE(tok, nullptr);
  auto r = tok->encode(std::string("ok \xff bad"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(r.error().message.find("byte 3"), std::string::npos) << r.error().message;
  auto s = tok->encode(std::string("\xed\xa0\x80"));  // a UTF-16 surrogate in UTF-8 form
  EXPECT_FALSE(s.ok());
}

TEST(TokenizerReference, EmptyAndHugeInput) {
  GLM_REQUIRE_SHARED_DATA(dir);
  const Tokenizer* tok = reference(dir, "qwen3.tokenizer.json");
  ASSERT_NE(tok, nullptr);
  EXPECT_TRUE(tok->encode("")->empty());
  // 4 MB of one letter is a single pre-token: BPE must stay near-linear.
  std::string huge(4 << 20, 'a');
  auto r = tok->encode(huge);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*tok->decode(*r), huge);
  std::string spaces(1 << 20, ' ');
  auto s = tok->encode(spaces + "x");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*tok->decode(*s), spaces + "x");
}

TEST(TokenizerReference, DecodeRejectsIdsOutOfRange) {
  GLM_REQUIRE_SHARED_DATA(dir);
  const Tokenizer* tok = reference(dir, "qwen3.tokenizer.json");
  ASSERT_NE(tok, nullptr);
  std::vector<int32_t> ids{1, tok->n_vocab()};
  auto r = tok->decode(ids);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(r.error().message.find("position 1"), std::string::npos);
}

TEST(TokenizerLoad, MissingFileIsNotFound) {
  auto r = Tokenizer::load("/nonexistent/tokenizer.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::not_found);
}

TEST(TokenizerLoad, MalformedJsonIsInvalidArgument) {
  auto r = Tokenizer::from_json("{\"model\": [", "t.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(r.error().message.find("t.json"), std::string::npos);
}

std::string tiny_tokenizer_json(const std::string& model_type, const std::string& regex) {
  json vocab = json::object();
  // The 256 byte-level symbols, in GPT-2 order, then one merge.
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    uint32_t cp = printable ? b : 256 + extra++;
    std::string s;
    if (cp < 0x80) s += char(cp);
    else { s += char(0xC0 | (cp >> 6)); s += char(0x80 | (cp & 0x3F)); }
    vocab[s] = b;
  }
  vocab["ab"] = 256;
  json j = {{"normalizer", nullptr},
            {"pre_tokenizer",
             {{"type", "Sequence"},
              {"pretokenizers",
               {{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}},
                {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
            {"added_tokens", {{{"id", 257}, {"content", "<|x|>"}, {"special", true}}}},
            {"model", {{"type", model_type}, {"vocab", vocab}, {"merges", {"a b"}}}}};
  return j.dump();
}

const char* kGlm4Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

TEST(TokenizerLoad, TinyFileEncodesWithMergesAndAddedTokens) {
  auto r = Tokenizer::from_json(tiny_tokenizer_json("BPE", kGlm4Regex), "tiny.json");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r->encode("ab<|x|>", Specials::match), (std::vector<int32_t>{256, 257}));
  EXPECT_EQ(r->n_vocab(), 258);
}

TEST(TokenizerLoad, UnknownModelTypeIsUnsupported) {
  auto r = Tokenizer::from_json(tiny_tokenizer_json("WordPiece", kGlm4Regex), "tiny.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::unsupported);
  EXPECT_NE(r.error().message.find("WordPiece"), std::string::npos);
}

TEST(TokenizerLoad, UnknownRegexIsUnsupportedNotApproximated) {
  auto r = Tokenizer::from_json(tiny_tokenizer_json("BPE", "\\w+|\\s+"), "tiny.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::unsupported);
  EXPECT_NE(r.error().message.find("\\w+"), std::string::npos);
}

}  // namespace
}  // namespace glm
