#include "kernels/cpu/matmul.h"

#include <cstddef>
#include <functional>
#include <new>
#include <vector>

#include "base/error.h"
#include "kernels/cpu/matmul_isa.h"

namespace glm::kernels {

void* isa_impl::thread_scratch(size_t bytes) {
  struct Buffer {
    void* p = nullptr;
    size_t cap = 0;
  };
  static thread_local Buffer b;
  if (bytes > b.cap) {
    ::operator delete(b.p, std::align_val_t{64});
    b.p = ::operator new(bytes, std::align_val_t{64});
    b.cap = bytes;
  }
  return b.p;
}

size_t isa_impl::k_groups_bytes(int n_tok, int64_t cols) {
  return size_t(n_tok) * size_t(cols / 256) * sizeof(isa_impl::KGroup);
}

namespace {
void matmul_rows_scalar(const MatView& w, const float* x, int64_t ldx, int n_tok, float* y, int64_t ldy,
                        int64_t row_begin, int64_t row_end) {
  thread_local std::vector<float> row;
  row.resize(size_t(w.cols));
  for (int64_t o = row_begin; o < row_end; ++o) {
    dequantize_row(w.dtype, w.row(o), row.data(), w.cols);
    for (int t = 0; t < n_tok; ++t) {
      const float* xt = x + t * ldx;
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t k = 0;
      for (; k + 8 <= w.cols; k += 8)
        for (int j = 0; j < 8; ++j) acc[j] += row[k + j] * xt[k + j];
      float s = 0;
      for (; k < w.cols; ++k) s += row[k] * xt[k];
      for (float a : acc) s += a;
      y[t * ldy + o] = s;
    }
  }
}

// Activations in the compact form of one call (owned by the thread that made them): int8 blocks for the VNNI
// kernels, or bf16 for the BF16 GEMM.
struct ActBuffer {
  std::vector<int8_t> q;
  std::vector<float> d;
  std::vector<int32_t> corr;
  std::vector<uint16_t> bf;
  std::vector<std::byte> q4_groups;
  std::vector<float> bsum;
  std::vector<std::byte> k_groups;
  std::vector<int32_t> seed;
  isa_impl::ActQ8 view() const {
    return {q.data(), d.data(), corr.data(), q4_groups.empty() ? nullptr : q4_groups.data(),
            bsum.empty() ? nullptr : bsum.data(), k_groups.empty() ? nullptr : k_groups.data(), seed.data()};
  }
};

// The offset the int8 kernels take off the weights' unsigned codes (see matmul_vnni.cpp).
int32_t weight_offset(DType t) {
  switch (t) {
    case DType::q8_0: return 128;
    case DType::q4_0: return 8;
    case DType::q6_k: return 32;
    default: return 0;
  }
}

// fn(t) for every token: over the pool in prefill (each token's activations are its own).
void for_tokens(int n_tok, ThreadPool* pool, const std::function<void(int)>& fn) {
  ThreadPool::for_each(pool, n_tok, isa_impl::kGemmMinTokens, 4, [&](int64_t t) { fn(int(t)); });
}

// regroup: also make the VNNI q4_0 row kernel's regrouped activations (one token, rows not packed).
// gemm: for the VNNI GEMM, which reads q, d and (q4_k) bsum only: no corr or seed, and the K-quants' activations
// per-32 blocks (at per-256 steps) rather than KGroups.
// pool (may be null): prefill's tokens are quantized in parallel (each token's blocks are its own).
void quantize_acts(DType wtype, const float* x, int64_t ldx, int n_tok, int64_t cols, bool regroup, bool gemm,
                   ThreadPool* pool, ActBuffer& b) {
  if ((wtype == DType::q4_k || wtype == DType::q6_k) && !gemm) {
    b.k_groups.resize(isa_impl::k_groups_bytes(n_tok, cols));
    const size_t per_token = isa_impl::k_groups_bytes(1, cols);
    for_tokens(n_tok, pool, [&](int t) {
      isa_impl::group_k(int(wtype), x + t * ldx, cols, b.k_groups.data() + size_t(t) * per_token);
    });
    return;
  }
  const int64_t nb = cols / kQBlock;
  const int32_t offset = weight_offset(wtype);
  // The scale's span: the K-quants' activations are quantized per 256 (llama.cpp's Q8_K) in the GEMM too, so
  // that prefill and decode (group_k) compute the same products.
  const int span = dtype_block(wtype) == kQKBlock ? kQKBlock : kQBlock;
  b.q.resize(size_t(n_tok * nb * 32));
  b.d.resize(size_t(n_tok * nb));
  b.corr.resize(gemm ? 0 : size_t(n_tok * nb * 8));
  b.seed.resize(gemm ? 0 : size_t(n_tok * nb));
  b.bsum.resize(wtype == DType::q4_k ? size_t(n_tok * nb) : 0);
  for_tokens(n_tok, pool, [&](int t) {
    const size_t i = size_t(t * nb);
    isa_impl::quantize_token(x + t * ldx, nb, span, offset, &b.q[i * 32], &b.d[i], gemm ? nullptr : &b.corr[i * 8],
                             gemm ? nullptr : &b.seed[i], b.bsum.empty() ? nullptr : &b.bsum[i]);
  });
  b.q4_groups.clear();
  if (wtype == DType::q4_0 && n_tok == 1 && regroup) {
    b.q4_groups.resize(isa_impl::q4_groups_bytes(nb));
    isa_impl::regroup_q4(b.view(), nb, b.q4_groups.data());
  }
  b.k_groups.clear();
}

// Which kernel family a call takes: the activations' form follows from the weights, the tokens and the CPU.
enum class Path { f32, int8, int8_avx2, bf16 };

Path path_for(Isa level, MatmulActs acts, const MatView& w, int n_tok) {
  if (acts != MatmulActs::compact || level == Isa::scalar) return Path::f32;
  if (level == Isa::avx512 && dtype_is_blocked(w.dtype) && has_vnni()) return Path::int8;
  if (level == Isa::avx512 && w.dtype == DType::bf16 && w.cols % 2 == 0 && has_avx512_bf16()) return Path::bf16;
  // Without VNNI: the quantized types through AVX2's maddubs, prefill too (each row against every token).
  if (dtype_is_blocked(w.dtype)) return Path::int8_avx2;
  return Path::f32;
}

// The activations of one call in the form `path` reads, made once by the calling thread and read by all rows.
struct CompactActs {
  isa_impl::ActQ8 q8{};
  const uint16_t* bf = nullptr;
};

CompactActs make_compact(Path path, const MatView& w, const float* x, int64_t ldx, int n_tok, int64_t row_begin,
                         ThreadPool* pool, ActBuffer& b) {
  CompactActs c;
  if (path == Path::int8 || path == Path::int8_avx2) {
    const bool regroup = path == Path::int8 && !(w.packed && row_begin % 16 == 0);
    const bool gemm = path == Path::int8 && n_tok >= isa_impl::kGemmMinTokens;
    quantize_acts(w.dtype, x, ldx, n_tok, w.cols, regroup, gemm, pool, b);
    c.q8 = b.view();
  } else if (path == Path::bf16) {
    b.bf.resize(size_t(n_tok * w.cols));
    uint16_t* bf = b.bf.data();
    for_tokens(n_tok, pool, [&](int t) { isa_impl::acts_to_bf16(x + t * ldx, ldx, 1, w.cols, bf + t * w.cols); });
    c.bf = b.bf.data();
  }
  return c;
}

void rows_float(Isa level, const MatView& w, const float* x, int64_t ldx, int n_tok, float* y, int64_t ldy,
                int64_t r0, int64_t r1) {
  const auto* base = static_cast<const uint8_t*>(w.data);
  switch (level) {
    case Isa::avx512:
      isa_impl::matmul_rows_avx512(int(w.dtype), base, w.row_bytes, w.cols, x, ldx, n_tok, y, ldy, r0, r1);
      return;
    case Isa::avx2:
      isa_impl::matmul_rows_avx2(int(w.dtype), base, w.row_bytes, w.cols, x, ldx, n_tok, y, ldy, r0, r1);
      return;
    case Isa::scalar:
      matmul_rows_scalar(w, x, ldx, n_tok, y, ldy, r0, r1);
      return;
  }
}

void rows_any(Path path, Isa level, const CompactActs& c, const MatView& w, const float* x, int64_t ldx, int n_tok,
              float* y, int64_t ldy, int64_t r0, int64_t r1) {
  const auto* base = static_cast<const uint8_t*>(w.data);
  switch (path) {
    case Path::int8:
      isa_impl::matmul_rows_vnni(int(w.dtype), base, w.row_bytes, w.cols, w.packed, c.q8, n_tok, y, ldy, r0, r1);
      return;
    case Path::int8_avx2:
      // Prefill too: a group's rows in lanes against each token beat a row unpacked once for 4 tokens (AVX2 prefill
      // q4_0 67 -> 175 tok/s).
      if (w.packed && r0 % isa_impl::kPackRows == 0)
        isa_impl::matmul_packed_avx2_int8(int(w.dtype), w.packed, w.cols, c.q8, n_tok, y, ldy, r0, r1);
      else
        isa_impl::matmul_rows_avx2_int8(int(w.dtype), base, w.row_bytes, w.cols, c.q8, n_tok, y, ldy, r0, r1);
      return;
    case Path::bf16:
      isa_impl::gemm_bf16(base, w.row_bytes, w.cols, static_cast<const uint32_t*>(w.packed), c.bf, n_tok, y, ldy, r0,
                          r1);
      return;
    case Path::f32:
      rows_float(level, w, x, ldx, n_tok, y, ldy, r0, r1);
      return;
  }
}

void check_view(const MatView& w) {
  GLM_CHECK(w.row_bytes == dtype_row_bytes(w.dtype, w.cols));
  GLM_CHECK(w.cols % dtype_block(w.dtype) == 0);
}
}  // namespace

bool packing_wanted(const MatView& w) {
  // The int8 layouts are read by the VNNI kernels and (8 rows at a time) by the AVX2 ones; q8_0 / q4_0 put two
  // blocks in a record.
  if (w.dtype == DType::q8_0 || w.dtype == DType::q4_0) return isa() != Isa::scalar && w.cols % 64 == 0;
  if (w.dtype == DType::q4_k || w.dtype == DType::q6_k) return isa() != Isa::scalar;
  return isa() == Isa::avx512 && w.dtype == DType::bf16 && has_avx512_bf16() && w.cols % 2 == 0;
}

namespace {
int64_t gemm_blocks(int64_t rows) { return (rows + isa_impl::kGemmRows - 1) / isa_impl::kGemmRows; }
}  // namespace

size_t packed_bytes(const MatView& w) {
  const size_t groups = size_t((w.rows + isa_impl::kPackRows - 1) / isa_impl::kPackRows);
  if (w.dtype == DType::q8_0) return groups * size_t(w.cols / 64) * sizeof(isa_impl::Q8Pack);
  if (w.dtype == DType::q4_0) return groups * size_t(w.cols / 64) * sizeof(isa_impl::Q4Pack);
  if (w.dtype == DType::q4_k) return groups * size_t(w.cols / 256) * sizeof(isa_impl::Q4KPack);
  if (w.dtype == DType::q6_k) return groups * size_t(w.cols / 256) * sizeof(isa_impl::Q6KPack);
  return size_t(gemm_blocks(w.rows)) * size_t(w.cols / 2) * isa_impl::kGemmRows * sizeof(uint32_t);
}

void pack_matrix(const MatView& w, void* out, ThreadPool* pool) {
  GLM_CHECK(packing_wanted(w));
  const bool bf16 = w.dtype == DType::bf16;
  const auto* src = static_cast<const uint8_t*>(w.data);
  const int64_t blocks = bf16 ? gemm_blocks(w.rows) : (w.rows + 15) / 16;
  auto run = [&](int64_t b, int64_t e) {
    if (bf16)
      isa_impl::pack_bf16_pairs(src, w.row_bytes, w.rows, w.cols, b, e, static_cast<uint32_t*>(out));
    else
      isa_impl::pack_groups(int(w.dtype), src, w.row_bytes, w.rows, w.cols, b, e, out);
  };
  if (pool && pool->n_threads() > 1) pool->parallel_for(blocks, 16, run);
  else run(0, blocks);
}

void matmul_rows_at(Isa level, MatmulActs acts, const MatView& w, const float* x, int64_t ldx, int n_tok, float* y,
                    int64_t ldy, int64_t row_begin, int64_t row_end) {
  GLM_CHECK(int(level) <= int(isa()));
  check_view(w);
  if (n_tok <= 0) return;
  const Path path = path_for(level, acts, w, n_tok);
  thread_local ActBuffer buf;
  const CompactActs c = make_compact(path, w, x, ldx, n_tok, row_begin, nullptr, buf);
  rows_any(path, level, c, w, x, ldx, n_tok, y, ldy, row_begin, row_end);
}

void matmul(const MatView& w, const float* x, int64_t ldx, int n_tok, float* y, int64_t ldy, ThreadPool& pool,
            MatmulActs acts) {
  if (n_tok <= 0 || w.rows == 0) return;
  check_view(w);
  const Isa level = isa();
  const Path path = path_for(level, acts, w, n_tok);
  // Made once by the calling thread and read by all: take the view here, since inside the lambda `buf` would
  // name each worker's own (empty) thread_local.
  thread_local ActBuffer buf;
  const CompactActs c = make_compact(path, w, x, ldx, n_tok, 0, &pool, buf);  // the splits below align to 16 rows
  auto rows = [&](int64_t b, int64_t e) { rows_any(path, level, c, w, x, ldx, n_tok, y, ldy, b, e); };
  // Small matrices are not worth waking the pool for.
  if (pool.n_threads() == 1 || w.rows * w.cols * int64_t(n_tok) < 32 * 1024) {
    rows(0, w.rows);
    return;
  }
  // Each thread streams its own rows; on a shared machine a descheduled worker's rows are taken over by the others.
  const bool blocks = n_tok >= isa_impl::kGemmMinTokens || (path == Path::bf16 && w.packed);
  pool.parallel_for(w.rows, blocks ? isa_impl::kGemmRows : 16, rows);
}

}  // namespace glm::kernels
