// grammars/regex.cpp — recursive-descent parser of the regex subset, straight to expressions.
#include "grammars/regex.h"

#include <algorithm>
#include <string>

#include "base/utf8.h"

namespace glm::grammar {

using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;

namespace {

Ranges normalize(Ranges r) {
  std::sort(r.begin(), r.end());
  Ranges out;
  for (auto x : r) {
    if (!out.empty() && x.first <= out.back().second + 1) out.back().second = std::max(out.back().second, x.second);
    else out.push_back(x);
  }
  return out;
}

Ranges complement(const Ranges& r) {
  Ranges out;
  uint32_t next = 0;
  for (auto x : normalize(r)) {
    if (x.first > next) out.push_back({next, x.first - 1});
    next = x.second + 1;
  }
  if (next <= 0x10FFFF) out.push_back({next, 0x10FFFF});
  return out;
}

const Ranges kDigit = {{'0', '9'}};
const Ranges kWord = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
const Ranges kSpace = {{9, 13}, {32, 32}, {0xA0, 0xA0}, {0x1680, 0x1680}, {0x2000, 0x200A}, {0x2028, 0x2029},
                       {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};
const Ranges kDot = {{0, 9}, {11, 12}, {14, 0x2027}, {0x202A, 0x10FFFF}};

struct RegexError {
  ErrorCode code;
  size_t pos;
  std::string message;
};

class RegexParser {
 public:
  RegexParser(ExprPool& pool, std::string_view s, RegexMode mode) : pool_(pool), s_(s), mode_(mode) {}

  ExprId top(bool search) {
    std::vector<ExprId> alts;
    for (;;) {
      bool start_anchor = false, end_anchor = false;
      if (peek() == '^') { start_anchor = true; ++p_; }
      ExprId body = sequence(&end_anchor);
      if (search) {
        ExprId any = pool_.star(any_char_expr(pool_, mode_));
        if (!start_anchor) body = pool_.seq(any, body);
        if (!end_anchor) body = pool_.seq(body, any);
      }
      alts.push_back(body);
      if (p_ >= s_.size()) break;
      if (s_[p_] == '|') { ++p_; continue; }
      if (s_[p_] == ')') fail(ErrorCode::syntax, "unbalanced ')'");
    }
    return pool_.alt(alts);
  }

 private:
  [[noreturn]] void fail(ErrorCode code, const std::string& m) const { throw RegexError{code, p_, m}; }
  char peek(size_t k = 0) const { return p_ + k < s_.size() ? s_[p_ + k] : '\0'; }
  bool at_end() const { return p_ >= s_.size(); }

  // A sequence up to '|' or ')' or the end. `end_anchor` (top level only) accepts a final '$'.
  ExprId sequence(bool* end_anchor) {
    std::vector<ExprId> items;
    while (!at_end() && peek() != '|' && peek() != ')') {
      if (peek() == '$') {
        ++p_;
        if (end_anchor && (at_end() || peek() == '|')) { *end_anchor = true; break; }
        fail(ErrorCode::unsupported, "'$' is supported only at the end of the pattern or of an alternative");
      }
      if (peek() == '^') fail(ErrorCode::unsupported, "'^' is supported only at the start of the pattern or of an alternative");
      ExprId a = atom();
      items.push_back(quantified(a));
    }
    return pool_.seq(items);
  }

  ExprId group() {
    ++p_;  // (
    if (peek() == '?') {
      if (peek(1) == ':') p_ += 2;
      else fail(ErrorCode::unsupported, "lookaround and named groups are not supported");
    }
    std::vector<ExprId> alts{sequence(nullptr)};
    while (peek() == '|') {
      ++p_;
      alts.push_back(sequence(nullptr));
    }
    if (peek() != ')') fail(ErrorCode::syntax, "missing ')'");
    ++p_;
    return pool_.alt(alts);
  }

  bool parse_count(uint32_t* v) {
    if (!(peek() >= '0' && peek() <= '9')) return false;
    uint64_t x = 0;
    while (peek() >= '0' && peek() <= '9') {
      x = x * 10 + (s_[p_++] - '0');
      if (x > 100000000) fail(ErrorCode::unsupported, "repetition count too large");
    }
    *v = static_cast<uint32_t>(x);
    return true;
  }

  ExprId quantified(ExprId a) {
    for (;;) {
      char c = peek();
      uint32_t lo = 0, hi = 0;
      if (c == '*') { ++p_; lo = 0; hi = kInf; }
      else if (c == '+') { ++p_; lo = 1; hi = kInf; }
      else if (c == '?') { ++p_; lo = 0; hi = 1; }
      else if (c == '{') {
        size_t save = p_;
        ++p_;
        if (!parse_count(&lo)) { p_ = save; return a; }  // a literal '{'
        if (peek() == ',') {
          ++p_;
          if (!parse_count(&hi)) hi = kInf;
        } else {
          hi = lo;
        }
        if (peek() != '}') { p_ = save; return a; }
        ++p_;
        if (hi < lo) fail(ErrorCode::syntax, "numbers out of order in {} quantifier");
      } else {
        return a;
      }
      if (peek() == '?') ++p_;  // lazy: same language
      if (peek() == '*' || peek() == '+' || peek() == '?' ) {
        if (peek() == '+') fail(ErrorCode::unsupported, "possessive quantifiers are not supported");
      }
      a = pool_.repeat(a, lo, hi);
    }
  }

  uint32_t hex(int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) {
      char c = peek();
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) fail(ErrorCode::syntax, "expected a hex digit");
      v = v * 16 + d;
      ++p_;
    }
    return v;
  }

  // An escape after '\'; returns a set of code points. in_class: \b is backspace.
  Ranges escape(bool in_class) {
    if (at_end()) fail(ErrorCode::syntax, "pattern ends with '\\'");
    char c = s_[p_++];
    switch (c) {
      case 'd': return kDigit;
      case 'D': return complement(kDigit);
      case 'w': return kWord;
      case 'W': return complement(kWord);
      case 's': return kSpace;
      case 'S': return complement(kSpace);
      case 't': return {{9, 9}};
      case 'n': return {{10, 10}};
      case 'v': return {{11, 11}};
      case 'f': return {{12, 12}};
      case 'r': return {{13, 13}};
      case '0': return {{0, 0}};
      case 'x': { uint32_t v = hex(2); return {{v, v}}; }
      case 'u': {
        uint32_t v;
        if (peek() == '{') {
          ++p_;
          v = 0;
          int n = 0;
          while (peek() != '}' && n < 7) { v = v * 16 + hex(1); ++n; }
          if (peek() != '}' || v > 0x10FFFF) fail(ErrorCode::syntax, "bad \\u{...} escape");
          ++p_;
        } else {
          v = hex(4);
        }
        if (v >= 0xD800 && v <= 0xDFFF) fail(ErrorCode::unsupported, "surrogate escapes are not supported");
        return {{v, v}};
      }
      case 'c': {
        char l = peek();
        if (!((l >= 'a' && l <= 'z') || (l >= 'A' && l <= 'Z'))) fail(ErrorCode::syntax, "bad \\c escape");
        ++p_;
        uint32_t v = static_cast<uint32_t>(l) % 32;
        return {{v, v}};
      }
      case 'b':
        if (in_class) return {{8, 8}};
        --p_;
        fail(ErrorCode::unsupported, "word boundaries (\\b) are not supported");
      case 'B': --p_; fail(ErrorCode::unsupported, "word boundaries (\\B) are not supported");
      case 'p':
      case 'P': --p_; fail(ErrorCode::unsupported, "Unicode property escapes (\\p{...}) are not supported");
      case 'k': --p_; fail(ErrorCode::unsupported, "named backreferences are not supported");
      default:
        if (c >= '1' && c <= '9') { --p_; fail(ErrorCode::unsupported, "backreferences are not supported"); }
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) { --p_; fail(ErrorCode::syntax, std::string("unknown escape '\\") + c + "'"); }
        {
          --p_;
          int len = 0;
          int32_t cp = utf8::decode(s_, p_, &len);
          if (cp < 0) fail(ErrorCode::syntax, "invalid UTF-8");
          p_ += len;
          return {{static_cast<uint32_t>(cp), static_cast<uint32_t>(cp)}};
        }
    }
  }

  uint32_t literal_cp() {
    int len = 0;
    int32_t cp = utf8::decode(s_, p_, &len);
    if (cp < 0) fail(ErrorCode::syntax, "invalid UTF-8");
    p_ += len;
    return static_cast<uint32_t>(cp);
  }

  ExprId char_class() {
    ++p_;  // [
    bool negate = false;
    if (peek() == '^') { negate = true; ++p_; }
    Ranges set;
    bool first = true;
    while (!at_end() && (peek() != ']' || false)) {
      if (peek() == ']' && !first) break;
      if (peek() == ']' && first) break;  // ECMAScript: [] is the empty class
      first = false;
      Ranges lo_set;
      if (peek() == '\\') { ++p_; lo_set = escape(true); }
      else lo_set = {{literal_cp(), 0}}, lo_set[0].second = lo_set[0].first;
      if (peek() == '-' && peek(1) != ']' && p_ + 1 < s_.size() && lo_set.size() == 1 && lo_set[0].first == lo_set[0].second) {
        ++p_;
        Ranges hi_set;
        if (peek() == '\\') { ++p_; hi_set = escape(true); }
        else hi_set = {{literal_cp(), 0}}, hi_set[0].second = hi_set[0].first;
        if (hi_set.size() != 1 || hi_set[0].first != hi_set[0].second) fail(ErrorCode::syntax, "bad class range");
        if (hi_set[0].first < lo_set[0].first) fail(ErrorCode::syntax, "class range out of order");
        set.push_back({lo_set[0].first, hi_set[0].first});
      } else {
        set.insert(set.end(), lo_set.begin(), lo_set.end());
      }
    }
    if (at_end()) fail(ErrorCode::syntax, "missing ']'");
    ++p_;
    set = normalize(set);
    if (negate) set = complement(set);
    return char_set_expr(pool_, set, mode_);
  }

  ExprId atom() {
    char c = peek();
    switch (c) {
      case '(': return group();
      case '[': return char_class();
      case '.': ++p_; return char_set_expr(pool_, kDot, mode_);
      case '\\': ++p_; return char_set_expr(pool_, normalize(escape(false)), mode_);
      case '*': case '+': case '?': fail(ErrorCode::syntax, "nothing to repeat");
      default: {
        uint32_t cp = literal_cp();
        return char_set_expr(pool_, {{cp, cp}}, mode_);
      }
    }
  }

  ExprPool& pool_;
  std::string_view s_;
  RegexMode mode_;
  size_t p_ = 0;
};

}  // namespace

std::string json_char_bytes(uint32_t cp) {
  std::string out;
  switch (cp) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default: break;
  }
  if (cp < 0x20) {
    static const char* hex = "0123456789abcdef";
    out = "\\u00";
    out.push_back(hex[cp >> 4]);
    out.push_back(hex[cp & 15]);
    return out;
  }
  utf8::append(out, cp);
  return out;
}

ExprId char_set_expr(ExprPool& pool, const Ranges& ranges, RegexMode mode) {
  if (mode == RegexMode::raw_utf8) return pool.code_point_set(ranges);
  std::vector<ExprId> parts;
  Ranges plain;
  for (auto [lo, hi] : ranges) {
    for (uint32_t c = lo; c <= std::min<uint32_t>(hi, 0x5C); ++c)
      if (c < 0x20 || c == '"' || c == '\\') parts.push_back(pool.literal(json_char_bytes(c)));
    // Split [lo, hi] around the escaped code points.
    uint32_t a = lo;
    auto emit = [&](uint32_t x, uint32_t y) { if (x <= y) plain.push_back({x, y}); };
    if (a < 0x20) a = 0x20;
    if (a > hi) continue;
    if (a <= 0x22 && hi >= 0x22) { emit(a, 0x21); a = 0x23; }
    if (a <= 0x5C && hi >= 0x5C) { emit(a, 0x5B); a = 0x5D; }
    emit(a, hi);
  }
  parts.push_back(pool.code_point_set(plain));
  return pool.alt(parts);
}

ExprId any_char_expr(ExprPool& pool, RegexMode mode) { return char_set_expr(pool, {{0, 0x10FFFF}}, mode); }

Result<ExprId> regex_to_expr(ExprPool& pool, std::string_view pattern, RegexMode mode, bool search) {
  try {
    RegexParser p(pool, pattern, mode);
    return p.top(search);
  } catch (const RegexError& e) {
    return make_error(e.code, "regex /" + std::string(pattern) + "/ at column " + std::to_string(e.pos + 1) + ": " + e.message);
  }
}

}  // namespace glm::grammar
