// kernels/cpu/matmul_isa.h — per-ISA entry points of matmul (internal to kernels/cpu).
// The ISA files include no STL headers, so no inline library code is compiled for a wider ISA.
#pragma once

#include <cstddef>
#include <cstdint>

namespace glm::kernels::isa_impl {

// From this many tokens on, the AVX-512 kernels run packed GEMMs (compute-bound) instead of per-row dot
// products: f32 activations against widened weights, or, for q8_0/q4_0 on VNNI, int8 activations.
inline constexpr int kGemmMinTokens = 8;
// Both GEMMs work on blocks of this many output rows (two 16-lane vectors); the row split aligns to it.
inline constexpr int kGemmRows = 32;
// The f32 GEMMs (AVX-512's and AVX2's) sum each output's products in order within segments of this many columns,
// folded into a running total: no sum runs over a whole row, so the error is like the dot-product kernels'.
inline constexpr int64_t kGemmSeg = 128;
// Lane mask of a block holding nr <= 32 real rows: bits 0-15 the first vector, 16-31 the second.
inline constexpr uint32_t gemm_row_mask(int nr) { return nr >= 32 ? ~0u : (1u << nr) - 1; }

// The tail of a token loop over T-wide micro-kernels: for 0 < n < T, calls f.template operator()<n>() (a
// templated lambda), so each remainder width runs its own fully unrolled instantiation; n == 0 does nothing.
template <int T, class F>
inline void for_token_tail(int n, F&& f) {
  if constexpr (T > 1) {
    if (n == T - 1) return f.template operator()<T - 1>();
    for_token_tail<T - 1>(n, f);
  }
}

// The calling thread's scratch buffer for packed weights, at least `bytes` long and 64-byte aligned; reused by
// the next call on this thread (kernels never nest), never freed (pool threads live as long as the process).
void* thread_scratch(size_t bytes);

// dtype is the integer value of DType. Same contract as matmul_rows().
void matmul_rows_avx512(int dtype, const uint8_t* w, size_t row_bytes, int64_t cols, const float* x, int64_t ldx,
                        int n_tok, float* y, int64_t ldy, int64_t row_begin, int64_t row_end);
void matmul_rows_avx2(int dtype, const uint8_t* w, size_t row_bytes, int64_t cols, const float* x, int64_t ldx,
                      int n_tok, float* y, int64_t ldy, int64_t row_begin, int64_t row_end);

// Activations quantized per 32-block for the int8 kernels: q[token][block][32] int8, d[token][block] scale,
// corr[token][block][8] = -offset · (sum of each 4-byte group of q), offset 128 (q8_0), 8 (q4_0), 32 (q6_k) or 0.
struct ActQ8 {
  const int8_t* q;
  const float* d;
  const int32_t* corr;
  const void* q4_groups = nullptr;  // one token against q4_0 weights: the same activations in regroup_q4's layout
  const float* bsum = nullptr;      // q4_k: d · Σq of each [token][block] (the term of the weights' mins)
  const void* k_groups = nullptr;   // K-quants, n_tok < kGemmMinTokens: group_k's output (q, d, corr unused)
  const int32_t* seed = nullptr;    // q8_0 / q4_0: -offset · Σq of each [token][block] (packed decode)
};

// One token's nb 32-blocks of x as int8 (as ggml's q8_0: step amax / 127, rounded half away from zero), the step
// taken over each `span` floats (32, or 256: the K-quants' GEMM, as Q8_K): q[32 nb], d[nb]; where not null,
// corr[8 nb] and seed[nb] as in ActQ8 (-offset · Σq of each 4 and of the block) and bsum[nb] = d · Σq. AVX2
// (act_quant_avx2.cpp), as every int8 path.
void quantize_token(const float* x, int64_t nb, int span, int32_t offset, int8_t* q, float* d, int32_t* corr,
                    int32_t* seed, float* bsum);

// Bytes of regroup_q4's output for nb blocks, and the regrouping (q4_0 decode reads four blocks at once).
size_t q4_groups_bytes(int64_t nb);
void regroup_q4(const ActQ8& xq, int64_t nb, void* out);

// One token's activations of one 256-super-block as the K-quant decode kernels (VNNI and AVX2) read them:
// quantized per 256, as llama.cpp's Q8_K, in the order the weights' bytes hold their elements, with the sums the
// mins and offsets need. group_k makes one token's cols / 256 of them (cols % 256 == 0) for dtype 5 (q4_k) or 6
// (q6_k) into out (k_groups_bytes(1, cols) long); AVX2, rounding as quantize_token.
// q4_k's 32-blocks in KGroup::q: block j at place kQ4kPlace[j] (qs bytes hold blocks 2c and 2c + 1 at their two
// nibbles, and 64 bytes two such pairs, so the row kernels read blocks 0, 2 | 1, 3 | 4, 6 | 5, 7). The order is its
// own inverse: place i holds block kQ4kPlace[i].
inline constexpr int kQ4kPlace[8] = {0, 2, 1, 3, 4, 6, 5, 7};
struct KGroup {
  int8_t q[256];       // q4_k: 32-blocks placed by kQ4kPlace; q6_k: in order
  int16_t bsum16[16];  // Σq of each 16 (in element order)
  int16_t zero[8];     // so that one 256-bit load gives [0 × 8, bsum32], beside q4k_scale_words' [scales, mins]
  int16_t bsum32[8];   // Σq of each 32 (in element order)
  int32_t q6off[16];   // -32 · bsum16: the seed of a 16-block's sum against q6_k's unsigned codes
  float d;             // amax / 127
};
size_t k_groups_bytes(int n_tok, int64_t cols);
void group_k(int dtype, const float* x, int64_t cols, void* out);

// The int8 kernels' packed layout (MatView::packed): groups of kPackRows rows, rows in lanes.
inline constexpr int kPackRows = 16;

// q8_0 / q4_0 (cols % 64 == 0): two 32-blocks per record, a whole number of cache lines and the same bytes as the
// stored rows. A q4_0 block's byte 4p + e already holds columns 4p + e (low nibble) and 16 + 4p + e (high), so
// row r's 16 code bytes go to bytes 4r + e of the four 64-byte vectors as they are; q8_0 codes are stored + 128
// (unsigned for dpbusd). A 64-byte vector is rows 0-7 in its low half and 8-15 in its high half, so AVX2 reads
// the same records as two 8-row groups.
struct Q8Pack {             // 16 rows × two 32-blocks (17 cache lines)
  uint16_t d[2][16];        // block h's scale of each row (fp16)
  uint8_t q[2][8][64];      // block h, quad g: row r's bytes 4r + e: column 4g + e, + 128
};
struct Q4Pack {             // 16 rows × two 32-blocks (9 cache lines)
  uint16_t d[2][16];
  uint8_t q[2][4][64];      // block h, p < 4: row r's bytes 4r + e: low nibble column 4p + e, high 16 + 4p + e
};
static_assert(sizeof(Q8Pack) % 64 == 0 && sizeof(Q4Pack) % 64 == 0);

// q4_k / q6_k: one super-block per record, rows in lanes as above, sub-block scales unpacked to bytes. The scales
// come first and the codes after them in the order the kernels read them: one sequential stream.
struct Q4KPack {           // 16 rows × one super-block (37 cache lines)
  uint8_t sc[8][16];       // sub-block j's 6-bit scale of each row
  uint8_t m[4][16][2];     // the mins of sub-blocks 2i and 2i + 1 of each row, side by side (one s16 pair per lane)
  uint16_t d[16], dmin[16];
  uint8_t qs[8][4][64];    // sub-block j, p < 4: row r's bytes 4r + e: low nibble column 32j + 4p + e,
                           // high nibble column 32j + 16 + 4p + e
};
struct Q6KPack {           // 16 rows × one super-block (53 cache lines, 32 bytes of them padding)
  uint16_t d[16];
  uint8_t pad[32];
  struct {
    struct {
      uint8_t ql[2][64];   // p < 2: row r's bytes 4r + e: low nibble column 16i + 4p + e, high 16i + 8 + 4p + e
      uint8_t qh[64];      // row r's byte 4r + e holds the top two bits of column 16i + 4q + e at bit 2q (q < 4)
    } q[4];                // 16-block i = 4c + k
    int8_t sc[4][16];      // 16-block 4c + k's scale of each row
  } c[4];
};
static_assert(sizeof(Q4KPack) % 64 == 0 && sizeof(Q6KPack) % 64 == 0);

// Writes groups [g_begin, g_end) of a rows x cols matrix of dtype 3 (q8_0), 4 (q4_0), 5 (q4_k) or 6 (q6_k) in its
// packed layout to out (group 0; 64-byte aligned). Plain C++ (matmul_pack.cpp): any CPU packs.
void pack_groups(int dtype, const uint8_t* w, size_t row_bytes, int64_t rows, int64_t cols, int64_t g_begin,
                 int64_t g_end, void* out);

// dtype 3 (q8_0), 4 (q4_0), 5 (q4_k) or 6 (q6_k); requires AVX-512 VNNI; for q4_0 and n_tok 1, xq.q4_groups
// set; for the K-quants xq.bsum (q4_k) and, below kGemmMinTokens, xq.k_groups; xq.seed for packed q8_0 / q4_0.
// packed (may be null): pack_groups' layout of w, read instead of it when row_begin % 16 == 0.
void matmul_rows_vnni(int dtype, const uint8_t* w, size_t row_bytes, int64_t cols, const void* packed,
                      const ActQ8& xq, int n_tok, float* y, int64_t ldy, int64_t row_begin, int64_t row_end);

// dtype 3 (q8_0), 4 (q4_0), 5 (q4_k) or 6 (q6_k) on the stored rows with AVX2 only (maddubs), any n_tok; xq as
// for the VNNI kernels (q4_0 reads corr; the K-quants k_groups; q4_groups, seed unused).
void matmul_rows_avx2_int8(int dtype, const uint8_t* w, size_t row_bytes, int64_t cols, const ActQ8& xq, int n_tok,
                           float* y, int64_t ldy, int64_t row_begin, int64_t row_end);

// dtype 3 (q8_0), 4 (q4_0), 5 (q4_k) or 6 (q6_k) from pack_groups' layout with AVX2 only, any n_tok (prefill
// too: each 16-row group against every token while it is in L1), row_begin % kPackRows == 0; xq.q, xq.d,
// xq.seed (q4_0), or xq.k_groups (K-quants).
void matmul_packed_avx2_int8(int dtype, const void* packed, int64_t cols, const ActQ8& xq, int n_tok, float* y,
                             int64_t ldy, int64_t row_begin, int64_t row_end);

// bf16 weights (rows of cols bf16, cols even) against xb: n_tok rows of cols bf16 activations (acts_to_bf16);
// rows [row_begin, row_end) of y. Requires AVX-512 BF16; n_tok >= 1 (a GEMM from kGemmMinTokens on, per-row
// dot products below). `packed` (may be null): the same weights as pack_bf16_pairs wrote them, read instead of
// w when row_begin is a multiple of kGemmRows.
void gemm_bf16(const uint8_t* w, size_t row_bytes, int64_t cols, const uint32_t* packed, const uint16_t* xb,
               int n_tok, float* y, int64_t ldy, int64_t row_begin, int64_t row_end);
// Blocks [block_begin, block_end) of kGemmRows rows of a bf16 matrix into out, in the layout of
// MatView::packed for bf16 (out points at block 0).
void pack_bf16_pairs(const uint8_t* w, size_t row_bytes, int64_t rows, int64_t cols, int64_t block_begin,
                     int64_t block_end, uint32_t* out);
// x (n_tok rows of cols floats, stride ldx) rounded to bf16, nearest even, into out[n_tok][cols].
void acts_to_bf16(const float* x, int64_t ldx, int n_tok, int64_t cols, uint16_t* out);

}  // namespace glm::kernels::isa_impl
