#include "tools/lua/json_bridge.h"

#include <cmath>
#include <string>
#include <vector>

#include <lua.hpp>

namespace glm::tools::lua {

namespace {

struct Encoder {
  lua_State* L;
  EncodeLimits limits;
  size_t bytes = 0;
  std::vector<const void*> path;  // tables on the way from the root: a repeat is a cycle
};

Status fail(ErrorCode code, std::string message) { return make_error(code, std::move(message)); }

Status encode(Encoder& e, int idx, int depth, nlohmann::json& out) {
  lua_State* L = e.L;
  idx = lua_absindex(L, idx);
  if (e.bytes > e.limits.max_bytes)
    return fail(ErrorCode::output, "encoded value exceeds " + std::to_string(e.limits.max_bytes) + " bytes");
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
      out = nullptr;
      e.bytes += 4;
      return {};
    case LUA_TBOOLEAN:
      out = static_cast<bool>(lua_toboolean(L, idx));
      e.bytes += 5;
      return {};
    case LUA_TNUMBER:
      e.bytes += 8;
      if (lua_isinteger(L, idx)) {
        out = static_cast<int64_t>(lua_tointeger(L, idx));
      } else {
        double d = lua_tonumber(L, idx);
        if (!std::isfinite(d)) return fail(ErrorCode::runtime, "cannot encode NaN or infinity as JSON");
        out = d;
      }
      return {};
    case LUA_TSTRING: {
      size_t n = 0;
      const char* s = lua_tolstring(L, idx, &n);  // a string: no conversion, no allocation
      e.bytes += n + 2;
      if (e.bytes > e.limits.max_bytes)
        return fail(ErrorCode::output, "encoded value exceeds " + std::to_string(e.limits.max_bytes) + " bytes");
      out = std::string(s, n);
      return {};
    }
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == nullptr) {
        out = nullptr;
        e.bytes += 4;
        return {};
      }
      return fail(ErrorCode::runtime, "cannot encode a userdata as JSON");
    case LUA_TTABLE:
      break;
    default:
      return fail(ErrorCode::runtime, std::string("cannot encode a ") + lua_typename(L, lua_type(L, idx)) + " as JSON");
  }
  if (depth >= e.limits.max_depth)
    return fail(ErrorCode::output, "value nested deeper than " + std::to_string(e.limits.max_depth) + " levels");
  const void* self = lua_topointer(L, idx);
  for (const void* p : e.path)
    if (p == self) return fail(ErrorCode::runtime, "value contains a cycle");
  if (!lua_checkstack(L, 4)) return fail(ErrorCode::memory, "no Lua stack space to encode the value");
  e.path.push_back(self);
  e.bytes += 2;

  // Classify: an array iff the keys are exactly the integers 1..n.
  lua_Integer count = 0, max_key = 0;
  bool array = true;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    lua_pop(L, 1);
    ++count;
    if (array && lua_isinteger(L, -1)) {
      lua_Integer k = lua_tointeger(L, -1);
      if (k < 1) array = false;
      else if (k > max_key) max_key = k;
    } else {
      array = false;
    }
  }
  if (count == 0) {
    out = nlohmann::json::object();
  } else if (array && max_key == count) {
    out = nlohmann::json::array();
    auto& arr = out.get_ref<nlohmann::json::array_t&>();
    arr.resize(static_cast<size_t>(count));
    for (lua_Integer i = 1; i <= count; ++i) {
      lua_rawgeti(L, idx, i);
      Status s = encode(e, -1, depth + 1, arr[static_cast<size_t>(i - 1)]);
      lua_pop(L, 1);
      if (!s) return s;
      e.bytes += 1;
    }
  } else {
    out = nlohmann::json::object();
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
      std::string key;
      if (lua_type(L, -2) == LUA_TSTRING) {
        size_t n = 0;
        const char* s = lua_tolstring(L, -2, &n);
        key.assign(s, n);
      } else if (lua_isinteger(L, -2)) {
        key = std::to_string(lua_tointeger(L, -2));  // never lua_tolstring on a key: it would confuse lua_next
      } else {
        std::string t = lua_typename(L, lua_type(L, -2));
        lua_pop(L, 2);
        return fail(ErrorCode::runtime, "cannot encode a table key of type " + t + " as JSON");
      }
      e.bytes += key.size() + 3;
      Status s = encode(e, -1, depth + 1, out[key]);
      lua_pop(L, 1);
      if (!s) {
        lua_pop(L, 1);
        return s;
      }
    }
  }
  e.path.pop_back();
  if (e.bytes > e.limits.max_bytes)
    return fail(ErrorCode::output, "encoded value exceeds " + std::to_string(e.limits.max_bytes) + " bytes");
  return {};
}

}  // namespace

Status lua_to_json(lua_State* L, int idx, const EncodeLimits& limits, nlohmann::json& out) {
  int top = lua_gettop(L);
  Encoder e{L, limits, 0, {}};
  Status s = [&]() -> Status {
    try {
      return encode(e, idx, 0, out);
    } catch (const std::exception& ex) {
      return fail(ErrorCode::memory, std::string("encoding failed: ") + ex.what());
    }
  }();
  lua_settop(L, top);
  return s;
}

void push_json(lua_State* L, const nlohmann::json& j) {
  luaL_checkstack(L, 3, "JSON nested too deeply");
  switch (j.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      lua_pushlightuserdata(L, nullptr);
      return;
    case nlohmann::json::value_t::boolean:
      lua_pushboolean(L, j.get_ref<const nlohmann::json::boolean_t&>());
      return;
    case nlohmann::json::value_t::number_integer:
      lua_pushinteger(L, static_cast<lua_Integer>(j.get_ref<const nlohmann::json::number_integer_t&>()));
      return;
    case nlohmann::json::value_t::number_unsigned: {
      auto u = j.get_ref<const nlohmann::json::number_unsigned_t&>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) lua_pushinteger(L, static_cast<lua_Integer>(u));
      else lua_pushnumber(L, static_cast<lua_Number>(u));
      return;
    }
    case nlohmann::json::value_t::number_float:
      lua_pushnumber(L, j.get_ref<const nlohmann::json::number_float_t&>());
      return;
    case nlohmann::json::value_t::string: {
      const auto& s = j.get_ref<const nlohmann::json::string_t&>();
      lua_pushlstring(L, s.data(), s.size());
      return;
    }
    case nlohmann::json::value_t::binary:
      lua_pushlightuserdata(L, nullptr);
      return;
    case nlohmann::json::value_t::array: {
      const auto& a = j.get_ref<const nlohmann::json::array_t&>();
      lua_createtable(L, static_cast<int>(a.size() > 1u << 24 ? 1u << 24 : a.size()), 0);
      lua_Integer i = 1;
      for (auto it = a.begin(); it != a.end(); ++it, ++i) {  // iterators: trivially destructible
        push_json(L, *it);
        lua_rawseti(L, -2, i);
      }
      return;
    }
    case nlohmann::json::value_t::object: {
      const auto& o = j.get_ref<const nlohmann::json::object_t&>();
      lua_createtable(L, 0, static_cast<int>(o.size() > 1u << 24 ? 1u << 24 : o.size()));
      for (auto it = o.begin(); it != o.end(); ++it) {
        lua_pushlstring(L, it->first.data(), it->first.size());
        push_json(L, it->second);
        lua_rawset(L, -3);
      }
      return;
    }
  }
  lua_pushlightuserdata(L, nullptr);
}

int json_text_depth(const char* s, size_t n, int cap) {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < n; ++i) {
    char ch = s[i];
    if (in_string) {
      if (ch == '\\') ++i;
      else if (ch == '"') in_string = false;
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '[' || ch == '{') {
      if (++depth > max_depth) max_depth = depth;
      if (max_depth > cap) return max_depth;
    } else if (ch == ']' || ch == '}') {
      --depth;
    }
  }
  return max_depth;
}

}  // namespace glm::tools::lua
