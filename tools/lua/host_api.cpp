// The host API a tool may be granted (host_api.h): json, re, log, time, fs.
//
// Each Lua-facing function keeps only trivially destructible locals across Lua API calls that may raise; C++
// work that owns memory or a file descriptor happens in a helper that returns before anything is pushed, with
// its product in the call context (context.h).
#include "tools/lua/host_api.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <lua.hpp>
#include <re2/re2.h>

#include "tools/lua/context.h"
#include "tools/lua/json_bridge.h"
#include "tools/lua/regex.h"
#include "tools/http/http_tool.h"

namespace glm::tools::lua {

LuaCallContext::LuaCallContext() = default;
LuaCallContext::~LuaCallContext() {
  if (workspace_fd >= 0) ::close(workspace_fd);
}

Result<std::shared_ptr<LuaHttpGrant>> http_grant_from_json(const nlohmann::json& j) {
  if (!j.is_object())
    return make_error(ErrorCode::invalid_argument,
                      "capabilities.http must be an object (allow_hosts, allow_private, max_bytes, max_requests)");
  auto g = std::make_shared<LuaHttpGrant>();
  for (auto f = j.begin(); f != j.end(); ++f)
    if (f.key() != "allow_hosts" && f.key() != "allow_private" && f.key() != "max_bytes" && f.key() != "max_requests")
      return make_error(ErrorCode::invalid_argument, "capabilities.http: unknown setting '" + f.key() + "'");
  if (auto st = http::policy_from_settings(j, &g->policy, &g->limits); !st)
    return make_error(ErrorCode::invalid_argument, "capabilities.http: " + st.error().message);
  if (j.contains("max_requests")) {
    const auto& m = j["max_requests"];
    if (!m.is_number_integer() || m.get<int64_t>() < 1 || m.get<int64_t>() > 1000)
      return make_error(ErrorCode::invalid_argument, "capabilities.http.max_requests must be an integer in 1..1000");
    g->max_requests = m.get<int>();
  }
  return g;
}

Result<LuaCapabilities> capabilities_from_json(const nlohmann::json& j) {
  LuaCapabilities c;
  auto grant = [&](const std::string& name) -> Status {
    if (name == "json") c.json = true;
    else if (name == "re") c.re = true;
    else if (name == "log") c.log = true;
    else if (name == "time") c.time = true;
    else if (name == "http") c.http = std::make_shared<LuaHttpGrant>();
    else if (name == "workspace") {}  // the directory itself comes with the tool's "workspace" setting
    else return make_error(ErrorCode::invalid_argument, "unknown capability '" + name + "'");
    return {};
  };
  if (j.is_array()) {
    for (const auto& x : j) {
      if (!x.is_string()) return make_error(ErrorCode::invalid_argument, "capabilities must be names");
      GLM_TRY(grant(x.get<std::string>()));
    }
    return c;
  }
  if (!j.is_object()) return make_error(ErrorCode::invalid_argument, "capabilities must be an object or a list");
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "workspace") {
      if (!it->is_string()) return make_error(ErrorCode::invalid_argument, "capabilities.workspace must be a path");
      c.workspace = it->get<std::string>();
    } else if (it.key() == "http" && !it->is_boolean()) {
      auto g = http_grant_from_json(*it);
      if (!g) return g.take_error();
      c.http = std::move(g).value();
    } else {
      if (!it->is_boolean())
        return make_error(ErrorCode::invalid_argument, "capabilities." + it.key() + " must be true or false");
      if (it.key() == "workspace_write") c.workspace_write = it->get<bool>();
      else if (it->get<bool>()) GLM_TRY(grant(it.key()));
      else if (it.key() != "json" && it.key() != "re" && it.key() != "log" && it.key() != "time" && it.key() != "http")
        return make_error(ErrorCode::invalid_argument, "unknown capability '" + it.key() + "'");
    }
  }
  return c;
}

Status prepare_host_api(LuaCallContext& c) {
  if (c.caps.http && !c.caps.http->client)
    return make_error(ErrorCode::invalid_argument, "the http capability has no HTTP client (a set-up error)");
  if (c.caps.workspace.empty()) return {};
  c.workspace_fd = ::open(c.caps.workspace.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (c.workspace_fd < 0)
    return make_error(ErrorCode::io, "cannot open workspace '" + c.caps.workspace + "': " + std::strerror(errno));
  return {};
}

namespace {

// ---- json -----------------------------------------------------------------------------------------------

// Encodes the value at idx into c.scratch; on failure the message is in c.scratch and the kind returned.
// (A Status must not be alive when a Lua error longjmps: its message would never be freed.)
bool encode_to_scratch(lua_State* L, int idx, LuaCallContext& c, ErrorCode* kind) {
  // The tree is built outside the allocator cap before dumping: bound it like json.decode's input.
  EncodeLimits el{c.limits.args_depth, 4 * c.limits.args_bytes};
  Status s = lua_to_json(L, idx, el, c.scratch_json);
  if (!s) {
    *kind = s.error().code;
    c.scratch = s.error().message;
    c.scratch_json = nullptr;
    return false;
  }
  c.scratch = c.scratch_json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return true;
}

int json_encode(lua_State* L) {
  luaL_checkany(L, 1);
  LuaCallContext& c = ctx_of(L);
  ErrorCode kind = ErrorCode::runtime;
  if (!encode_to_scratch(L, 1, c, &kind)) raise_error(L, kind, "json.encode: %s", c.scratch.c_str());
  c.scratch_json = nullptr;
  lua_pushlstring(L, c.scratch.data(), c.scratch.size());
  c.scratch.clear();
  return 1;
}

// Parses into c.scratch_json; on failure leaves the message in c.scratch and returns false.
bool parse_json_text(LuaCallContext& c, const char* s, size_t n) {
  if (json_text_depth(s, n, c.limits.args_depth) > c.limits.args_depth) {
    c.scratch = "nested deeper than " + std::to_string(c.limits.args_depth) + " levels";
    return false;
  }
  try {
    c.scratch_json = nlohmann::json::parse(s, s + n);
    return true;
  } catch (const std::exception& e) {
    c.scratch = e.what();
    return false;
  }
}

int json_decode(lua_State* L) {
  size_t n = 0;
  const char* s = luaL_checklstring(L, 1, &n);
  LuaCallContext& c = ctx_of(L);
  // Parsing is one C call the hook cannot interrupt, and the parse tree lives outside the allocator cap.
  if (n > 4 * c.limits.args_bytes)
    raise_error(L, ErrorCode::memory, "json.decode: input of %zu bytes exceeds %zu", n, 4 * c.limits.args_bytes);
  if (!parse_json_text(c, s, n)) raise_error(L, ErrorCode::runtime, "json.decode: %s", c.scratch.c_str());
  push_json(L, c.scratch_json);
  c.scratch_json = nullptr;
  return 1;
}

// ---- re (RE2: linear-time matching, no backtracking) -------------------------------------------------------

constexpr int kMaxGroups = kRegexMaxGroups;

const re2::RE2* check_regex(lua_State* L, int idx) {
  size_t n = 0;
  const char* p = luaL_checklstring(L, idx, &n);
  LuaCallContext& c = ctx_of(L);
  if (n > kRegexMaxPattern) raise_error(L, ErrorCode::runtime, "re: pattern longer than %zu bytes", kRegexMaxPattern);
  const re2::RE2* re = regex_compile(c, std::string_view(p, n), RegexSyntax::re2_utf8);
  if (re == nullptr) raise_error(L, ErrorCode::runtime, "re: %s", c.scratch.c_str());
  return re;
}

size_t start_offset(lua_Integer pos, size_t len) {
  if (pos > 0) return static_cast<size_t>(pos) - 1;
  if (pos == 0 || pos < -static_cast<lua_Integer>(len)) return 0;
  return len + static_cast<size_t>(pos);
}

// Pushes the captures of a match (or the whole match when there are none); returns how many.
int push_captures(lua_State* L, const re2::StringPiece* m, int groups) {
  if (groups == 0) {
    lua_pushlstring(L, m[0].data(), m[0].size());
    return 1;
  }
  luaL_checkstack(L, groups, "too many captures");
  for (int i = 1; i <= groups; ++i) {
    if (m[i].data() == nullptr) luaL_pushfail(L);
    else lua_pushlstring(L, m[i].data(), m[i].size());
  }
  return groups;
}

// re.find(s, pat [, init]) -> start, end (1-based, inclusive), captures... | nil
int re_find(lua_State* L) {
  size_t n = 0;
  const char* s = luaL_checklstring(L, 1, &n);
  const re2::RE2* re = check_regex(L, 2);
  size_t from = start_offset(luaL_optinteger(L, 3, 1), n);
  int groups = re->NumberOfCapturingGroups();
  re2::StringPiece m[kMaxGroups + 1];
  if (!regex_search(L, *re, s, n, from, false, m, groups + 1)) {
    luaL_pushfail(L);
    return 1;
  }
  lua_pushinteger(L, static_cast<lua_Integer>(m[0].data() - s) + 1);
  lua_pushinteger(L, static_cast<lua_Integer>(m[0].data() - s + m[0].size()));
  return 2 + (groups > 0 ? push_captures(L, m, groups) : 0);
}

// re.match(s, pat [, init]) -> captures... or the whole match | nil
int re_match(lua_State* L) {
  size_t n = 0;
  const char* s = luaL_checklstring(L, 1, &n);
  const re2::RE2* re = check_regex(L, 2);
  size_t from = start_offset(luaL_optinteger(L, 3, 1), n);
  int groups = re->NumberOfCapturingGroups();
  re2::StringPiece m[kMaxGroups + 1];
  if (!regex_search(L, *re, s, n, from, false, m, groups + 1)) {
    luaL_pushfail(L);
    return 1;
  }
  return push_captures(L, m, groups);
}

void add_rewrite(lua_State* L, luaL_Buffer* b, const re2::StringPiece* m, int groups) {
  int t = lua_type(L, 3);
  if (t == LUA_TSTRING || t == LUA_TNUMBER) {
    size_t lr = 0;
    const char* r = lua_tolstring(L, 3, &lr);
    for (size_t i = 0; i < lr; ++i) {
      if (r[i] != '\\' || i + 1 >= lr) {
        luaL_addchar(b, r[i]);
        continue;
      }
      char d = r[++i];
      if (d >= '0' && d <= '9') {
        int g = d - '0';
        if (g > groups) luaL_error(L, "re.gsub: no capture group %d", g);
        if (m[g].data() != nullptr) luaL_addlstring(b, m[g].data(), m[g].size());
      } else {
        luaL_addchar(b, d);  // \\ and any other escaped character
      }
    }
    return;
  }
  const re2::StringPiece& key = groups > 0 ? m[1] : m[0];
  if (t == LUA_TTABLE) {
    lua_pushlstring(L, key.data() ? key.data() : "", key.size());
    lua_gettable(L, 3);
  } else {
    lua_pushvalue(L, 3);
    int nargs = push_captures(L, m, groups);
    lua_call(L, nargs, 1);
  }
  if (!lua_toboolean(L, -1)) {
    lua_pop(L, 1);
    luaL_addlstring(b, m[0].data(), m[0].size());
  } else if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
    luaL_addvalue(b);
  } else {
    luaL_error(L, "re.gsub: invalid replacement value (a %s)", luaL_typename(L, -1));
  }
}

// re.gsub(s, pat, repl [, n]) -> string, count. repl: string (\0-\9 refer to groups), table, or function.
int re_gsub(lua_State* L) {
  size_t n = 0;
  const char* s = luaL_checklstring(L, 1, &n);
  const re2::RE2* re = check_regex(L, 2);
  int tr = lua_type(L, 3);
  luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                   "string/function/table");
  lua_Integer max_n = luaL_optinteger(L, 4, static_cast<lua_Integer>(n) + 1);
  if (tr == LUA_TFUNCTION || tr == LUA_TTABLE) regex_hold(L, re);  // callbacks may compile others
  int groups = re->NumberOfCapturingGroups();
  re2::StringPiece m[kMaxGroups + 1];
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  size_t from = 0;
  lua_Integer count = 0;
  while (count < max_n && from <= n) {
    if (!regex_search(L, *re, s, n, from, false, m, groups + 1)) break;
    auto at = static_cast<size_t>(m[0].data() - s);
    luaL_addlstring(&b, s + from, at - from);
    add_rewrite(L, &b, m, groups);
    ++count;
    size_t end = at + m[0].size();
    if (m[0].size() == 0) {  // an empty match: keep one character and move past it
      if (end < n) luaL_addchar(&b, s[end]);
      from = end + 1;
    } else {
      from = end;
    }
  }
  if (from < n) luaL_addlstring(&b, s + from, n - from);
  luaL_pushresult(&b);
  lua_pushinteger(L, count);
  return 2;
}

// ---- log ------------------------------------------------------------------------------------------------

int log_at(lua_State* L, const char* level) {
  LuaCallContext& c = ctx_of(L);
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; ++i) {
    if (i > 1) luaL_addchar(&b, ' ');
    safe_tolstring(L, i, nullptr);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  size_t len = 0;
  const char* msg = lua_tolstring(L, -1, &len);
  if (c.output_exceeded || c.output.size() + c.log_bytes + len > c.limits.output_bytes) {
    c.output_exceeded = true;
    trip(L, ErrorCode::output, "output limit exceeded");  // terminal, like a timeout
  }
  c.log_bytes += len;
  c.logs.push_back(nlohmann::json{{"level", level}, {"message", std::string(msg, len)}});
  return 0;
}
int log_info(lua_State* L) { return log_at(L, "info"); }
int log_warn(lua_State* L) { return log_at(L, "warn"); }
int log_error(lua_State* L) { return log_at(L, "error"); }

// ---- time -----------------------------------------------------------------------------------------------

int time_now(lua_State* L) {
  auto t = std::chrono::system_clock::now().time_since_epoch();
  lua_pushnumber(L, std::chrono::duration<double>(t).count());
  return 1;
}
int time_elapsed_ms(lua_State* L) {
  lua_pushnumber(L, std::chrono::duration<double, std::milli>(Clock::now() - ctx_of(L).start).count());
  return 1;
}
int time_remaining_ms(lua_State* L) {
  double ms = std::chrono::duration<double, std::milli>(ctx_of(L).deadline - Clock::now()).count();
  lua_pushnumber(L, ms > 0 ? ms : 0);
  return 1;
}

// ---- fs: files under the workspace directory ------------------------------------------------------------

enum class FsStatus { ok, forbidden, not_found, failed };

struct Fd {
  int fd = -1;
  ~Fd() { if (fd >= 0) ::close(fd); }
};

// Checks the path shape (relative, no `..`, no NUL); splits it into components in `parts`.
FsStatus split_path(const char* p, size_t n, std::vector<std::string>& parts, std::string& why) {
  if (n == 0 || n > 4096) { why = "empty or overlong path"; return FsStatus::forbidden; }
  if (std::memchr(p, '\0', n)) { why = "NUL in path"; return FsStatus::forbidden; }
  if (p[0] == '/') { why = "absolute paths are refused"; return FsStatus::forbidden; }
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && p[j] != '/') ++j;
    std::string part(p + i, j - i);
    if (part == "..") { why = "'..' is refused"; return FsStatus::forbidden; }
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    i = j + 1;
  }
  return FsStatus::ok;
}

// Opens the directory holding the last component, walking from the workspace root with O_NOFOLLOW on every
// component: a symlink anywhere on the way is refused (ELOOP/ENOTDIR).
FsStatus open_parent(int root, const std::vector<std::string>& parts, size_t n_dirs, Fd& dir, std::string& why) {
  dir.fd = ::fcntl(root, F_DUPFD_CLOEXEC, 0);
  if (dir.fd < 0) { why = std::strerror(errno); return FsStatus::failed; }
  for (size_t i = 0; i < n_dirs; ++i) {
    int fd = ::openat(dir.fd, parts[i].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      why = parts[i] + ": " + std::strerror(e);
      if (e == ELOOP || e == ENOTDIR) { why = parts[i] + ": symlinks and non-directories are refused"; return FsStatus::forbidden; }
      return e == ENOENT ? FsStatus::not_found : FsStatus::failed;
    }
    ::close(dir.fd);
    dir.fd = fd;
  }
  return FsStatus::ok;
}

// The C++ side of each operation: product in c.scratch (file text, or the error message).
FsStatus fs_read_impl(LuaCallContext& c, const char* p, size_t n) {
  std::vector<std::string> parts;
  std::string& why = c.scratch;
  if (FsStatus s = split_path(p, n, parts, why); s != FsStatus::ok) return s;
  if (parts.empty()) { why = "not a file"; return FsStatus::forbidden; }
  Fd dir;
  if (FsStatus s = open_parent(c.workspace_fd, parts, parts.size() - 1, dir, why); s != FsStatus::ok) return s;
  Fd f;
  f.fd = ::openat(dir.fd, parts.back().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (f.fd < 0) {
    int e = errno;
    if (e == ELOOP) { why = "symlinks are refused"; return FsStatus::forbidden; }
    why = std::strerror(e);
    return e == ENOENT ? FsStatus::not_found : FsStatus::failed;
  }
  struct stat st{};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) { why = "not a regular file"; return FsStatus::forbidden; }
  size_t cap = std::min(c.limits.string_rep_bytes, c.limits.memory_bytes);
  if (static_cast<size_t>(st.st_size) > cap) { why = "file larger than " + std::to_string(cap) + " bytes"; return FsStatus::forbidden; }
  std::string data;
  data.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < data.size()) {
    ssize_t r = ::read(f.fd, data.data() + got, data.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  data.resize(got);
  c.scratch = std::move(data);
  return FsStatus::ok;
}

FsStatus fs_write_impl(LuaCallContext& c, const char* p, size_t n, const char* d, size_t nd) {
  std::vector<std::string> parts;
  std::string& why = c.scratch;
  if (!c.caps.workspace_write) { why = "this tool may not write to the workspace"; return FsStatus::forbidden; }
  if (FsStatus s = split_path(p, n, parts, why); s != FsStatus::ok) return s;
  if (parts.empty()) { why = "not a file"; return FsStatus::forbidden; }
  if (nd > std::min(c.limits.string_rep_bytes, c.limits.memory_bytes)) { why = "data too large"; return FsStatus::forbidden; }
  Fd dir;
  if (FsStatus s = open_parent(c.workspace_fd, parts, parts.size() - 1, dir, why); s != FsStatus::ok) return s;
  Fd f;
  f.fd = ::openat(dir.fd, parts.back().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  if (f.fd < 0) {
    int e = errno;
    if (e == ELOOP) { why = "symlinks are refused"; return FsStatus::forbidden; }
    why = std::strerror(e);
    return e == ENOENT ? FsStatus::not_found : FsStatus::failed;
  }
  struct stat st{};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) { why = "not a regular file"; return FsStatus::forbidden; }
  size_t put = 0;
  while (put < nd) {
    ssize_t r = ::write(f.fd, d + put, nd - put);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) { why = std::strerror(errno); return FsStatus::failed; }
    put += static_cast<size_t>(r);
  }
  return FsStatus::ok;
}

// Lists a directory into c.scratch_json (sorted names).
FsStatus fs_list_impl(LuaCallContext& c, const char* p, size_t n) {
  std::vector<std::string> parts;
  std::string& why = c.scratch;
  if (!(n == 1 && p[0] == '.'))
    if (FsStatus s = split_path(p, n, parts, why); s != FsStatus::ok) return s;
  Fd dir;
  if (FsStatus s = open_parent(c.workspace_fd, parts, parts.size(), dir, why); s != FsStatus::ok) return s;
  int fd = ::openat(dir.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) { why = std::strerror(errno); return FsStatus::failed; }
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) { ::close(fd); why = std::strerror(errno); return FsStatus::failed; }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    if (names.size() >= 100000) break;
    names.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  c.scratch_json = names;
  return FsStatus::ok;
}

// A regular file or a directory, reached without symlinks. Anything refused reads as absent.
bool fs_exists_impl(LuaCallContext& c, const char* p, size_t n) {
  std::vector<std::string> parts;
  if (!(n == 1 && p[0] == '.') && split_path(p, n, parts, c.scratch) != FsStatus::ok) return false;
  if (parts.empty()) return true;  // the workspace itself
  Fd dir;
  if (open_parent(c.workspace_fd, parts, parts.size() - 1, dir, c.scratch) != FsStatus::ok) return false;
  struct stat st{};
  if (::fstatat(dir.fd, parts.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
  return S_ISREG(st.st_mode) || S_ISDIR(st.st_mode);
}

// Raises for forbidden/failed; returns false for not_found (the caller pushes nil, message).
bool fs_result(lua_State* L, FsStatus s, const char* what) {
  LuaCallContext& c = ctx_of(L);
  switch (s) {
    case FsStatus::ok: return true;
    case FsStatus::not_found: return false;
    case FsStatus::forbidden: raise_error(L, ErrorCode::forbidden, "fs.%s: %s", what, c.scratch.c_str());
    case FsStatus::failed: raise_error(L, ErrorCode::runtime, "fs.%s: %s", what, c.scratch.c_str());
  }
  return false;
}

int fs_read(lua_State* L) {
  size_t n = 0;
  const char* p = luaL_checklstring(L, 1, &n);
  LuaCallContext& c = ctx_of(L);
  if (!fs_result(L, fs_read_impl(c, p, n), "read")) {
    luaL_pushfail(L);
    lua_pushfstring(L, "not found: %s", p);
    return 2;
  }
  lua_pushlstring(L, c.scratch.data(), c.scratch.size());
  c.scratch.clear();
  return 1;
}

int fs_write(lua_State* L) {
  size_t n = 0, nd = 0;
  const char* p = luaL_checklstring(L, 1, &n);
  const char* d = luaL_checklstring(L, 2, &nd);
  if (!fs_result(L, fs_write_impl(ctx_of(L), p, n, d, nd), "write")) {
    luaL_pushfail(L);
    lua_pushfstring(L, "not found: %s", p);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

int fs_list(lua_State* L) {
  size_t n = 0;
  const char* p = luaL_optlstring(L, 1, ".", &n);
  LuaCallContext& c = ctx_of(L);
  if (!fs_result(L, fs_list_impl(c, p, n), "list")) {
    luaL_pushfail(L);
    lua_pushfstring(L, "not found: %s", p);
    return 2;
  }
  push_json(L, c.scratch_json);
  c.scratch_json = nullptr;
  return 1;
}

int fs_exists(lua_State* L) {
  size_t n = 0;
  const char* p = luaL_checklstring(L, 1, &n);
  lua_pushboolean(L, fs_exists_impl(ctx_of(L), p, n));
  return 1;
}

// ---- http -----------------------------------------------------------------------------------------------

// Reads http.request's argument into c.http_request. Raises on a malformed argument (before any C++ object
// with a destructor is live on this frame).
void read_http_args(lua_State* L, LuaCallContext& c) {
  c.http_request = http::HttpRequest{};
  if (lua_type(L, 1) == LUA_TSTRING) {
    size_t n = 0;
    const char* u = lua_tolstring(L, 1, &n);
    c.http_request.url.assign(u, n);
    return;
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  size_t n = 0;
  if (lua_getfield(L, 1, "url") != LUA_TSTRING) raise_error(L, ErrorCode::invalid_argument, "http.request: url must be a string");
  const char* s = lua_tolstring(L, -1, &n);
  c.http_request.url.assign(s, n);
  lua_pop(L, 1);
  int t = lua_getfield(L, 1, "method");
  if (t == LUA_TSTRING) {
    s = lua_tolstring(L, -1, &n);
    c.http_request.method.assign(s, n);
    for (char& ch : c.http_request.method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  } else if (t != LUA_TNIL) {
    raise_error(L, ErrorCode::invalid_argument, "http.request: method must be a string");
  }
  lua_pop(L, 1);
  t = lua_getfield(L, 1, "body");
  if (t == LUA_TSTRING) {
    s = lua_tolstring(L, -1, &n);
    c.http_request.body.assign(s, n);
  } else if (t != LUA_TNIL) {
    raise_error(L, ErrorCode::invalid_argument, "http.request: body must be a string (json.encode a table)");
  }
  lua_pop(L, 1);
  t = lua_getfield(L, 1, "headers");
  if (t == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
        raise_error(L, ErrorCode::invalid_argument, "http.request: headers must map names to strings");
      if (c.http_request.headers.size() >= 64) raise_error(L, ErrorCode::invalid_argument, "http.request: too many headers");
      size_t kn = 0, vn = 0;
      const char* k = lua_tolstring(L, -2, &kn);
      const char* v = lua_tolstring(L, -1, &vn);
      c.http_request.headers.emplace_back(std::string(k, kn), std::string(v, vn));
      lua_pop(L, 1);
    }
  } else if (t != LUA_TNIL) {
    raise_error(L, ErrorCode::invalid_argument, "http.request: headers must be a table");
  }
  lua_pop(L, 1);
}

enum class HttpWait { done, failed, deadline, cancelled };

// Runs c.http_request and waits for it on this (worker) thread, never past the call's deadline or cancel.
// On done the answer is in c.http_response; on failed the kind is returned in *kind, the message in c.scratch.
HttpWait http_fetch_impl(LuaCallContext& c, ErrorCode* kind) {
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<http::HttpResponse>> result;
  };
  auto w = std::make_shared<Waiter>();
  auto stop = std::make_shared<std::atomic<bool>>(false);
  const LuaHttpGrant& g = *c.caps.http;
  http::FetchLimits limits = g.limits;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - Clock::now()).count();
  // The transfer may outlive the call's deadline by a little: the wait below ends first and the call ends as a
  // timeout (which pcall cannot catch), not as the request's own, catchable timeout.
  limits.total_timeout_ms = std::max<long>(1, std::min<long>(limits.total_timeout_ms, static_cast<long>(left) + 100));
  limits.max_body_bytes = std::min(limits.max_body_bytes, c.limits.memory_bytes);
  g.client->fetch(std::move(c.http_request), g.policy, limits, stop, [w](Result<http::HttpResponse> r) {
    std::lock_guard<std::mutex> lock(w->mu);
    w->result = std::move(r);
    w->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(w->mu);
  for (;;) {  // wake every 10 ms for the call's cancel flag (set by another thread, without a notify)
    if (w->result) break;
    if (c.cancel && c.cancel->load(std::memory_order_relaxed)) { stop->store(true); return HttpWait::cancelled; }
    if (Clock::now() >= c.deadline) { stop->store(true); return HttpWait::deadline; }
    w->cv.wait_until(lock, std::min(c.deadline, Clock::now() + std::chrono::milliseconds(10)));
  }
  if (Clock::now() >= c.deadline) return HttpWait::deadline;
  if (!*w->result) {
    *kind = w->result->error().code;
    c.scratch = w->result->error().message;
    return HttpWait::failed;
  }
  c.http_response = std::move(*w->result).value();
  return HttpWait::done;
}

int http_request(lua_State* L) {
  LuaCallContext& c = ctx_of(L);
  if (c.http_requests >= c.caps.http->max_requests)
    raise_error(L, ErrorCode::forbidden, "http.request: at most %d requests per call", c.caps.http->max_requests);
  read_http_args(L, c);
  ++c.http_requests;
  ErrorCode kind = ErrorCode::io;
  switch (http_fetch_impl(c, &kind)) {
    case HttpWait::deadline: trip(L, ErrorCode::timeout, "deadline exceeded");
    case HttpWait::cancelled: trip(L, ErrorCode::cancelled, "call cancelled");
    case HttpWait::failed:
      // A timeout of the request itself (shorter than the call's) is still the request's error, catchable.
      raise_error(L, kind, "http.request: %s", c.scratch.c_str());
    case HttpWait::done: break;
  }
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, c.http_response.status);
  lua_setfield(L, -2, "status");
  lua_pushlstring(L, c.http_response.body.data(), c.http_response.body.size());
  lua_setfield(L, -2, "body");
  lua_pushlstring(L, c.http_response.content_type.data(), c.http_response.content_type.size());
  lua_setfield(L, -2, "content_type");
  lua_pushlstring(L, c.http_response.url.data(), c.http_response.url.size());
  lua_setfield(L, -2, "url");
  c.http_response = http::HttpResponse{};
  return 1;
}

void new_module(lua_State* L, const char* name, const luaL_Reg* fns) {
  lua_newtable(L);
  luaL_setfuncs(L, fns, 0);
  lua_setglobal(L, name);
}

}  // namespace

void register_host_api(lua_State* L) {
  LuaCallContext& c = ctx_of(L);
  if (c.caps.json) {
    static const luaL_Reg fns[] = {{"encode", json_encode}, {"decode", json_decode}, {nullptr, nullptr}};
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_pushlightuserdata(L, nullptr);
    lua_setfield(L, -2, "null");
    lua_setglobal(L, "json");
  }
  if (c.caps.re) {
    static const luaL_Reg fns[] = {{"find", re_find}, {"match", re_match}, {"gsub", re_gsub}, {nullptr, nullptr}};
    new_module(L, "re", fns);
  }
  if (c.caps.log) {
    static const luaL_Reg fns[] = {{"info", log_info}, {"warn", log_warn}, {"error", log_error}, {nullptr, nullptr}};
    new_module(L, "log", fns);
  }
  if (c.caps.time) {
    static const luaL_Reg fns[] = {
        {"now", time_now}, {"elapsed_ms", time_elapsed_ms}, {"remaining_ms", time_remaining_ms}, {nullptr, nullptr}};
    new_module(L, "time", fns);
  }
  if (c.workspace_fd >= 0) {
    static const luaL_Reg fns[] = {
        {"read", fs_read}, {"write", fs_write}, {"list", fs_list}, {"exists", fs_exists}, {nullptr, nullptr}};
    new_module(L, "fs", fns);
  }
  if (c.caps.http) {
    static const luaL_Reg fns[] = {{"request", http_request}, {nullptr, nullptr}};
    new_module(L, "http", fns);
  }
}

}  // namespace glm::tools::lua
