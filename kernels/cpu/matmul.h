// kernels/cpu/matmul.h — y = x · Wᵀ for a weight matrix of any DType and f32 activations.
//
// W is row-major [rows = out, cols = in] as stored (torch layout); x holds n_tok rows of cols floats.
// Accumulation is fp32 everywhere. How the activations enter the dot products is the caller's choice
// (MatmulActs): kept f32 against weights widened inside the dot products (exact: the CPU reference), or rounded
// to the type the weights' own dot-product instruction takes, as llama.cpp does (int8 blocks for q8_0/q4_0/q4_k/
// q6_k on AVX-512 VNNI, bf16 for bf16 weights on AVX-512 BF16). The SIMD level comes from isa() (AVX-512,
// AVX2/FMA or scalar). From kGemmMinTokens tokens on (prefill, batched decode) AVX-512 runs packed GEMMs:
// 32-row blocks of weights widened to f32 (or interleaved as bf16 pairs, or int8) once, against all tokens.
// Threads: matmul() splits the output rows over the pool; it must be called from the pool's owner.
// Preconditions (asserted): cols % dtype_block(dtype) == 0; row_bytes == dtype_row_bytes(dtype, cols).
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
  // Optional: the same matrix rearranged once (pack_matrix, at load) into its kernels' own layout, read instead
  // of `data` by prefill and decode (row ranges aligned to the layout's row groups), which then unpack less per
  // call. bf16 (AVX-512 BF16): blocks of 32 rows, each [cols / 2 column pairs][32 rows] of 32-bit (k even, k odd)
  // pairs. q8_0 / q4_0 / q4_k / q6_k (VNNI): groups of 16 rows interleaved per two 32-blocks or per 256-super-block,
  // so that one int8 dot-product instruction covers 4 columns of 16 rows, with the sub-block scales unpacked. Last
  // group zero-padded.
  const void* packed = nullptr;

  const uint8_t* row(int64_t r) const { return static_cast<const uint8_t*>(data) + size_t(r) * row_bytes; }
  size_t n_bytes() const { return size_t(rows) * row_bytes; }
};

enum class MatmulActs {
  f32,      // activations stay f32; every weight type is widened to f32 in the dot products (exact)
  compact,  // block types on AVX-512 VNNI: activations quantized to int8 per 32-block (amax/127, as ggml's
            // q8_0; per 256 against q4_k/q6_k, as its Q8_K), integer dot products; without VNNI, these
            // types the same way through AVX2 (maddubs); bf16 on AVX-512 BF16: activations rounded to bf16
            // (nearest even), vdpbf16ps. Elsewhere (other types, CPUs without them) as f32.
};

// Whether w is worth packing (MatView::packed) on this CPU: bf16 (cols even) with AVX-512 BF16; q4_k / q6_k, and
// q8_0 / q4_0 with cols % 64 == 0, with AVX2 or AVX-512 (both read the same layout).
bool packing_wanted(const MatView& w);
// Bytes (64-byte multiple) that pack_matrix writes for w.
size_t packed_bytes(const MatView& w);
// Writes w in its packed layout to out (64-byte aligned, packed_bytes long), splitting the row groups over pool
// (may be null). Requires packing_wanted(w).
void pack_matrix(const MatView& w, void* out, ThreadPool* pool);

// y[t * ldy + o] = sum_k x[t * ldx + k] * W[o][k] for t < n_tok, o < w.rows.
void matmul(const MatView& w, const float* x, int64_t ldx, int n_tok, float* y, int64_t ldy, ThreadPool& pool,
            MatmulActs acts);

// The same for output rows [row_begin, row_end) on the calling thread only, at a given SIMD level (tests and
// benchmarks compare levels; level must be <= isa()).
void matmul_rows_at(Isa level, MatmulActs acts, const MatView& w, const float* x, int64_t ldx, int n_tok, float* y,
                    int64_t ldy, int64_t row_begin, int64_t row_end);

}  // namespace glm::kernels
