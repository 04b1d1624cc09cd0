#include "kernels/cpu/cpu_features.h"

#include <cstdlib>
#include <cstring>

namespace glm::kernels {

namespace {
Isa detect() {
  __builtin_cpu_init();
  Isa best = Isa::scalar;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
    best = Isa::avx2;
  if (best == Isa::avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl"))
    best = Isa::avx512;
  if (const char* cap = std::getenv("GLM_CPU_ISA")) {
    if (!std::strcmp(cap, "scalar")) best = Isa::scalar;
    else if (!std::strcmp(cap, "avx2") && best == Isa::avx512) best = Isa::avx2;
  }
  return best;
}
}  // namespace

Isa isa() {
  static const Isa level = detect();
  return level;
}

namespace {
// An AVX-512 extension the kernels use: present, with AVX-512 chosen, and not turned off by its variable (=0).
bool extension_on(bool cpu_has, const char* env_var) {
  if (isa() != Isa::avx512 || !cpu_has) return false;
  const char* env = std::getenv(env_var);
  return !(env && !std::strcmp(env, "0"));
}
}  // namespace

bool has_vnni() {
  static const bool v = extension_on(__builtin_cpu_supports("avx512vnni"), "GLM_CPU_VNNI");
  return v;
}

bool has_avx512_bf16() {
  static const bool v = extension_on(__builtin_cpu_supports("avx512bf16"), "GLM_CPU_BF16");
  return v;
}

std::string_view isa_name(Isa i) {
  switch (i) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

}  // namespace glm::kernels
