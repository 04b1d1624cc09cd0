#include "runtime/config/jsonc.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <vector>
#include <cstdlib>

#include "base/utf8.h"

namespace glm::config {

namespace {

using ojson = nlohmann::ordered_json;

constexpr int kMaxDepth = 128;

class Parser {
 public:
  Parser(std::string_view s, JsoncDocument* doc) : s_(s), doc_(doc) {
    line_starts_.push_back(0);
    for (size_t k = 0; k < s.size(); ++k)
      if (s[k] == '\n') line_starts_.push_back(k + 1);
  }

  Status parse() {
    skip();
    GLM_TRY(value(doc_->value, "", 0));
    skip();
    if (i_ < s_.size()) return err("unexpected text after the JSON value");
    return {};
  }

  SourcePos pos() const { return pos_of(i_); }

 private:
  SourcePos pos_of(size_t at) const {
    // Line by binary search over line starts; column in code points from the line start.
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), at);
    size_t line = static_cast<size_t>(it - line_starts_.begin());
    SourcePos p{static_cast<int>(line), 1};
    for (size_t k = line_starts_[line - 1]; k < at && k < s_.size(); ++k)
      if ((static_cast<unsigned char>(s_[k]) & 0xC0) != 0x80) ++p.col;
    return p;
  }

  Error err(const std::string& msg) const {
    SourcePos p = pos();
    return make_error(ErrorCode::syntax, std::to_string(p.line) + ":" + std::to_string(p.col) + ": " + msg);
  }

  void skip() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') { ++i_; continue; }
      if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '/') {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
        continue;
      }
      if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '*') {
        size_t end = s_.find("*/", i_ + 2);
        if (end == std::string_view::npos) { unterminated_comment_ = true; i_ = s_.size(); return; }
        i_ = end + 2;
        continue;
      }
      break;
    }
  }

  Status value(ojson& out, const std::string& ptr, int depth) {
    if (unterminated_comment_) return err("unterminated /* comment");
    if (depth > kMaxDepth) return err("nesting deeper than 128 levels");
    if (i_ >= s_.size()) return err("unexpected end of input, expected a value");
    doc_->positions[ptr] = pos();
    char c = s_[i_];
    if (c == '{') return object(out, ptr, depth);
    if (c == '[') return array(out, ptr, depth);
    if (c == '"') {
      std::string str;
      GLM_TRY(string(str));
      out = std::move(str);
      return {};
    }
    if (c == 't' && s_.substr(i_, 4) == "true") { i_ += 4; out = true; return {}; }
    if (c == 'f' && s_.substr(i_, 5) == "false") { i_ += 5; out = false; return {}; }
    if (c == 'n' && s_.substr(i_, 4) == "null") { i_ += 4; out = nullptr; return {}; }
    if (c == '-' || (c >= '0' && c <= '9')) return number(out);
    return err(std::string("unexpected character '") + c + "', expected a value");
  }

  Status object(ojson& out, const std::string& ptr, int depth) {
    out = ojson::object();
    ++i_;
    skip();
    if (i_ < s_.size() && s_[i_] == '}') { ++i_; return {}; }
    while (true) {
      skip();
      if (i_ < s_.size() && s_[i_] == '}') { ++i_; return {}; }  // trailing comma
      if (i_ >= s_.size() || s_[i_] != '"') return err("expected a quoted key");
      SourcePos key_pos = pos();
      std::string key;
      GLM_TRY(string(key));
      std::string child = ptr + "/" + pointer_escape(key);
      if (out.contains(key)) return err("duplicate key \"" + key + "\"");
      doc_->positions[child + "#key"] = key_pos;
      skip();
      if (i_ >= s_.size() || s_[i_] != ':') return err("expected ':' after key \"" + key + "\"");
      ++i_;
      skip();
      ojson v;
      GLM_TRY(value(v, child, depth + 1));
      out[key] = std::move(v);
      skip();
      if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
      if (i_ < s_.size() && s_[i_] == '}') { ++i_; return {}; }
      return err("expected ',' or '}' in object");
    }
  }

  Status array(ojson& out, const std::string& ptr, int depth) {
    out = ojson::array();
    ++i_;
    skip();
    if (i_ < s_.size() && s_[i_] == ']') { ++i_; return {}; }
    while (true) {
      skip();
      if (i_ < s_.size() && s_[i_] == ']') { ++i_; return {}; }  // trailing comma
      ojson v;
      GLM_TRY(value(v, ptr + "/" + std::to_string(out.size()), depth + 1));
      out.push_back(std::move(v));
      skip();
      if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
      if (i_ < s_.size() && s_[i_] == ']') { ++i_; return {}; }
      return err("expected ',' or ']' in array");
    }
  }

  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  Status u4(uint32_t* cp) {
    if (i_ + 4 > s_.size()) return err("truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      int h = hex(s_[i_ + k]);
      if (h < 0) return err("bad \\u escape");
      v = v * 16 + static_cast<uint32_t>(h);
    }
    i_ += 4;
    *cp = v;
    return {};
  }

  Status string(std::string& out) {
    ++i_;  // opening quote
    while (true) {
      if (i_ >= s_.size()) return err("unterminated string");
      char c = s_[i_];
      if (c == '"') { ++i_; return {}; }
      if (static_cast<unsigned char>(c) < 0x20) return err("control character in string (use \\n, \\t)");
      if (c != '\\') {
        int len;
        if (utf8::decode(s_, i_, &len) < 0) return err("invalid UTF-8 in string");
        out.append(s_.data() + i_, static_cast<size_t>(len));
        i_ += static_cast<size_t>(len);
        continue;
      }
      if (++i_ >= s_.size()) return err("unterminated escape");
      char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp;
          GLM_TRY(u4(&cp));
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (s_.substr(i_, 2) != "\\u") return err("unpaired surrogate in \\u escape");
            i_ += 2;
            GLM_TRY(u4(&lo));
            if (lo < 0xDC00 || lo > 0xDFFF) return err("unpaired surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return err("unpaired surrogate in \\u escape");
          }
          utf8::append(out, cp);
          break;
        }
        default: return err(std::string("unknown escape \\") + e);
      }
    }
  }

  Status number(ojson& out) {
    size_t start = i_;
    if (s_[i_] == '-') ++i_;
    if (i_ >= s_.size() || !(s_[i_] >= '0' && s_[i_] <= '9')) return err("bad number");
    if (s_[i_] == '0') ++i_;
    else while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    bool is_float = false;
    if (i_ < s_.size() && s_[i_] == '.') {
      is_float = true;
      ++i_;
      if (i_ >= s_.size() || !(s_[i_] >= '0' && s_[i_] <= '9')) return err("bad number: digits expected after '.'");
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      is_float = true;
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (i_ >= s_.size() || !(s_[i_] >= '0' && s_[i_] <= '9')) return err("bad number: exponent digits expected");
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    }
    std::string text(s_.substr(start, i_ - start));
    if (!is_float) {
      errno = 0;
      long long v = std::strtoll(text.c_str(), nullptr, 10);
      if (errno != ERANGE) { out = v; return {}; }
    }
    double d = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(d)) return err("number out of range");
    out = d;
    return {};
  }

  std::string_view s_;
  JsoncDocument* doc_;
  size_t i_ = 0;
  std::vector<size_t> line_starts_;
  bool unterminated_comment_ = false;
};

}  // namespace

SourcePos JsoncDocument::at(const std::string& pointer) const {
  std::string p = pointer;
  while (true) {
    auto it = positions.find(p);
    if (it != positions.end()) return it->second;
    if (p.empty()) return SourcePos{1, 1};
    auto slash = p.rfind('/');
    p = slash == std::string::npos ? "" : p.substr(0, slash);
  }
}

std::string pointer_escape(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

Result<JsoncDocument> parse_jsonc(std::string_view text, SourcePos* error_at) {
  JsoncDocument doc;
  Parser p(text, &doc);
  auto st = p.parse();
  if (!st) {
    if (error_at) *error_at = p.pos();
    return st.take_error();
  }
  return doc;
}

}  // namespace glm::config
