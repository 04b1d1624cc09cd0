#include "tools/lua/patterns.h"

#include <cstring>

#include <lua.hpp>

#include "tools/lua/context.h"
#include "tools/lua/regex.h"

namespace glm::tools::lua {

namespace {

constexpr size_t kLuaPatternMax = 4096;
constexpr int kDeadlineStride = 1024;

// ---- Translation ---------------------------------------------------------------------------------------

void add_byte(std::string& out, unsigned char ch) {
  if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) {
    out += static_cast<char>(ch);
  } else {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x{%02x}", ch);
    out += buf;
  }
}

// The POSIX class for a Lua %-class letter, or nullptr for a letter that is no class (then it is literal).
const char* class_name(char c) {
  switch (c | 0x20) {
    case 'a': return "alpha";
    case 'c': return "cntrl";
    case 'd': return "digit";
    case 'g': return "graph";
    case 'l': return "lower";
    case 'p': return "punct";
    case 's': return "space";
    case 'u': return "upper";
    case 'w': return "alnum";
    case 'x': return "xdigit";
    default: return nullptr;
  }
}

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

// Appends "[:alpha:]" or "[:^alpha:]" (inside a set) for %a / %A; returns false if c is no class letter.
bool add_class_body(std::string& out, char c) {
  const char* name = class_name(c);
  if (!name || !((c >= 'a' && c <= 'z') || is_upper(c))) return false;
  out += is_upper(c) ? "[:^" : "[:";
  out += name;
  out += ":]";
  return true;
}

// A set [...] starting at p[i] == '['; on success i is past the closing ']'.
bool translate_set(const char* p, size_t n, size_t& i, std::string& out, std::string& error) {
  size_t j = i + 1;
  bool negate = j < n && p[j] == '^';
  if (negate) ++j;
  // Find the end as Lua does: the first character is never the closing bracket.
  size_t end = j;
  do {
    if (end >= n) {
      error = "malformed pattern (missing ']')";
      return false;
    }
    char c = p[end++];
    if (c == '%') {
      if (end >= n) {
        error = "malformed pattern (missing ']')";
        return false;
      }
      ++end;
    }
  } while (end >= n || p[end] != ']');
  std::string body;
  int items = 0;
  for (size_t k = j; k < end;) {
    if (p[k] == '%') {
      if (!add_class_body(body, p[k + 1])) add_byte(body, static_cast<unsigned char>(p[k + 1]));
      k += 2;
      ++items;
    } else if (k + 2 < end && p[k + 1] == '-') {
      auto lo = static_cast<unsigned char>(p[k]), hi = static_cast<unsigned char>(p[k + 2]);
      if (lo <= hi) {  // an inverted range matches nothing in Lua
        add_byte(body, lo);
        body += '-';
        add_byte(body, hi);
        ++items;
      }
      k += 3;
    } else {
      add_byte(body, static_cast<unsigned char>(p[k]));
      ++k;
      ++items;
    }
  }
  if (items == 0) out += negate ? "[\\x{00}-\\x{ff}]" : "[^\\x{00}-\\x{ff}]";
  else out += (negate ? "[^" : "[") + body + "]";
  i = end + 1;
  return true;
}

}  // namespace

bool translate_lua_pattern(const char* p, size_t n, std::string& out, uint32_t& position_captures, int& n_groups,
                           std::string& error) {
  out.clear();
  position_captures = 0;
  n_groups = 0;
  int open = 0;
  size_t i = 0;
  while (i < n) {
    char c = p[i];
    if (c == '(') {
      if (n_groups >= kRegexMaxGroups) {
        error = "too many captures";
        return false;
      }
      if (i + 1 < n && p[i + 1] == ')') {
        position_captures |= 1u << n_groups;
        ++n_groups;
        out += "()";
        i += 2;
      } else {
        ++n_groups;
        ++open;
        out += '(';
        ++i;
      }
      continue;
    }
    if (c == ')') {
      if (open == 0) {
        error = "invalid pattern capture";
        return false;
      }
      --open;
      out += ')';
      ++i;
      continue;
    }
    if (c == '$' && i + 1 == n) {
      out += "\\z";
      ++i;
      continue;
    }
    // One single-character class.
    if (c == '%') {
      if (i + 1 >= n) {
        error = "malformed pattern (ends with '%')";
        return false;
      }
      char d = p[i + 1];
      if (d == 'b' || d == 'f') {
        error = std::string("%") + d + " is not supported in the sandbox";
        return false;
      }
      if (d >= '0' && d <= '9') {
        error = "back-references (%0-%9) are not supported in the sandbox";
        return false;
      }
      std::string cls;
      if (add_class_body(cls, d)) out += "[" + cls + "]";
      else add_byte(out, static_cast<unsigned char>(d));
      i += 2;
    } else if (c == '[') {
      if (!translate_set(p, n, i, out, error)) return false;
    } else if (c == '.') {
      out += '.';
      ++i;
    } else {
      add_byte(out, static_cast<unsigned char>(c));
      ++i;
    }
    if (i < n) {
      switch (p[i]) {
        case '*': out += '*'; ++i; break;
        case '+': out += '+'; ++i; break;
        case '-': out += "*?"; ++i; break;
        case '?': out += '?'; ++i; break;
        default: break;
      }
    }
  }
  if (open != 0) {
    error = "unfinished capture";
    return false;
  }
  return true;
}

namespace {

struct Pattern {
  const re2::RE2* re = nullptr;  // nullptr: a literal (memmem) search
  bool anchor = false;
  uint32_t position_captures = 0;
  int groups = 0;
};

bool has_magic(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != '\0' && std::strchr("^$*+?.([%-", p[i]) != nullptr) return true;
  return false;
}

// C++ side of pattern preparation: nothing here raises; the reason goes to c.scratch.
bool prepare(LuaCallContext& c, const char* p, size_t n, bool allow_anchor, Pattern& out) {
  out = Pattern{};
  if (allow_anchor && n > 0 && p[0] == '^') {
    out.anchor = true;
    ++p;
    --n;
  }
  if (n > kLuaPatternMax) {
    c.scratch = "pattern longer than " + std::to_string(kLuaPatternMax) + " bytes";
    return false;
  }
  std::string text, error;
  if (!translate_lua_pattern(p, n, text, out.position_captures, out.groups, error)) {
    c.scratch = std::move(error);
    return false;
  }
  out.re = regex_compile(c, text, RegexSyntax::lua_bytes);
  return out.re != nullptr;
}

Pattern check_pattern(lua_State* L, const char* p, size_t n, bool allow_anchor, const char* fn) {
  LuaCallContext& c = ctx_of(L);
  Pattern pat;
  if (!prepare(c, p, n, allow_anchor, pat)) {
    bool unsupported = c.scratch.find("not supported") != std::string::npos;
    raise_error(L, unsupported ? ErrorCode::forbidden : ErrorCode::runtime, "string.%s: %s", fn, c.scratch.c_str());
  }
  return pat;
}

// Relative string position as the string library reads it: negative counts from the end; clamps to 1.
size_t start_index(lua_Integer pos, size_t len) {
  if (pos > 0) return static_cast<size_t>(pos);
  if (pos == 0) return 1;
  if (pos < -static_cast<lua_Integer>(len)) return 1;
  return len + static_cast<size_t>(pos) + 1;
}

const char* find_literal(const char* s, size_t ls, size_t from, const char* p, size_t lp) {
  if (from > ls) return nullptr;
  if (lp == 0) return s + from;
  return static_cast<const char*>(memmem(s + from, ls - from, p, lp));
}

// Pushes capture i (0: the whole match when there are no groups) of a match in s.
void push_capture(lua_State* L, const Pattern& pat, const char* s, const re2::StringPiece* m, int i) {
  if (pat.groups == 0 || i == 0) {
    lua_pushlstring(L, m[0].data(), m[0].size());
  } else if (pat.position_captures & (1u << (i - 1))) {
    lua_pushinteger(L, static_cast<lua_Integer>(m[i].data() - s) + 1);
  } else if (m[i].data() == nullptr) {
    luaL_pushfail(L);
  } else {
    lua_pushlstring(L, m[i].data(), m[i].size());
  }
}

// Pushes all captures (or the whole match); returns how many.
int push_captures(lua_State* L, const Pattern& pat, const char* s, const re2::StringPiece* m) {
  if (pat.groups == 0) {
    push_capture(L, pat, s, m, 0);
    return 1;
  }
  luaL_checkstack(L, pat.groups, "too many captures");
  for (int i = 1; i <= pat.groups; ++i) push_capture(L, pat, s, m, i);
  return pat.groups;
}

int find_or_match(lua_State* L, bool find) {
  size_t ls = 0, lp = 0;
  const char* s = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  size_t init = start_index(luaL_optinteger(L, 3, 1), ls);
  if (init > ls + 1) {
    luaL_pushfail(L);
    return 1;
  }
  if ((find && lua_toboolean(L, 4)) || !has_magic(p, lp)) {
    const char* hit = find_literal(s, ls, init - 1, p, lp);
    if (hit == nullptr) {
      luaL_pushfail(L);
      return 1;
    }
    if (!find) {
      lua_pushlstring(L, hit, lp);
      return 1;
    }
    lua_pushinteger(L, static_cast<lua_Integer>(hit - s) + 1);
    lua_pushinteger(L, static_cast<lua_Integer>(hit - s + lp));
    return 2;
  }
  Pattern pat = check_pattern(L, p, lp, true, find ? "find" : "match");
  re2::StringPiece m[kRegexMaxGroups + 1];
  if (!regex_search(L, *pat.re, s, ls, init - 1, pat.anchor, m, pat.groups + 1)) {
    luaL_pushfail(L);
    return 1;
  }
  if (!find) return push_captures(L, pat, s, m);
  lua_pushinteger(L, static_cast<lua_Integer>(m[0].data() - s) + 1);
  lua_pushinteger(L, static_cast<lua_Integer>(m[0].data() - s + m[0].size()));
  if (pat.groups == 0) return 2;
  return 2 + push_captures(L, pat, s, m);
}

int sb_find(lua_State* L) { return find_or_match(L, true); }
int sb_match(lua_State* L) { return find_or_match(L, false); }

// gmatch iterator. Upvalues: subject, pattern, next offset (0-based), end of the last match (-1: none).
int gmatch_step(lua_State* L) {
  size_t ls = 0, lp = 0;
  const char* s = lua_tolstring(L, lua_upvalueindex(1), &ls);
  const char* p = lua_tolstring(L, lua_upvalueindex(2), &lp);
  auto from = static_cast<size_t>(lua_tointeger(L, lua_upvalueindex(3)));
  lua_Integer last = lua_tointeger(L, lua_upvalueindex(4));
  Pattern pat;
  if (has_magic(p, lp)) pat = check_pattern(L, p, lp, false, "gmatch");  // '^' is literal in gmatch
  re2::StringPiece m[kRegexMaxGroups + 1];
  for (;;) {
    if (from > ls) return 0;
    size_t at = 0, len = 0;
    if (pat.re == nullptr) {
      const char* hit = find_literal(s, ls, from, p, lp);
      if (hit == nullptr) return 0;
      at = static_cast<size_t>(hit - s);
      len = lp;
      m[0] = re2::StringPiece(hit, lp);
    } else {
      if (!regex_search(L, *pat.re, s, ls, from, false, m, pat.groups + 1)) return 0;
      at = static_cast<size_t>(m[0].data() - s);
      len = m[0].size();
    }
    if (static_cast<lua_Integer>(at + len) == last) {  // no second match ending where the last one ended
      from = at + 1;
      continue;
    }
    lua_pushinteger(L, static_cast<lua_Integer>(at + len));
    lua_replace(L, lua_upvalueindex(3));
    lua_pushinteger(L, static_cast<lua_Integer>(at + len));
    lua_replace(L, lua_upvalueindex(4));
    return push_captures(L, pat, s, m);
  }
}

int sb_gmatch(lua_State* L) {
  size_t ls = 0, lp = 0;
  luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  size_t init = start_index(luaL_optinteger(L, 3, 1), ls);
  if (has_magic(p, lp)) (void)check_pattern(L, p, lp, false, "gmatch");  // report bad patterns at once
  if (init > ls + 1) init = ls + 1;
  lua_settop(L, 2);
  lua_pushinteger(L, static_cast<lua_Integer>(init - 1));
  lua_pushinteger(L, -1);
  lua_pushcclosure(L, gmatch_step, 4);
  return 1;
}

// Appends the replacement for one match (stack index 3 holds the string, table or function).
void add_replacement(lua_State* L, luaL_Buffer* b, const Pattern& pat, const char* s, const re2::StringPiece* m) {
  int t = lua_type(L, 3);
  if (t == LUA_TSTRING || t == LUA_TNUMBER) {
    size_t lr = 0;
    const char* r = lua_tolstring(L, 3, &lr);
    for (size_t i = 0; i < lr; ++i) {
      if (r[i] != '%') {
        luaL_addchar(b, r[i]);
        continue;
      }
      if (++i >= lr) luaL_error(L, "invalid use of '%%' in replacement string");
      char d = r[i];
      if (d == '%') {
        luaL_addchar(b, '%');
      } else if (d >= '0' && d <= '9') {
        int k = d - '0';
        if (k == 0 || (k == 1 && pat.groups == 0)) {
          luaL_addlstring(b, m[0].data(), m[0].size());
        } else if (k > pat.groups) {
          luaL_error(L, "invalid capture index %%%d in replacement string", k);
        } else {
          push_capture(L, pat, s, m, k);
          luaL_tolstring(L, -1, nullptr);
          lua_remove(L, -2);
          luaL_addvalue(b);
        }
      } else {
        luaL_error(L, "invalid use of '%%' in replacement string");
      }
    }
    return;
  }
  if (t == LUA_TTABLE) {
    push_capture(L, pat, s, m, pat.groups > 0 ? 1 : 0);
    lua_gettable(L, 3);
  } else {
    lua_pushvalue(L, 3);
    int nargs = push_captures(L, pat, s, m);
    lua_call(L, nargs, 1);
  }
  if (!lua_toboolean(L, -1)) {
    lua_pop(L, 1);
    luaL_addlstring(b, m[0].data(), m[0].size());
  } else if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
    luaL_addvalue(b);
  } else {
    luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  }
}

int sb_gsub(lua_State* L) {
  size_t ls = 0, lp = 0;
  const char* s = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  int tr = lua_type(L, 3);
  luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                   "string/function/table");
  lua_Integer max_n = luaL_optinteger(L, 4, static_cast<lua_Integer>(ls) + 1);
  Pattern pat;
  if (has_magic(p, lp)) pat = check_pattern(L, p, lp, true, "gsub");
  if (pat.re && (tr == LUA_TFUNCTION || tr == LUA_TTABLE)) regex_hold(L, pat.re);  // callbacks compile too
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  re2::StringPiece m[kRegexMaxGroups + 1];
  size_t src = 0;
  size_t last = static_cast<size_t>(-1);
  lua_Integer n = 0;
  for (lua_Integer iter = 0; n < max_n; ++iter) {
    if ((iter & (kDeadlineStride - 1)) == kDeadlineStride - 1) check_deadline(L);
    bool found;
    if (pat.re == nullptr) {
      const char* hit = find_literal(s, ls, src, p, lp);
      found = hit != nullptr;
      if (found) m[0] = re2::StringPiece(hit, lp);
    } else {
      found = regex_search(L, *pat.re, s, ls, src, pat.anchor, m, pat.groups + 1);
    }
    if (!found) break;
    auto at = static_cast<size_t>(m[0].data() - s);
    size_t end = at + m[0].size();
    luaL_addlstring(&b, s + src, at - src);  // no match starts in between
    if (end == last) {  // an empty match where the last match ended: keep one character, move on
      if (at >= ls) {
        src = ls;
        break;
      }
      luaL_addchar(&b, s[at]);
      src = at + 1;
    } else {
      ++n;
      add_replacement(L, &b, pat, s, m);
      src = last = end;
    }
    if (pat.anchor) break;
  }
  if (src < ls) luaL_addlstring(&b, s + src, ls - src);
  luaL_pushresult(&b);
  lua_pushinteger(L, n);
  return 2;
}

}  // namespace

void install_string_patterns(lua_State* L) {
  lua_pushcfunction(L, sb_find);
  lua_setfield(L, -2, "find");
  lua_pushcfunction(L, sb_match);
  lua_setfield(L, -2, "match");
  lua_pushcfunction(L, sb_gmatch);
  lua_setfield(L, -2, "gmatch");
  lua_pushcfunction(L, sb_gsub);
  lua_setfield(L, -2, "gsub");
}

}  // namespace glm::tools::lua
