#include "tools/lua/runner.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include <lua.hpp>

#include "tools/lua/context.h"
#include "tools/lua/json_bridge.h"
#include "tools/lua/sandbox.h"

namespace glm::tools::lua {

nlohmann::json LuaOutcome::to_json() const {
  nlohmann::json j;
  j["ok"] = ok;
  if (ok) j["result"] = result;
  else j["error"] = {{"kind", std::string(error_code_name(error.code))}, {"message", error.message}};
  j["elapsed_ms"] = std::round(elapsed_ms * 1000.0) / 1000.0;
  j["memory_peak"] = memory_peak;
  if (!output.empty() || output_truncated) j["output"] = output;
  if (output_truncated) j["output_truncated"] = true;
  if (!logs.empty()) j["logs"] = logs;
  return j;
}

namespace {

// Protected entry: stack = [chunk, job]. Runs the chunk (and run(args)); leaves the values to convert.
int entry(lua_State* L) {
  const auto* job = static_cast<const LuaJob*>(lua_touserdata(L, 2));
  lua_settop(L, 1);
  if (job->entry == LuaEntry::chunk) {
    int nargs = 0;
    if (job->args) {
      push_json(L, *job->args);
      lua_pushvalue(L, -1);
      lua_setglobal(L, "args");
      nargs = 1;
    }
    lua_call(L, nargs, LUA_MULTRET);
    return lua_gettop(L);
  }
  lua_call(L, 0, 0);
  lua_pushglobaltable(L);
  if (job->entry == LuaEntry::describe) {
    lua_getfield(L, 1, "tool");  // _G's guard returns nil for unknown names
    lua_getfield(L, 1, "run");
    lua_pushboolean(L, lua_type(L, -1) == LUA_TFUNCTION);
    lua_replace(L, -2);
    lua_remove(L, 1);
    return 2;
  }
  lua_getfield(L, 1, "run");
  if (lua_type(L, -1) != LUA_TFUNCTION) raise_error(L, ErrorCode::runtime, "the script defines no run(args) function");
  lua_remove(L, 1);
  if (job->args) push_json(L, *job->args);
  else lua_newtable(L);
  lua_call(L, 1, LUA_MULTRET);
  return lua_gettop(L);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The error at the top of the stack (or none: `has_value` false), as a kind and a message. Never runs script
// code (no __tostring) and never allocates in Lua (it runs outside protected mode).
Error classify(lua_State* L, int status, const LuaCallContext& c, bool has_value = true) {
  std::string msg;
  int t = has_value ? lua_type(L, -1) : LUA_TNONE;
  if (t == LUA_TNONE) {
    // nothing to read: the message comes from the limit that tripped
  } else if (t == LUA_TSTRING) {
    size_t n = 0;
    const char* s = lua_tolstring(L, -1, &n);
    msg.assign(s, n);
  } else if (t == LUA_TNUMBER) {
    char buf[64];
    if (lua_isinteger(L, -1)) std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(lua_tointeger(L, -1)));
    else std::snprintf(buf, sizeof buf, "%.14g", static_cast<double>(lua_tonumber(L, -1)));
    msg = buf;
  } else {
    msg = std::string("error object is not a string (a ") + lua_typename(L, t) + ")";
  }
  ErrorCode kind = ErrorCode::runtime;
  if (c.tripped) {
    kind = c.tripped_kind;
    if (kind == ErrorCode::timeout && std::strcmp(c.tripped_message, "deadline exceeded") == 0)
      msg = "deadline of " + std::to_string(c.limits.deadline_ms) + " ms exceeded";
    else if (kind == ErrorCode::timeout)
      msg = "instruction budget of " + std::to_string(c.limits.max_instructions) + " exceeded";
    else if (kind == ErrorCode::output)
      msg = "print/log output exceeds the " + std::to_string(c.limits.output_bytes) + "-byte limit";
    else
      msg = c.tripped_message;
  } else if (status == LUA_ERRMEM) {
    kind = ErrorCode::memory;
    msg = "not enough memory (cap " + std::to_string(c.limits.memory_bytes) + " bytes)";
  } else if (c.output_exceeded) {
    kind = ErrorCode::output;
  } else {
    bool found = false;
    for (auto it = c.raised.rbegin(); it != c.raised.rend() && !found; ++it)
      if (ends_with(msg, it->second)) {
        kind = it->first;
        found = true;
      }
    if (!found && c.mem_hit && ends_with(msg, "not enough memory")) kind = ErrorCode::memory;
  }
  if (msg.size() > c.limits.error_bytes) {
    msg.resize(c.limits.error_bytes);
    msg += "...";
  }
  return Error{kind, std::move(msg)};
}

int append_chunk(lua_State*, const void* p, size_t n, void* ud) {
  static_cast<std::string*>(ud)->append(static_cast<const char*>(p), n);
  return 0;
}

}  // namespace

Result<std::string> precompile(std::string_view code, const LuaLimits& limits) {
  if (code.size() > limits.source_bytes)
    return make_error(ErrorCode::forbidden, "source of " + std::to_string(code.size()) + " bytes exceeds the " +
                                                std::to_string(limits.source_bytes) + "-byte limit");
  if (!code.empty() && code[0] == LUA_SIGNATURE[0]) return make_error(ErrorCode::forbidden, "binary chunks are refused");
  LuaCallContext c;  // only for the capped allocator
  c.limits = limits;
  lua_State* L = lua_newstate(capped_alloc, &c);
  if (L == nullptr) return make_error(ErrorCode::memory, "cannot create a Lua state");
  Result<std::string> out = std::string();
  int status = luaL_loadbufferx(L, code.data(), code.size(), "=tool", "t");
  if (status != LUA_OK) {
    out = make_error(status == LUA_ERRMEM ? ErrorCode::memory : ErrorCode::syntax,
                     lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "cannot load the source");
  } else {
    lua_dump(L, append_chunk, &out.value(), 0);  // keeps line info: errors still say tool:LINE:
  }
  lua_close(L);
  return out;
}

LuaOutcome run_lua(const LuaJob& job, const LuaLimits& limits, const LuaCapabilities& caps,
                   const std::atomic<bool>* cancel) {
  auto t0 = Clock::now();
  LuaOutcome out;
  auto elapsed = [&] { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); };
  auto fail = [&](ErrorCode kind, std::string message) {
    out.ok = false;
    out.error = Error{kind, std::move(message)};
    out.elapsed_ms = elapsed();
    return out;
  };
  if (cancel && cancel->load()) return fail(ErrorCode::cancelled, "call cancelled before it started");
  // Refused before parsing.
  if (!job.bytecode && job.code.size() > limits.source_bytes)
    return fail(ErrorCode::forbidden, "source of " + std::to_string(job.code.size()) + " bytes exceeds the " +
                                          std::to_string(limits.source_bytes) + "-byte limit");
  if (!job.bytecode && !job.code.empty() && job.code[0] == LUA_SIGNATURE[0])
    return fail(ErrorCode::forbidden, "binary chunks are refused");
  if (job.args) {
    std::string text = job.args->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (text.size() > limits.args_bytes)
      return fail(ErrorCode::invalid_argument, "arguments of " + std::to_string(text.size()) + " bytes exceed the " +
                                                   std::to_string(limits.args_bytes) + "-byte limit");
    if (json_text_depth(text.data(), text.size(), limits.args_depth) > limits.args_depth)
      return fail(ErrorCode::invalid_argument, "arguments nested deeper than " + std::to_string(limits.args_depth));
  }

  auto opened = open_sandbox(limits, caps, cancel);
  if (!opened) {
    Error e = opened.take_error();
    return fail(e.code, std::move(e.message));
  }
  std::unique_ptr<LuaSandbox> sb = std::move(opened).value();
  lua_State* L = sb->state();
  LuaCallContext& c = sb->context();

  int status = !job.bytecode
                   ? luaL_loadbufferx(L, job.code.data(), job.code.size(), "=tool", "t")
                   : luaL_loadbufferx(L, job.bytecode->data(), job.bytecode->size(), "=tool", "b");  // from precompile()
  if (status != LUA_OK) {
    out.error = Error{status == LUA_ERRMEM ? ErrorCode::memory : ErrorCode::syntax,
                      lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "cannot load the source"};
    if (out.error.message.size() > limits.error_bytes) out.error.message.resize(limits.error_bytes);
  } else {
    lua_pushcfunction(L, entry);
    lua_insert(L, -2);
    lua_pushlightuserdata(L, const_cast<LuaJob*>(&job));
    status = lua_pcall(L, 2, LUA_MULTRET, 0);
    if (status != LUA_OK) {
      out.error = classify(L, status, c);
    } else if (c.tripped) {
      out.error = classify(L, LUA_ERRRUN, c, false);
    } else if (c.output_exceeded) {
      out.error = Error{ErrorCode::output, "output exceeds the " + std::to_string(limits.output_bytes) + "-byte limit"};
    } else {
      EncodeLimits el{limits.result_depth, limits.output_bytes};
      int n = lua_gettop(L);
      Status s;
      if (job.entry == LuaEntry::describe) {
        nlohmann::json tool;
        s = lua_to_json(L, 1, el, tool);
        out.result = {{"tool", std::move(tool)}, {"has_run", static_cast<bool>(lua_toboolean(L, 2))}};
      } else if (n == 0) {
        out.result = nullptr;
      } else if (n == 1) {
        s = lua_to_json(L, 1, el, out.result);
      } else {
        out.result = nlohmann::json::array();
        for (int i = 1; i <= n && s.ok(); ++i) {
          out.result.push_back(nullptr);
          s = lua_to_json(L, i, el, out.result.back());
        }
      }
      if (!s) {
        out.error = Error{s.error().code, "result: " + s.error().message};
      } else {
        size_t bytes = out.result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size();
        if (bytes > limits.output_bytes)
          out.error = Error{ErrorCode::output, "result of " + std::to_string(bytes) + " bytes exceeds the " +
                                                   std::to_string(limits.output_bytes) + "-byte output limit"};
        else
          out.ok = true;
      }
      if (!out.ok) out.result = nullptr;
    }
  }
  out.output = std::move(c.output);
  out.output_truncated = c.output_exceeded;
  out.logs = std::move(c.logs);
  out.instructions = c.instructions;
  out.memory_peak = c.mem_peak;  // closing only frees
  sb.reset();                    // lua_close: no finalizer can exist, so no script code runs
  out.elapsed_ms = elapsed();
  return out;
}

}  // namespace glm::tools::lua
