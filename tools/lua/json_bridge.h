// tools/lua/json_bridge.h — Lua values <-> JSON, used for tool arguments, results and the json module.
//
// Lua -> JSON reads by raw access only (lua_next/lua_rawgeti): no metamethod of the script runs, so a
// conversion after the deadline executes no script code. A table whose keys are exactly 1..n is an array;
// any other table is an object (integer keys become decimal strings; other key types are an error); an
// empty table is {}. Integers stay integers, floats stay floats (1.0 encodes as 1.0); NaN and infinities,
// functions, threads and userdata are errors; json.null (a NULL light userdata) is null. Strings that are not
// UTF-8 have their bad bytes replaced by U+FFFD when dumped.
// JSON -> Lua: objects and arrays become tables, null becomes json.null, integers within int64 become Lua
// integers, other numbers floats.
//
// Threads: the thread running the lua_State.
#pragma once

#include <cstddef>

#include <nlohmann/json.hpp>

#include "base/error.h"

struct lua_State;

namespace glm::tools::lua {

struct EncodeLimits {
  int max_depth = 32;          // tables nested deeper: output error
  size_t max_bytes = 64 << 10; // approximate encoded size; past it: output error
};

// Converts the value at `idx`. Calls only Lua API functions that never raise. Errors: output (depth, size),
// runtime (cycle, unsupported type or key, NaN/Inf), memory (no Lua stack space).
Status lua_to_json(lua_State* L, int idx, const EncodeLimits& limits, nlohmann::json& out);

// Pushes `j`. Allocates in Lua, so it may raise (memory): call only from protected code (a C function that
// Lua called). `j` must outlive the call and must not be a local of the calling C function's stack frame if
// that frame has destructors (see context.h).
void push_json(lua_State* L, const nlohmann::json& j);

// The deepest nesting of arrays/objects in JSON text, scanning strings correctly; stops counting past `cap`.
int json_text_depth(const char* s, size_t n, int cap);

}  // namespace glm::tools::lua
