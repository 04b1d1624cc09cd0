// grammars/gbnf_parser.cpp — recursive-descent parser of llama.cpp's GBNF.
#include "grammars/gbnf_parser.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "base/utf8.h"

namespace glm::grammar {

namespace {

struct ParseError {
  size_t pos;
  std::string message;
};

class GbnfParser {
 public:
  explicit GbnfParser(std::string_view text) : s_(text) {}

  Result<Grammar> run(std::string_view root_name) {
    try {
      skip_space(true);
      while (p_ < s_.size()) {
        parse_rule();
        skip_space(true);
      }
    } catch (const ParseError& e) {
      return make_error(ErrorCode::syntax, where(e.pos) + e.message);
    }
    for (const auto& [name, info] : rules_)
      if (!info.defined) return make_error(ErrorCode::syntax, where(info.first_use) + "undefined rule '" + name + "'");
    auto it = rules_.find(std::string(root_name));
    if (it == rules_.end())
      return make_error(ErrorCode::syntax, "1:1: grammar has no rule named '" + std::string(root_name) + "'");
    g_.root = it->second.id;
    return std::move(g_);
  }

 private:
  struct RuleInfo {
    uint32_t id;
    bool defined = false;
    size_t first_use = 0;
  };

  std::string where(size_t pos) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && i < s_.size(); ++i) {
      if (s_[i] == '\n') { ++line; col = 1; } else { ++col; }
    }
    return std::to_string(line) + ":" + std::to_string(col) + ": ";
  }
  [[noreturn]] void fail(const std::string& m) const { throw ParseError{p_, m}; }
  [[noreturn]] void fail_at(size_t pos, const std::string& m) const { throw ParseError{pos, m}; }
  bool at_end() const { return p_ >= s_.size(); }
  char peek(size_t k = 0) const { return p_ + k < s_.size() ? s_[p_ + k] : '\0'; }

  void skip_space(bool newline_ok) {
    while (p_ < s_.size()) {
      char c = s_[p_];
      if (c == ' ' || c == '\t') { ++p_; continue; }
      if (c == '#') {
        while (p_ < s_.size() && s_[p_] != '\n') ++p_;
        continue;
      }
      if (newline_ok && (c == '\n' || c == '\r')) { ++p_; continue; }
      break;
    }
  }
  static bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  }
  std::string parse_name() {
    size_t start = p_;
    while (p_ < s_.size() && is_name_char(s_[p_])) ++p_;
    if (p_ == start) fail("expected a rule name");
    return std::string(s_.substr(start, p_ - start));
  }
  uint32_t rule_id(const std::string& name, size_t use_pos) {
    auto it = rules_.find(name);
    if (it != rules_.end()) return it->second.id;
    RuleInfo info{g_.add_rule(name), false, use_pos};
    rules_.emplace(name, info);
    return info.id;
  }

  void parse_rule() {
    size_t name_pos = p_;
    std::string name = parse_name();
    skip_space(false);
    if (s_.substr(p_, 3) != "::=") fail("expected '::=' after rule name '" + name + "'");
    p_ += 3;
    skip_space(true);
    ExprId body = parse_alternates(false);
    uint32_t id = rule_id(name, name_pos);
    RuleInfo& info = rules_[name];
    if (info.defined) fail_at(name_pos, "rule '" + name + "' is defined twice");
    info.defined = true;
    g_.rules[id].body = body;
    if (p_ < s_.size()) {
      if (s_[p_] == '\r') ++p_;
      if (p_ < s_.size() && s_[p_] == '\n') ++p_;
      else if (p_ < s_.size()) fail("expected end of line after rule '" + name + "'");
    }
  }

  ExprId parse_alternates(bool nested) {
    std::vector<ExprId> alts{parse_sequence(nested)};
    while (peek() == '|') {
      ++p_;
      skip_space(true);
      alts.push_back(parse_sequence(nested));
    }
    return g_.pool.alt(alts);
  }

  ExprId parse_sequence(bool nested) {
    std::vector<ExprId> items;
    for (;;) {
      char c = peek();
      if (at_end() || c == '|' || c == ')' || c == '\n' || c == '\r') break;
      size_t start = p_;
      ExprId e;
      if (c == '"') {
        e = parse_literal();
      } else if (c == '[') {
        e = parse_class();
      } else if (c == '.') {
        ++p_;
        e = g_.pool.code_points(0, 0x10FFFF);
      } else if (c == '(') {
        ++p_;
        skip_space(true);
        e = parse_alternates(true);
        if (peek() != ')') fail("expected ')'");
        ++p_;
      } else if (c == '<') {
        e = parse_token();
      } else if (c == '!') {
        fail("negated token terminals (!<...>) are not supported");
      } else if (is_name_char(c)) {
        std::string name = parse_name();
        e = g_.pool.call(rule_id(name, start));
      } else {
        fail(std::string("unexpected character '") + c + "'");
      }
      skip_space(nested);
      e = parse_postfix(e, nested);
      items.push_back(e);
    }
    return g_.pool.seq(items);
  }

  ExprId parse_postfix(ExprId e, bool nested) {
    for (;;) {
      char c = peek();
      if (c == '*') { ++p_; e = g_.pool.star(e); }
      else if (c == '+') { ++p_; e = g_.pool.plus(e); }
      else if (c == '?') { ++p_; e = g_.pool.opt(e); }
      else if (c == '{') {
        ++p_;
        skip_space(false);
        uint32_t lo = 0, hi;
        bool has_lo = false;
        if (peek() >= '0' && peek() <= '9') { lo = parse_int(); has_lo = true; }
        skip_space(false);
        if (peek() == ',') {
          ++p_;
          skip_space(false);
          if (peek() >= '0' && peek() <= '9') hi = parse_int();
          else hi = kInf;
        } else {
          if (!has_lo) fail("expected a number in '{m,n}'");
          hi = lo;
        }
        skip_space(false);
        if (peek() != '}') fail("expected '}'");
        ++p_;
        if (hi != kInf && hi < lo) fail("repetition {m,n} with n < m");
        e = g_.pool.repeat(e, lo, hi);
      } else {
        return e;
      }
      skip_space(nested);
    }
  }

  uint32_t parse_int() {
    uint64_t v = 0;
    size_t start = p_;
    while (peek() >= '0' && peek() <= '9') {
      v = v * 10 + (s_[p_++] - '0');
      if (v > 1000000000) fail_at(start, "repetition count too large");
    }
    return static_cast<uint32_t>(v);
  }

  uint32_t parse_hex(int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) {
      char c = peek();
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) fail("expected a hex digit");
      v = v * 16 + d;
      ++p_;
    }
    return v;
  }

  // One character (code point) of a literal or class; `raw_byte` is set for \xHH (a byte, not a code point).
  uint32_t parse_char(bool* raw_byte) {
    *raw_byte = false;
    if (at_end()) fail("unexpected end of text");
    if (s_[p_] == '\\') {
      ++p_;
      char c = peek();
      ++p_;
      switch (c) {
        case 'n': return '\n';
        case 'r': return '\r';
        case 't': return '\t';
        case '\\': return '\\';
        case '"': return '"';
        case '[': return '[';
        case ']': return ']';
        case '-': return '-';
        case '^': return '^';
        case 'x': { *raw_byte = false; return parse_hex(2); }
        case 'u': return parse_hex(4);
        case 'U': return parse_hex(8);
        default: --p_; fail(std::string("unknown escape '\\") + c + "'");
      }
    }
    int len = 0;
    int32_t cp = utf8::decode(s_, p_, &len);
    if (cp < 0) fail("invalid UTF-8");
    p_ += len;
    return static_cast<uint32_t>(cp);
  }

  ExprId parse_literal() {
    ++p_;  // "
    std::string bytes;
    while (!at_end() && s_[p_] != '"') {
      if (s_[p_] == '\n') fail("newline in a string literal");
      bool raw = false;
      uint32_t cp = parse_char(&raw);
      if (cp > 0x10FFFF) fail("code point out of range");
      utf8::append(bytes, cp);
    }
    if (at_end()) fail("unterminated string literal");
    ++p_;
    return g_.pool.literal(bytes);
  }

  ExprId parse_class() {
    ++p_;  // [
    bool negate = false;
    if (peek() == '^') { negate = true; ++p_; }
    std::vector<std::pair<uint32_t, uint32_t>> ranges;
    while (!at_end() && s_[p_] != ']') {
      if (s_[p_] == '\n') fail("newline in a character class");
      bool raw = false;
      uint32_t lo = parse_char(&raw), hi = lo;
      if (peek() == '-' && peek(1) != ']' && p_ + 1 < s_.size()) {
        ++p_;
        hi = parse_char(&raw);
        if (hi < lo) fail("character range out of order");
      }
      ranges.push_back({lo, std::min<uint32_t>(hi, 0x10FFFF)});
    }
    if (at_end()) fail("unterminated character class");
    ++p_;
    std::sort(ranges.begin(), ranges.end());
    std::vector<std::pair<uint32_t, uint32_t>> merged;
    for (auto r : ranges) {
      if (!merged.empty() && r.first <= merged.back().second + 1) merged.back().second = std::max(merged.back().second, r.second);
      else merged.push_back(r);
    }
    if (negate) {
      std::vector<std::pair<uint32_t, uint32_t>> inv;
      uint32_t next = 0;
      for (auto r : merged) {
        if (r.first > next) inv.push_back({next, r.first - 1});
        next = r.second + 1;
      }
      if (next <= 0x10FFFF) inv.push_back({next, 0x10FFFF});
      merged = inv;
    }
    return g_.pool.code_point_set(merged);
  }

  ExprId parse_token() {
    size_t start = p_;
    ++p_;  // <
    if (peek() == '[') {
      ++p_;
      if (!(peek() >= '0' && peek() <= '9')) fail("expected a token id in <[id]>");
      uint64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        v = v * 10 + (s_[p_++] - '0');
        if (v >= kNamedTokenBase) fail_at(start, "token id too large");
      }
      if (peek() != ']' || peek(1) != '>') fail("expected ']>'");
      p_ += 2;
      return g_.pool.token(static_cast<uint32_t>(v));
    }
    size_t close = s_.find('>', p_);
    size_t nl = s_.find('\n', p_);
    if (close == std::string_view::npos || (nl != std::string_view::npos && nl < close))
      fail_at(start, "unterminated token terminal '<...>'");
    std::string spelling = "<" + std::string(s_.substr(p_, close - p_)) + ">";
    p_ = close + 1;
    return g_.named_token(spelling);
  }

  std::string_view s_;
  size_t p_ = 0;
  Grammar g_;
  std::map<std::string, RuleInfo> rules_;
};

}  // namespace

Result<Grammar> parse_gbnf(std::string_view text, std::string_view root_name) {
  return GbnfParser(text).run(root_name);
}

}  // namespace glm::grammar
