// The Lua sandbox in one place: the allow lists first, then open_sandbox(), then the wrappers it installs.
// Policy and measurements: reference/sandbox.md. Every call gets a fresh lua_State, so nothing a script
// changes (globals, the string table, metatables, parked coroutines) outlives the call.
#include "tools/lua/sandbox.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include <lua.hpp>

#include "tools/lua/context.h"
#include "tools/lua/patterns.h"

namespace glm::tools::lua {

// ---- Allow lists: everything a script can reach. A name not listed is removed at set-up. ----------------

// Base library. pcall/xpcall are safe only with the re-arming hook (limits.cpp); setmetatable, xpcall, print,
// load, collectgarbage and tostring (no heap addresses) are the wrapped versions below.
constexpr std::string_view kBaseAllow[] = {
    "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget", "rawlen",
    "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "xpcall", "_G", "_VERSION",
    "print", "load", "collectgarbage",
};
// Libraries opened one by one (never luaL_openlibs).
constexpr std::string_view kLibraries[] = {"string", "table", "math", "utf8", "coroutine", "os"};
// string: no dump; rep capped; format without %p; find/match/gmatch/gsub on RE2 (linear time; no %b, %f or
// back-references).
constexpr std::string_view kStringAllow[] = {
    "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "pack", "packsize",
    "rep", "reverse", "sub", "unpack", "upper",
};
// table: raw-access versions with range caps and deadline checks (stock ones loop in C over __len ranges).
constexpr std::string_view kTableAllow[] = {"concat", "insert", "move", "pack", "remove", "sort", "unpack"};
constexpr std::string_view kMathAllow[] = {
    "abs", "acos", "asin", "atan", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge", "log", "max",
    "maxinteger", "min", "mininteger", "modf", "pi", "rad", "random", "randomseed", "sin", "sqrt", "tan",
    "tointeger", "type", "ult",
};
constexpr std::string_view kUtf8Allow[] = {"char", "charpattern", "codepoint", "codes", "len", "offset"};
// coroutine: wrap and close re-implemented so a coroutine killed by the hook is never reset (its __close
// handlers would run with hooks off).
constexpr std::string_view kCoroutineAllow[] = {
    "close", "create", "isyieldable", "resume", "running", "status", "wrap", "yield",
};
constexpr std::string_view kOsAllow[] = {"time", "clock", "date", "difftime"};

// Removed on purpose; touching one raises `forbidden` with the reason.
struct Removed {
  std::string_view name;
  std::string_view why;
};
constexpr Removed kRemovedOnPurpose[] = {
    {"io", "files and processes"},
    {"debug", "debug.sethook removes the CPU limit; registry and upvalue access break isolation"},
    {"package", "package.loadlib loads arbitrary C code"},
    {"require", "loads modules from disk"},
    {"dofile", "reads files"},
    {"loadfile", "reads files"},
    {"loadstring", "use load with source text"},
    {"warn", "writes to the host's stderr"},
    {"string.dump", "bytecode is not verified and can crash the interpreter"},
    {"os.execute", "runs processes"},
    {"os.exit", "ends the host process"},
    {"os.getenv", "the environment holds secrets"},
    {"os.remove", "writes files"},
    {"os.rename", "writes files"},
    {"os.tmpname", "creates files"},
    {"os.setlocale", "changes process-wide state"},
};

// Loops in host functions check the deadline this often (iterations).
constexpr int kDeadlineStride = 4096;
// table.sort refuses longer arrays: its comparisons run in C, where no hook reaches.
constexpr lua_Integer kSortMax = 1 << 18;
// Largest element range a table function walks in one call.
constexpr lua_Integer kTableRangeMax = 1 << 24;

std::span<const std::string_view> allowed_names(std::string_view library) {
  if (library == "_G") return kBaseAllow;
  if (library == "string") return kStringAllow;
  if (library == "table") return kTableAllow;
  if (library == "math") return kMathAllow;
  if (library == "utf8") return kUtf8Allow;
  if (library == "coroutine") return kCoroutineAllow;
  if (library == "os") return kOsAllow;
  return {};
}

namespace {

bool listed(std::span<const std::string_view> names, std::string_view s) {
  for (auto n : names)
    if (n == s) return true;
  return false;
}

// ---- Guards on removed names --------------------------------------------------------------------------

// __index of _G, os and string: a removed name raises forbidden; anything else is nil. Upvalue 1: the
// library's name ("" for _G).
int guard_index(lua_State* L) {
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  size_t nk = 0, nl = 0;
  const char* key = lua_tolstring(L, 2, &nk);
  const char* lib = lua_tolstring(L, lua_upvalueindex(1), &nl);
  for (const Removed& r : kRemovedOnPurpose) {
    std::string_view name = r.name;
    if (nl > 0) {
      if (name.size() != nl + 1 + nk || name.compare(0, nl, lib) != 0 || name[nl] != '.') continue;
      name.remove_prefix(nl + 1);
    }
    if (name == std::string_view(key, nk))
      raise_error(L, ErrorCode::forbidden, "%.*s is not available in the sandbox (%.*s)", static_cast<int>(r.name.size()),
                  r.name.data(), static_cast<int>(r.why.size()), r.why.data());
  }
  return 0;
}

// Gives the table at the top of the stack a locked metatable whose __index is guard_index(lib).
void set_guard(lua_State* L, const char* lib) {
  lua_createtable(L, 0, 2);
  lua_pushstring(L, lib);
  lua_pushcclosure(L, guard_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
}

// Removes every key of the table at `idx` that is not listed.
void prune(lua_State* L, int idx, std::span<const std::string_view> allow) {
  idx = lua_absindex(L, idx);
  lua_newtable(L);  // keys to drop: never modify a table while lua_next walks it
  int drop = lua_gettop(L);
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    lua_pop(L, 1);
    bool keep = false;
    if (lua_type(L, -1) == LUA_TSTRING) {
      size_t len = 0;
      const char* k = lua_tolstring(L, -1, &len);
      keep = listed(allow, std::string_view(k, len));
    }
    if (!keep) {
      lua_pushvalue(L, -1);
      lua_rawseti(L, drop, ++n);
    }
  }
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_rawgeti(L, drop, i);
    lua_pushnil(L);
    lua_rawset(L, idx);
  }
  lua_pop(L, 1);
}

// ---- Base library wrappers ----------------------------------------------------------------------------

// setmetatable installs a snapshot of the metatable, not the script's table itself. The collector reads
// __gc and __mode from the installed metatable, and both open limits a hook cannot reach: finalizers run with
// hooks off (even in lua_close), and weak-keyed (ephemeron) tables are collected in time quadratic in their
// size inside one atomic step (160k entries: 11.6 s, measured). With a snapshot, what is checked here is what
// the collector sees for good: a __mode or __gc assigned to the script's table later changes nothing.
// getmetatable still returns the script's table (the snapshot's __metatable), so identity checks and methods
// added later through __index work; a metamethod added later applies to objects created after it.
// Refused: any __gc key (even false), __mode with weak keys and strong values. Allowed: "v" and "kv".
const char kSnapshotReplaceable = 0;  // key in a snapshot: true when the script may set another metatable
const char kSnapshotCache = 0;        // registry: weak-valued table script metatable -> snapshot

void check_metatable(lua_State* L, int mt) {
  lua_pushliteral(L, "__gc");
  if (lua_rawget(L, mt) != LUA_TNIL)
    raise_error(L, ErrorCode::forbidden, "metatables with __gc are refused (finalizers run outside the limits)");
  lua_pop(L, 1);
  lua_pushliteral(L, "__mode");
  if (lua_rawget(L, mt) == LUA_TSTRING) {
    const char* mode = lua_tostring(L, -1);
    if (std::strchr(mode, 'k') && !std::strchr(mode, 'v'))
      raise_error(L, ErrorCode::forbidden, "weak-keyed tables (__mode = \"k\") are refused: collecting them can "
                                           "take quadratic time outside the limits");
  }
  lua_pop(L, 1);
}

// Whether the snapshot at `snap` still equals the script's metatable at `mt`.
bool snapshot_matches(lua_State* L, int mt, int snap) {
  int n_mt = 0;
  lua_pushnil(L);
  while (lua_next(L, mt) != 0) {
    ++n_mt;
    lua_pushvalue(L, -2);
    lua_rawget(L, snap);
    bool same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (!same) {
      lua_pop(L, 1);
      return false;
    }
  }
  lua_rawgetp(L, snap, &kSnapshotReplaceable);
  int extra = lua_toboolean(L, -1) ? 2 : 1;  // the marker, and __metatable when the snapshot added it
  lua_pop(L, 1);
  int n_snap = 0;
  lua_pushnil(L);
  while (lua_next(L, snap) != 0) {
    ++n_snap;
    lua_pop(L, 1);
  }
  return n_snap == n_mt + extra;
}

// Pushes a new snapshot of the script's metatable at `mt`.
void push_snapshot(lua_State* L, int mt) {
  lua_newtable(L);
  int snap = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, mt) != 0) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, snap);
  }
  lua_pushliteral(L, "__metatable");
  bool own = lua_rawget(L, mt) != LUA_TNIL;  // the script protects its metatable itself
  lua_pop(L, 1);
  if (!own) {
    lua_pushvalue(L, mt);
    lua_setfield(L, snap, "__metatable");
  }
  lua_pushboolean(L, !own);
  lua_rawsetp(L, snap, &kSnapshotReplaceable);
}

int sb_setmetatable(lua_State* L) {
  int t = lua_type(L, 2);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
  lua_settop(L, 2);
  if (lua_getmetatable(L, 1)) {
    lua_rawgetp(L, -1, &kSnapshotReplaceable);
    bool replaceable = lua_toboolean(L, -1);
    lua_pop(L, 2);
    if (!replaceable && luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
      return luaL_error(L, "cannot change a protected metatable");
  }
  lua_settop(L, 2);
  if (t == LUA_TNIL) {
    lua_setmetatable(L, 1);
    return 1;
  }
  check_metatable(L, 2);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kSnapshotCache);  // 3
  lua_pushvalue(L, 2);
  if (lua_rawget(L, 3) != LUA_TTABLE || !snapshot_matches(L, 2, 4)) {
    lua_settop(L, 3);
    push_snapshot(L, 2);  // 4
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 4);
    lua_rawset(L, 3);
  }
  lua_setmetatable(L, 1);
  lua_settop(L, 1);
  return 1;
}

// The message handler given to xpcall runs with hooks off when the error came from the hook; after a trip the
// guard passes the message through instead of running script code. Upvalue 1: the script's handler.
int guarded_handler(lua_State* L) {
  if (ctx_of(L).tripped) {
    lua_settop(L, 1);
    return 1;
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

int finish_pcall(lua_State* L, int status, lua_KContext extra) {
  if (status != LUA_OK && status != LUA_YIELD) {
    lua_pushboolean(L, 0);
    lua_pushvalue(L, -2);
    return 2;
  }
  return lua_gettop(L) - static_cast<int>(extra);
}

int sb_xpcall(lua_State* L) {
  int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, guarded_handler, 1);
  lua_replace(L, 2);
  lua_pushboolean(L, 1);  // first result when no error
  lua_pushvalue(L, 1);    // the function
  lua_rotate(L, 3, 2);    // both below the arguments
  int status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finish_pcall);
  return finish_pcall(L, status, 2);
}

void append_output(lua_State* L, const char* s, size_t n) {
  LuaCallContext& c = ctx_of(L);
  size_t cap = c.limits.output_bytes;
  size_t used = c.output.size() + c.log_bytes;
  if (c.output_exceeded || used + n > cap) {
    if (used < cap) c.output.append(s, std::min(n, cap - used));  // keep what fits
    c.output_exceeded = true;
    trip(L, ErrorCode::output, "output limit exceeded");  // terminal, like a timeout
  }
  c.output.append(s, n);
}

// print: into the call's capped output buffer, never to the host's stdout.
int sb_print(lua_State* L) {
  int n = lua_gettop(L);
  for (int i = 1; i <= n; ++i) {
    size_t len = 0;
    const char* s = safe_tolstring(L, i, &len);
    if (i > 1) append_output(L, "\t", 1);
    append_output(L, s, len);
    lua_pop(L, 1);
  }
  append_output(L, "\n", 1);
  return 0;
}

// The registry key of the weak table object -> id used by safe_tolstring.
const char kObjectIds = 0;

int sb_tostring(lua_State* L) {
  luaL_checkany(L, 1);
  safe_tolstring(L, 1, nullptr);
  return 1;
}

// string.format (upvalue 1: the real one) without %p and without addresses for objects given to %s.
int sb_format(lua_State* L) {
  size_t n = 0;
  const char* f = luaL_checklstring(L, 1, &n);
  for (size_t i = 0; i + 1 < n; ++i) {
    if (f[i] != '%') continue;
    size_t j = i + 1;
    if (f[j] == '%') {
      i = j;
      continue;
    }
    while (j < n && f[j] != '\0' && std::strchr("-+ #0123456789.", f[j]) != nullptr) ++j;
    if (j < n && f[j] == 'p') raise_error(L, ErrorCode::forbidden, "string.format: %%p would show a heap address");
    i = j;
  }
  int top = lua_gettop(L);
  for (int i = 2; i <= top; ++i) {
    int t = lua_type(L, i);
    if (t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TTHREAD || t == LUA_TUSERDATA || t == LUA_TLIGHTUSERDATA) {
      if (luaL_getmetafield(L, i, "__tostring") != LUA_TNIL) {
        lua_pop(L, 1);
        continue;
      }
      safe_tolstring(L, i, nullptr);
      lua_replace(L, i);
    }
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, top, 1);
  return 1;
}

// load: source text only (mode forced to "t"), size-capped, in the sandbox's environment unless one is given.
int sb_load(lua_State* L) {
  LuaCallContext& c = ctx_of(L);
  if (lua_type(L, 1) != LUA_TSTRING)
    raise_error(L, ErrorCode::forbidden, "load accepts only source text (a string)");
  size_t len = 0;
  const char* s = lua_tolstring(L, 1, &len);
  if (len > c.limits.source_bytes)
    raise_error(L, ErrorCode::forbidden, "source of %zu bytes exceeds the %zu-byte limit", len, c.limits.source_bytes);
  if (len > 0 && s[0] == LUA_SIGNATURE[0]) raise_error(L, ErrorCode::forbidden, "binary chunks are refused");
  const char* mode = luaL_optstring(L, 3, "t");
  if (std::strchr(mode, 't') == nullptr) raise_error(L, ErrorCode::forbidden, "binary chunks are refused");
  const char* name = luaL_optstring(L, 2, "=(load)");
  int status = luaL_loadbufferx(L, s, len, name, "t");
  if (status != LUA_OK) {
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
  }
  if (!lua_isnone(L, 4)) {
    lua_pushvalue(L, 4);
    if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
  }
  return 1;
}

// collectgarbage: only "count" ("stop" would defeat the memory cap's recovery; the rest is unhooked work).
int sb_collectgarbage(lua_State* L) {
  const char* opt = luaL_optstring(L, 1, "collect");
  if (std::strcmp(opt, "count") != 0)
    raise_error(L, ErrorCode::forbidden, "collectgarbage(\"%s\") is not available; only \"count\"", opt);
  int kb = lua_gc(L, LUA_GCCOUNT);
  int b = lua_gc(L, LUA_GCCOUNTB);
  lua_pushnumber(L, static_cast<lua_Number>(kb) + static_cast<lua_Number>(b) / 1024.0);
  return 1;
}

// os.date: a format string is one strftime call per specifier in C; a 16 MiB format is seconds unhooked.
constexpr size_t kDateFormatMax = 256;
int sb_date(lua_State* L) {
  size_t n = 0;
  if (lua_type(L, 1) == LUA_TSTRING) lua_tolstring(L, 1, &n);
  if (n > kDateFormatMax)
    raise_error(L, ErrorCode::forbidden, "os.date format longer than %zu bytes", kDateFormatMax);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

// ---- string ---------------------------------------------------------------------------------------------

// string.rep: one C call that the hook cannot interrupt ("" x 3e9 ran 7.5 s): refuse large counts and results
// before calling the real one (upvalue 1).
int sb_rep(lua_State* L) {
  LuaCallContext& c = ctx_of(L);
  size_t l = 0, lsep = 0;
  luaL_checklstring(L, 1, &l);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_optlstring(L, 3, "", &lsep);
  if (n > 0) {
    size_t cap = c.limits.string_rep_bytes < c.limits.memory_bytes ? c.limits.string_rep_bytes : c.limits.memory_bytes;
    auto un = static_cast<unsigned long long>(n);
    bool over = un > cap || (l > 0 && un > cap / l) || (lsep > 0 && un - 1 > cap / lsep) ||
                l * un + lsep * (un - 1) > cap;
    if (over)
      raise_error(L, ErrorCode::memory, "string.rep result would exceed the %zu-byte cap", cap);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

// ---- table: raw access, capped ranges, deadline checks ---------------------------------------------------

lua_Integer raw_len(lua_State* L, int idx) {
  luaL_checktype(L, idx, LUA_TTABLE);
  return static_cast<lua_Integer>(lua_rawlen(L, idx));
}

void check_range(lua_State* L, lua_Integer first, lua_Integer last) {
  if (last >= first && (last - first >= kTableRangeMax || last - first < 0))
    raise_error(L, ErrorCode::memory, "range of more than %lld elements", static_cast<long long>(kTableRangeMax));
}

int sb_insert(lua_State* L) {
  lua_Integer e = raw_len(L, 1) + 1;  // first empty slot
  lua_Integer pos = e;
  switch (lua_gettop(L)) {
    case 2:
      break;
    case 3: {
      pos = luaL_checkinteger(L, 2);
      luaL_argcheck(L, static_cast<lua_Unsigned>(pos) - 1u < static_cast<lua_Unsigned>(e), 2, "position out of bounds");
      for (lua_Integer i = e; i > pos; --i) {
        if ((i & (kDeadlineStride - 1)) == 0) check_deadline(L);
        lua_rawgeti(L, 1, i - 1);
        lua_rawseti(L, 1, i);
      }
      break;
    }
    default:
      return luaL_error(L, "wrong number of arguments to 'insert'");
  }
  lua_settop(L, lua_gettop(L) >= 3 ? 3 : 2);
  lua_rawseti(L, 1, pos);
  return 0;
}

int sb_remove(lua_State* L) {
  lua_Integer size = raw_len(L, 1);
  lua_Integer pos = luaL_optinteger(L, 2, size);
  if (pos != size)
    luaL_argcheck(L, static_cast<lua_Unsigned>(pos) - 1u <= static_cast<lua_Unsigned>(size), 2, "position out of bounds");
  lua_rawgeti(L, 1, pos);
  for (; pos < size; ++pos) {
    if ((pos & (kDeadlineStride - 1)) == 0) check_deadline(L);
    lua_rawgeti(L, 1, pos + 1);
    lua_rawseti(L, 1, pos);
  }
  lua_pushnil(L);
  lua_rawseti(L, 1, pos);
  return 1;
}

int sb_move(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer f = luaL_checkinteger(L, 2);
  lua_Integer e = luaL_checkinteger(L, 3);
  lua_Integer t = luaL_checkinteger(L, 4);
  int tt = !lua_isnoneornil(L, 5) ? 5 : 1;
  luaL_checktype(L, tt, LUA_TTABLE);
  if (e >= f) {
    luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
    check_range(L, f, e);
    lua_Integer n = e - f;
    luaL_argcheck(L, t <= LUA_MAXINTEGER - n || t < 0, 4, "destination wrap around");
    if (t > e || t <= f || (tt != 1 && !lua_rawequal(L, 1, tt))) {
      for (lua_Integer i = 0; i <= n; ++i) {
        if ((i & (kDeadlineStride - 1)) == kDeadlineStride - 1) check_deadline(L);
        lua_rawgeti(L, 1, f + i);
        lua_rawseti(L, tt, t + i);
      }
    } else {
      for (lua_Integer i = n; i >= 0; --i) {
        if ((i & (kDeadlineStride - 1)) == 0) check_deadline(L);
        lua_rawgeti(L, 1, f + i);
        lua_rawseti(L, tt, t + i);
      }
    }
  }
  lua_pushvalue(L, tt);
  return 1;
}

int sb_concat(lua_State* L) {
  lua_Integer last = raw_len(L, 1);
  size_t lsep = 0;
  const char* sep = luaL_optlstring(L, 2, "", &lsep);
  lua_Integer i = luaL_optinteger(L, 3, 1);
  last = luaL_optinteger(L, 4, last);
  check_range(L, i, last);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (lua_Integer k = 0; i <= last; ++i, ++k) {
    if ((k & (kDeadlineStride - 1)) == kDeadlineStride - 1) check_deadline(L);
    lua_rawgeti(L, 1, i);
    if (!lua_isstring(L, -1))
      return luaL_error(L, "invalid value (at index %I) in table for 'concat'", static_cast<LUAI_UACINT>(i));
    luaL_addvalue(&b);
    if (i != last) luaL_addlstring(&b, sep, lsep);
    if (i == LUA_MAXINTEGER) break;
  }
  luaL_pushresult(&b);
  return 1;
}

int sb_unpack(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer i = luaL_optinteger(L, 2, 1);
  lua_Integer e = lua_isnoneornil(L, 3) ? static_cast<lua_Integer>(lua_rawlen(L, 1)) : luaL_checkinteger(L, 3);
  if (i > e) return 0;
  lua_Unsigned n = static_cast<lua_Unsigned>(e) - static_cast<lua_Unsigned>(i);
  if (n >= static_cast<lua_Unsigned>(INT32_MAX) || !lua_checkstack(L, static_cast<int>(++n)))
    return luaL_error(L, "too many results to unpack");
  for (; i < e; ++i) lua_rawgeti(L, 1, i);
  lua_rawgeti(L, 1, e);
  return static_cast<int>(n);
}

// table.sort: the stock sort (upvalue 1) on a plain table of bounded length. A metatable could turn every
// element access into a C call loop; the length cap bounds the comparisons done in C.
int sb_sort(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (lua_getmetatable(L, 1)) raise_error(L, ErrorCode::forbidden, "table.sort refuses tables with a metatable");
  if (static_cast<lua_Integer>(lua_rawlen(L, 1)) > kSortMax)
    raise_error(L, ErrorCode::memory, "table.sort refuses arrays longer than %lld", static_cast<long long>(kSortMax));
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 0);
  return 0;
}

// ---- coroutine ------------------------------------------------------------------------------------------

// Resumes co with narg values from L; returns the count of results moved to L, or -1 with an error on L.
int resume_values(lua_State* L, lua_State* co, int narg) {
  if (!lua_checkstack(co, narg)) {
    lua_pushliteral(L, "too many arguments to resume");
    return -1;
  }
  lua_xmove(L, co, narg);
  int nres = 0;
  int status = lua_resume(co, L, narg, &nres);
  if (status == LUA_OK || status == LUA_YIELD) {
    if (!lua_checkstack(L, nres + 1)) {
      lua_pop(co, nres);
      lua_pushliteral(L, "too many results to resume");
      return -1;
    }
    lua_xmove(co, L, nres);
    return nres;
  }
  lua_xmove(co, L, 1);
  return -1;
}

// The function coroutine.wrap returns. On an error the coroutine is reset (closing its to-be-closed variables)
// only if the call has not tripped: a coroutine killed by the hook would run its __close handlers unhooked.
int wrap_step(lua_State* L) {
  lua_State* co = lua_tothread(L, lua_upvalueindex(1));
  int r = resume_values(L, co, lua_gettop(L));
  if (r >= 0) return r;
  int status = lua_status(co);
  if (status != LUA_OK && status != LUA_YIELD && !ctx_of(L).tripped) {
    status = lua_resetthread(co);
    lua_xmove(co, L, 1);
  }
  if (status != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
    luaL_where(L, 1);
    lua_insert(L, -2);
    lua_concat(L, 2);
  }
  return lua_error(L);
}

int sb_wrap(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_State* co = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  lua_pushcclosure(L, wrap_step, 1);
  return 1;
}

// coroutine.close: refused after a trip (same reason as wrap_step); otherwise the real one (upvalue 1).
int sb_close(lua_State* L) {
  LuaCallContext& c = ctx_of(L);
  if (c.tripped) trip(L, c.tripped_kind, c.tripped_message);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

// ---- Set-up ---------------------------------------------------------------------------------------------

// Replaces lib[name] with a C closure whose upvalue 1 is the original. The library table is at the top.
void wrap_field(lua_State* L, const char* name, lua_CFunction f) {
  lua_getfield(L, -1, name);
  lua_pushcclosure(L, f, 1);
  lua_setfield(L, -2, name);
}

void set_field(lua_State* L, const char* name, lua_CFunction f) {
  lua_pushcfunction(L, f);
  lua_setfield(L, -2, name);
}

// registry[key] = a new table whose metatable has __mode = mode ("k" or "v").
void new_weak_registry_table(lua_State* L, const char* mode, const void* key) {
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushstring(L, mode);
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, key);
}

// Runs protected: any allocation may fail against the cap.
int setup(lua_State* L) {
  // Libraries one at a time, each also a global.
  luaL_requiref(L, "_G", luaopen_base, 1);
  lua_pop(L, 1);
  luaL_requiref(L, "string", luaopen_string, 1);
  lua_pop(L, 1);
  luaL_requiref(L, "table", luaopen_table, 1);
  lua_pop(L, 1);
  luaL_requiref(L, "math", luaopen_math, 1);
  lua_pop(L, 1);
  luaL_requiref(L, "utf8", luaopen_utf8, 1);
  lua_pop(L, 1);
  luaL_requiref(L, "coroutine", luaopen_coroutine, 1);
  lua_pop(L, 1);
  luaL_requiref(L, "os", luaopen_os, 1);
  lua_pop(L, 1);

  lua_pushglobaltable(L);
  int g = lua_gettop(L);
  // Base wrappers.
  set_field(L, "setmetatable", sb_setmetatable);
  set_field(L, "xpcall", sb_xpcall);
  set_field(L, "print", sb_print);
  set_field(L, "load", sb_load);
  set_field(L, "collectgarbage", sb_collectgarbage);
  set_field(L, "tostring", sb_tostring);
  // Snapshots of metatables, reused while the script's table is unchanged; weak values (linear to collect).
  new_weak_registry_table(L, "v", &kSnapshotCache);
  // Ids for safe_tolstring: weak keys, so naming an object never keeps it alive.
  new_weak_registry_table(L, "k", &kObjectIds);

  // string: the real table (every string's metatable points at it), patched in place.
  lua_getfield(L, g, "string");
  prune(L, -1, kStringAllow);
  wrap_field(L, "rep", sb_rep);
  wrap_field(L, "format", sb_format);
  install_string_patterns(L);
  set_guard(L, "string");
  lua_pop(L, 1);

  lua_getfield(L, g, "table");
  prune(L, -1, kTableAllow);
  set_field(L, "insert", sb_insert);
  set_field(L, "remove", sb_remove);
  set_field(L, "move", sb_move);
  set_field(L, "concat", sb_concat);
  set_field(L, "unpack", sb_unpack);
  wrap_field(L, "sort", sb_sort);
  lua_pop(L, 1);

  lua_getfield(L, g, "math");
  prune(L, -1, kMathAllow);
  lua_pop(L, 1);
  lua_getfield(L, g, "utf8");
  prune(L, -1, kUtf8Allow);
  lua_pop(L, 1);

  lua_getfield(L, g, "coroutine");
  prune(L, -1, kCoroutineAllow);
  set_field(L, "wrap", sb_wrap);
  wrap_field(L, "close", sb_close);
  lua_pop(L, 1);

  lua_getfield(L, g, "os");
  prune(L, -1, kOsAllow);
  wrap_field(L, "date", sb_date);
  set_guard(L, "os");
  lua_pop(L, 1);

  // Globals: the base allow list, the libraries, then the host modules (added after pruning).
  {
    constexpr size_t nb = std::size(kBaseAllow), nl = std::size(kLibraries);
    std::string_view names[nb + nl];  // trivially destructible: safe across a longjmp
    for (size_t i = 0; i < nb; ++i) names[i] = kBaseAllow[i];
    for (size_t i = 0; i < nl; ++i) names[nb + i] = kLibraries[i];
    prune(L, g, std::span<const std::string_view>(names, nb + nl));
  }
  register_host_api(L);
  set_guard(L, "");

  // Lock the string metatable: getmetatable("") yields false, so the real one cannot be reached or edited.
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 2);
  lua_settop(L, 0);
  return 0;
}

int panic(lua_State* L) {
  const char* msg = lua_tostring(L, -1);
  std::fprintf(stderr, "glm-agent: Lua panic (an unprotected error in the sandbox host): %s\n", msg ? msg : "?");
  std::abort();
}

}  // namespace

const char* safe_tolstring(lua_State* L, int idx, size_t* len) {
  idx = lua_absindex(L, idx);
  int t = lua_type(L, idx);
  bool object = t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TTHREAD || t == LUA_TUSERDATA || t == LUA_TLIGHTUSERDATA;
  if (!object) return luaL_tolstring(L, idx, len);
  if (luaL_getmetafield(L, idx, "__tostring") != LUA_TNIL) {
    lua_pop(L, 1);
    return luaL_tolstring(L, idx, len);  // the script's own __tostring (hooked Lua code)
  }
  const char* name = luaL_typename(L, idx);
  bool named = luaL_getmetafield(L, idx, "__name") == LUA_TSTRING;
  if (named) name = lua_tostring(L, -1);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kObjectIds);
  lua_pushvalue(L, idx);
  lua_Integer id = 0;
  if (lua_rawget(L, -2) == LUA_TNUMBER) {
    id = lua_tointeger(L, -1);
    lua_pop(L, 1);
  } else {
    lua_pop(L, 1);
    id = ++ctx_of(L).next_object_id;
    lua_pushvalue(L, idx);
    lua_pushinteger(L, id);
    lua_rawset(L, -3);
  }
  lua_pop(L, 1);  // the id table
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%08llx", static_cast<unsigned long long>(id));
  lua_pushfstring(L, "%s: %s", name, hex);
  if (named) lua_remove(L, -2);
  return lua_tolstring(L, -1, len);
}

LuaSandbox::~LuaSandbox() {
  if (L_) lua_close(L_);
}

Result<std::unique_ptr<LuaSandbox>> open_sandbox(const LuaLimits& limits, const LuaCapabilities& caps,
                                                 const std::atomic<bool>* cancel) {
  std::unique_ptr<LuaSandbox> sb(new LuaSandbox());
  sb->ctx_ = std::make_unique<LuaCallContext>();
  LuaCallContext& c = *sb->ctx_;
  c.limits = limits;
  c.caps = caps;
  c.cancel = cancel;
  c.start = Clock::now();
  c.deadline = c.start + std::chrono::milliseconds(limits.deadline_ms);
  GLM_TRY(prepare_host_api(c));

  // 1. Capped allocator.
  sb->L_ = lua_newstate(capped_alloc, &c);
  if (sb->L_ == nullptr) return make_error(ErrorCode::memory, "the memory cap is too small for a Lua state");
  lua_State* L = sb->L_;
  lua_atpanic(L, panic);
  // 2. The count hook, before any code: every coroutine inherits it.
  install_limit_hook(L);
  // 3-5. Libraries, pruning, wrappers, host API, string metatable lock: protected.
  lua_pushcfunction(L, setup);
  int status = lua_pcall(L, 0, 0, 0);
  if (status != LUA_OK) {
    std::string msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "sandbox set-up failed";
    return make_error(status == LUA_ERRMEM ? ErrorCode::memory : ErrorCode::internal, "sandbox set-up: " + msg);
  }
  return sb;
}

}  // namespace glm::tools::lua
