// The capped allocator: every byte a lua_State holds goes through here. Past the cap a growing request returns
// NULL and Lua raises "not enough memory" (LUA_ERRMEM); a shrink or a free never fails.
#include <cstdlib>

#include "tools/lua/context.h"

namespace glm::tools::lua {

void* capped_alloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* c = static_cast<LuaCallContext*>(ud);
  if (ptr == nullptr) osize = 0;  // then osize encodes the object type, not a size
  if (nsize == 0) {
    std::free(ptr);
    c->mem_used -= osize;
    return nullptr;
  }
  if (nsize > osize && (nsize - osize > c->limits.memory_bytes || c->mem_used + (nsize - osize) > c->limits.memory_bytes)) {
    c->mem_hit = true;
    return nullptr;
  }
  void* p = std::realloc(ptr, nsize);
  if (p == nullptr) {
    if (nsize <= osize) {  // a failed shrink keeps the old block, which is large enough
      c->mem_used = c->mem_used - osize + nsize;  // Lua frees it later as nsize bytes
      return ptr;
    }
    c->mem_hit = true;
    return nullptr;
  }
  c->mem_used = c->mem_used - osize + nsize;
  if (c->mem_used > c->mem_peak) c->mem_peak = c->mem_used;
  return p;
}

}  // namespace glm::tools::lua
