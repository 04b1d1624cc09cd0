// Loading tokenizer.json and the encode / decode paths of model/tokenizer.h.
#include "model/tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <unordered_map>

#include "base/mapped_file.h"
#include "base/utf8.h"
#include "model/tokenizer/bpe.h"
#include "model/tokenizer/pretokenizer.h"
#include "model/tokenizer/unicode.h"

namespace glm {

struct AddedToken {
  std::string content;
  int32_t id;
  bool special, lstrip, rstrip, single_word;
};

struct Tokenizer::Impl {
  std::string source;
  bool nfc = false;
  PreTokenizer pre;
  BpeMerges merges;
  std::array<int32_t, 256> byte_ids{};
  std::vector<std::string> bytes_of;                     // id -> raw bytes
  std::unordered_map<std::string, int32_t> id_of;        // raw bytes -> id (vocab, then added tokens)
  std::vector<AddedToken> added;                         // sorted by content
  std::vector<uint8_t> special;                          // id -> is a special added token
  std::array<bool, 256> added_first_byte{};              // bytes that can start an added token
  int32_t n_vocab = 0;

  Status encode_plain(std::string_view text, std::vector<int32_t>* ids) const;
  // Finds the leftmost-longest added token at or after `from`; returns its index or -1.
  int find_added(std::string_view text, size_t from, bool specials, size_t* at) const;
};

namespace {

using json = nlohmann::json;

// GPT-2's reversible map from bytes to printable code points, and its inverse.
struct ByteLevel {
  std::array<uint32_t, 256> to_cp{};
  std::unordered_map<uint32_t, uint8_t> to_byte;
  ByteLevel() {
    uint32_t extra = 0;
    for (uint32_t b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      to_cp[b] = printable ? b : 256 + extra++;
      to_byte[to_cp[b]] = static_cast<uint8_t>(b);
    }
  }
};

const ByteLevel& byte_level() {
  static const ByteLevel bl;
  return bl;
}

// "Ġhello" -> " hello". Returns false for a code point outside the byte-level alphabet.
bool byte_level_decode(const std::string& s, std::string* out) {
  const ByteLevel& bl = byte_level();
  out->clear();
  for (size_t i = 0; i < s.size();) {
    int len;
    int32_t cp = utf8::decode(s, i, &len);
    if (cp < 0) return false;
    auto it = bl.to_byte.find(static_cast<uint32_t>(cp));
    if (it == bl.to_byte.end()) return false;
    out->push_back(static_cast<char>(it->second));
    i += static_cast<size_t>(len);
  }
  return true;
}

Error bad(const std::string& source, const std::string& what) {
  return make_error(ErrorCode::invalid_argument, source + ": " + what);
}
Error unsupported(const std::string& source, const std::string& what) {
  return make_error(ErrorCode::unsupported, source + ": " + what);
}

// Checks normalizer / pre_tokenizer / decoder are ones this implementation reproduces exactly.
Status read_pipeline(const json& j, const std::string& src, Tokenizer::Impl* t) {
  const json& norm = j.contains("normalizer") ? j["normalizer"] : json();
  if (!norm.is_null()) {
    std::vector<json> steps;
    if (norm.value("type", "") == "Sequence" && norm.contains("normalizers") && norm["normalizers"].is_array())
      steps.assign(norm["normalizers"].begin(), norm["normalizers"].end());
    else
      steps.push_back(norm);
    for (const json& s : steps) {
      std::string type = s.is_object() ? s.value("type", "") : "";
      if (type == "NFC") t->nfc = true;
      else return unsupported(src, "normalizer type '" + type + "' is not supported (NFC or none)");
    }
  }
  if (!j.contains("pre_tokenizer") || !j["pre_tokenizer"].is_object())
    return unsupported(src, "pre_tokenizer is missing; expected Split(Regex) + ByteLevel");
  const json& pre = j["pre_tokenizer"];
  std::vector<json> steps;
  if (pre.value("type", "") == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array())
    steps.assign(pre["pretokenizers"].begin(), pre["pretokenizers"].end());
  else
    steps.push_back(pre);
  bool have_split = false, have_bytelevel = false;
  for (const json& s : steps) {
    std::string type = s.is_object() ? s.value("type", "") : "";
    if (type == "Split") {
      if (!s.contains("pattern") || !s["pattern"].is_object() || !s["pattern"].contains("Regex") ||
          !s["pattern"]["Regex"].is_string())
        return unsupported(src, "pre_tokenizer Split must have a Regex pattern");
      if (s.value("behavior", "") != "Isolated" || s.value("invert", false))
        return unsupported(src, "pre_tokenizer Split must be behavior Isolated, invert false");
      auto p = PreTokenizer::from_regex(s["pattern"]["Regex"].get<std::string>());
      if (!p) return unsupported(src, p.error().message);
      t->pre = *p;
      have_split = true;
    } else if (type == "ByteLevel") {
      if (s.value("add_prefix_space", false) || s.value("use_regex", true))
        return unsupported(src, "pre_tokenizer ByteLevel must have add_prefix_space false and use_regex false");
      have_bytelevel = true;
    } else {
      return unsupported(src, "pre_tokenizer type '" + type + "' is not supported");
    }
  }
  if (!have_split || !have_bytelevel)
    return unsupported(src, "pre_tokenizer must be Sequence[Split(Regex), ByteLevel]");
  return {};
}

Status read_model(const json& j, const std::string& src, Tokenizer::Impl* t) {
  if (!j.contains("model") || !j["model"].is_object()) return bad(src, "'model' is missing");
  const json& m = j["model"];
  std::string type = m.value("type", "BPE");
  if (type != "BPE") return unsupported(src, "model type '" + type + "' is not supported (BPE only)");
  if (m.value("byte_fallback", false)) return unsupported(src, "model.byte_fallback is not supported");
  if (m.value("ignore_merges", false)) return unsupported(src, "model.ignore_merges is not supported");
  if (!m.contains("vocab") || !m["vocab"].is_object()) return bad(src, "model.vocab must be an object");
  if (!m.contains("merges") || !m["merges"].is_array()) return bad(src, "model.merges must be an array");

  std::unordered_map<std::string, int32_t> by_text;  // byte-level spelling -> id
  by_text.reserve(m["vocab"].size() * 2);
  int32_t max_id = -1;
  std::string raw;
  for (auto it = m["vocab"].begin(); it != m["vocab"].end(); ++it) {
    if (!it.value().is_number_integer()) return bad(src, "model.vocab['" + it.key() + "'] is not an integer id");
    int64_t id = it.value().get<int64_t>();
    if (id < 0 || id > 10'000'000) return bad(src, "model.vocab['" + it.key() + "'] has id out of range");
    by_text.emplace(it.key(), static_cast<int32_t>(id));
    max_id = std::max<int32_t>(max_id, static_cast<int32_t>(id));
  }
  t->bytes_of.assign(static_cast<size_t>(max_id + 1), std::string());
  for (const auto& [text, id] : by_text) {
    if (!byte_level_decode(text, &raw)) {
      // Added tokens may sit in the vocabulary with characters outside the byte alphabet.
      t->bytes_of[id] = text;
      continue;
    }
    t->bytes_of[id] = raw;
    t->id_of.emplace(raw, id);
  }
  const ByteLevel& bl = byte_level();
  for (int b = 0; b < 256; ++b) {
    std::string s;
    utf8::append(s, bl.to_cp[b]);
    auto it = by_text.find(s);
    if (it == by_text.end())
      return bad(src, "byte-level vocabulary lacks the token for byte " + std::to_string(b));
    t->byte_ids[b] = it->second;
  }

  const json& merges = m["merges"];
  t->merges.reserve(merges.size());
  std::string left, right;
  for (size_t r = 0; r < merges.size(); ++r) {
    const json& e = merges[r];
    if (e.is_string()) {
      const std::string& s = e.get_ref<const std::string&>();
      auto sp = s.find(' ');
      if (sp == std::string::npos) return bad(src, "model.merges[" + std::to_string(r) + "] is not 'a b'");
      left = s.substr(0, sp);
      right = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      left = e[0].get<std::string>();
      right = e[1].get<std::string>();
    } else {
      return bad(src, "model.merges[" + std::to_string(r) + "] is neither 'a b' nor [a, b]");
    }
    auto a = by_text.find(left), b = by_text.find(right), c = by_text.find(left + right);
    if (a == by_text.end() || b == by_text.end() || c == by_text.end())
      return bad(src, "model.merges[" + std::to_string(r) + "] ('" + left + "', '" + right +
                          "') names a token missing from model.vocab");
    t->merges.add(a->second, b->second, c->second, static_cast<uint32_t>(r));
  }
  t->n_vocab = max_id + 1;
  return {};
}

// Ids as `tokenizers` assigns them: the vocabulary id of the same string if there is one, else the next
// free id after the vocabulary and the added tokens so far.
Status read_added(const json& j, const std::string& src, Tokenizer::Impl* t) {
  if (!j.contains("added_tokens") || j["added_tokens"].is_null()) return {};
  if (!j["added_tokens"].is_array()) return bad(src, "added_tokens must be an array");
  int32_t vocab_size = t->n_vocab;
  int32_t next = vocab_size;
  const json& vocab = j["model"]["vocab"];
  for (const json& a : j["added_tokens"]) {
    if (!a.is_object() || !a.contains("content") || !a["content"].is_string())
      return bad(src, "added_tokens entry without a string 'content'");
    AddedToken tok;
    tok.content = a["content"].get<std::string>();
    if (tok.content.empty()) return bad(src, "added_tokens entry with empty content");
    if (utf8::find_invalid(tok.content) != std::string_view::npos)
      return bad(src, "added token content is not valid UTF-8");
    tok.special = a.value("special", false);
    tok.lstrip = a.value("lstrip", false);
    tok.rstrip = a.value("rstrip", false);
    tok.single_word = a.value("single_word", false);
    auto v = vocab.find(tok.content);
    if (v != vocab.end()) {
      tok.id = v->get<int32_t>();
    } else {
      tok.id = next;
    }
    next = std::max(next, tok.id + 1);
    if (static_cast<size_t>(tok.id) >= t->bytes_of.size()) t->bytes_of.resize(static_cast<size_t>(tok.id) + 1);
    t->bytes_of[tok.id] = tok.content;
    t->id_of[tok.content] = tok.id;
    t->added.push_back(std::move(tok));
  }
  std::sort(t->added.begin(), t->added.end(), [](const AddedToken& a, const AddedToken& b) { return a.content < b.content; });
  t->n_vocab = static_cast<int32_t>(t->bytes_of.size());
  t->special.assign(t->bytes_of.size(), 0);
  for (const auto& a : t->added) {
    if (a.special) t->special[a.id] = 1;
    t->added_first_byte[static_cast<unsigned char>(a.content[0])] = true;
  }
  return {};
}

bool is_word_char(std::string_view text, size_t at_byte, bool before) {
  // The code point just before (or at) `at_byte`.
  size_t i = at_byte;
  if (before) {
    if (i == 0) return false;
    do { --i; } while (i > 0 && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80);
  } else if (i >= text.size()) {
    return false;
  }
  int len;
  int32_t cp = utf8::decode(text, i, &len);
  if (cp < 0) return false;
  return cp == '_' || (unicode::flags(static_cast<uint32_t>(cp)) & (unicode::kLetter | unicode::kNumber));
}

}  // namespace

int Tokenizer::Impl::find_added(std::string_view text, size_t from, bool specials, size_t* at) const {
  for (size_t i = from; i < text.size(); ++i) {
    if (!added_first_byte[static_cast<unsigned char>(text[i])]) continue;
    std::string_view rest = text.substr(i);
    // Longest added token that is a prefix of rest: scan the sorted range sharing the first byte.
    auto lo = std::lower_bound(added.begin(), added.end(), rest.substr(0, 1),
                               [](const AddedToken& a, std::string_view s) { return a.content < s; });
    int best = -1;
    for (auto it = lo; it != added.end() && it->content[0] == rest[0]; ++it) {
      if (!specials && it->special) continue;
      if (rest.compare(0, it->content.size(), it->content) != 0) continue;
      if (it->single_word && (is_word_char(text, i, true) || is_word_char(text, i + it->content.size(), false)))
        continue;
      if (best < 0 || it->content.size() > added[best].content.size()) best = int(it - added.begin());
    }
    if (best >= 0) {
      *at = i;
      return best;
    }
  }
  return -1;
}

Status Tokenizer::Impl::encode_plain(std::string_view text, std::vector<int32_t>* ids) const {
  if (text.empty()) return {};
  std::string normalized;
  if (nfc && unicode::nfc(text, &normalized)) text = normalized;
  thread_local std::vector<std::pair<uint32_t, uint32_t>> pieces;
  struct Cache {
    const Impl* owner = nullptr;
    std::unordered_map<std::string, std::vector<int32_t>> words;
  };
  thread_local Cache cache;
  if (cache.owner != this) {
    cache.owner = this;
    cache.words.clear();
  }
  pieces.clear();
  pre.split(text, &pieces);
  thread_local std::string key;
  for (const auto& [b, e] : pieces) {
    std::string_view piece = text.substr(b, e - b);
    if (piece.size() == 1) {
      ids->push_back(byte_ids[static_cast<unsigned char>(piece[0])]);
      continue;
    }
    if (piece.size() <= 64) {
      key.assign(piece);
      auto it = cache.words.find(key);
      if (it != cache.words.end()) {
        ids->insert(ids->end(), it->second.begin(), it->second.end());
        continue;
      }
      if (cache.words.size() > (1u << 17)) cache.words.clear();
      size_t start = ids->size();
      merges.merge(piece, byte_ids.data(), ids);
      cache.words.emplace(key, std::vector<int32_t>(ids->begin() + static_cast<ptrdiff_t>(start), ids->end()));
      continue;
    }
    merges.merge(piece, byte_ids.data(), ids);
  }
  return {};
}

Result<Tokenizer> Tokenizer::load(const std::string& path) {
  auto f = MappedFile::open(path);
  if (!f) return f.take_error();
  return from_json(std::string_view(reinterpret_cast<const char*>(f->data()), f->size()), path);
}

Result<Tokenizer> Tokenizer::from_json(std::string_view json_text, const std::string& source_name) {
  json j = json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad(source_name, "not valid JSON");
  if (!j.is_object()) return bad(source_name, "top level is not a JSON object");
  auto impl = std::make_shared<Impl>();
  impl->source = source_name;
  GLM_TRY(read_pipeline(j, source_name, impl.get()));
  GLM_TRY(read_model(j, source_name, impl.get()));
  GLM_TRY(read_added(j, source_name, impl.get()));
  if (impl->special.size() < impl->bytes_of.size()) impl->special.resize(impl->bytes_of.size(), 0);
  return Tokenizer(std::move(impl));
}

Status Tokenizer::encode_append(std::string_view text, Specials specials, std::vector<int32_t>* ids) const {
  if (size_t bad_at = utf8::find_invalid(text); bad_at != std::string_view::npos)
    return make_error(ErrorCode::invalid_argument, "text is not valid UTF-8 at byte " + std::to_string(bad_at));
  const Impl& t = *impl_;
  const bool match_special = specials == Specials::match;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t at = 0;
    int k = t.added.empty() ? -1 : t.find_added(text, pos, match_special, &at);
    if (k < 0) {
      GLM_TRY(t.encode_plain(text.substr(pos), ids));
      break;
    }
    const AddedToken& a = t.added[k];
    size_t seg_end = at, next = at + a.content.size();
    if (a.lstrip)
      while (seg_end > pos && unicode::flags(static_cast<unsigned char>(text[seg_end - 1])) & unicode::kSpace) --seg_end;
    if (a.rstrip)
      while (next < text.size() && unicode::flags(static_cast<unsigned char>(text[next])) & unicode::kSpace) ++next;
    GLM_TRY(t.encode_plain(text.substr(pos, seg_end - pos), ids));
    ids->push_back(a.id);
    pos = next;
  }
  return {};
}

Result<std::vector<int32_t>> Tokenizer::encode(std::string_view text, Specials specials) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  GLM_TRY(encode_append(text, specials, &ids));
  return ids;
}

Result<std::string> Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    int32_t id = ids[i];
    if (id < 0 || id >= impl_->n_vocab)
      return make_error(ErrorCode::invalid_argument, "token id " + std::to_string(id) + " at position " +
                                                         std::to_string(i) + " is outside [0, " +
                                                         std::to_string(impl_->n_vocab) + ")");
    out += impl_->bytes_of[id];
  }
  return out;
}

int32_t Tokenizer::n_vocab() const { return impl_->n_vocab; }

const std::string& Tokenizer::token_bytes(int32_t id) const {
  static const std::string empty;
  if (id < 0 || id >= impl_->n_vocab) return empty;
  return impl_->bytes_of[id];
}

std::optional<int32_t> Tokenizer::token_id(std::string_view bytes) const {
  auto it = impl_->id_of.find(std::string(bytes));
  if (it == impl_->id_of.end()) return std::nullopt;
  return it->second;
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < static_cast<int32_t>(impl_->special.size()) && impl_->special[id];
}

std::vector<int32_t> Tokenizer::special_ids() const {
  std::vector<int32_t> out;
  for (const auto& a : impl_->added)
    if (a.special) out.push_back(a.id);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace glm
