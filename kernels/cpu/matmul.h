// kernels/cpu/matmul.h — y = x · Wᵀ for a weight matrix of any DType and f32 activations.
//
// W is row-major [rows = out, cols = in] as stored (torch layout); x holds n_tok rows of cols floats.
// Accumulation is fp32; f32/f16/bf16 weights are converted inside the dot products, never materialized,
// with fp32 activations (exact path). q8_0/q4_0 weights on AVX-512 VNNI use int8 dot products against
// activations quantized per 32-block (error of that quantization added); elsewhere they are dequantized. The SIMD level comes from isa() (AVX-512, AVX2/FMA or scalar).
// From 8 tokens on (prefill, batched decode) AVX-512 runs packed GEMMs instead: f32/f16/bf16 weights widened to
// f32 once per 32-row block against f32 activations; q8_0/q4_0 on VNNI as int8 against int8 activations (as
// for decode), elsewhere widened like the float types. Accumulation is fp32 (int32 within a block).
// Threads: matmul() splits the output rows over the pool; it must be called from the pool's owner.
// Preconditions (asserted): cols % 32 == 0 for block types; row_bytes == dtype_row_bytes(dtype, cols).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/dtype.h"
#include "kernels/cpu/thread_pool.h"

namespace glm::kernels {

struct MatView {
  DType dtype = DType::f32;
  int64_t rows = 0;
  int64_t cols = 0;
  const void* data = nullptr;
  size_t row_bytes = 0;

  const uint8_t* row(int64_t r) const { return static_cast<const uint8_t*>(data) + size_t(r) * row_bytes; }
  size_t n_bytes() const { return size_t(rows) * row_bytes; }
};

// y[t * ldy + o] = sum_k x[t * ldx + k] * W[o][k] for t < n_tok, o < w.rows.
void matmul(const MatView& w, const float* x, int64_t ldx, int n_tok, float* y, int64_t ldy, ThreadPool& pool);

// The same for output rows [row_begin, row_end) on the calling thread only.
void matmul_rows(const MatView& w, const float* x, int64_t ldx, int n_tok, float* y, int64_t ldy,
                 int64_t row_begin, int64_t row_end);

// matmul_rows at a given SIMD level (tests and benchmarks compare levels; level must be <= isa()).
// allow_int8: for q8_0/q4_0 weights on AVX-512 VNNI, quantize the activations to int8 blocks (as llama.cpp
// does) and use integer dot products; otherwise weights are dequantized to fp32 in the dot products.
void matmul_rows_at(Isa level, bool allow_int8, const MatView& w, const float* x, int64_t ldx, int n_tok, float* y, int64_t ldy,
                    int64_t row_begin, int64_t row_end);

}  // namespace glm::kernels
