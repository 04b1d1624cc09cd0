// kernels/cpu/cpu_features.h — which SIMD level the kernels use, chosen once at run time.
//
// Threads: isa() is computed once (thread-safe static) and then read-only. GLM_CPU_ISA=scalar|avx2|avx512
// in the environment caps the level (for tests and benchmarks of the fallbacks).
#pragma once

#include <string_view>

namespace glm::kernels {

enum class Isa { scalar, avx2, avx512 };

Isa isa();
// AVX-512 VNNI (int8 dot products for q8_0 / q4_0 weights); false when isa() < avx512 or GLM_CPU_VNNI=0.
bool has_vnni();
// AVX-512 BF16 (vdpbf16ps for bf16 weights in GEMMs); false when isa() < avx512 or GLM_CPU_BF16=0.
bool has_avx512_bf16();
std::string_view isa_name(Isa i);

}  // namespace glm::kernels
