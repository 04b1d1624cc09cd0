#include "kernels/cpu/matmul.h"

#include <vector>

#include "base/error.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/matmul_isa.h"

namespace glm::kernels {

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
}  // namespace

void matmul_rows(const MatView& w, const float* x, int64_t ldx, int n_tok, float* y, int64_t ldy,
                 int64_t row_begin, int64_t row_end) {
  matmul_rows_at(isa(), w, x, ldx, n_tok, y, ldy, row_begin, row_end);
}

void matmul_rows_at(Isa level, const MatView& w, const float* x, int64_t ldx, int n_tok, float* y, int64_t ldy,
                    int64_t row_begin, int64_t row_end) {
  GLM_CHECK(int(level) <= int(isa()));
  GLM_CHECK(w.row_bytes == dtype_row_bytes(w.dtype, w.cols));
  GLM_CHECK(!dtype_is_blocked(w.dtype) || w.cols % kQBlock == 0);
  const auto* base = static_cast<const uint8_t*>(w.data);
  switch (level) {
    case Isa::avx512:
      isa_impl::matmul_rows_avx512(int(w.dtype), base, w.row_bytes, w.cols, x, ldx, n_tok, y, ldy, row_begin,
                                   row_end);
      return;
    case Isa::avx2:
      isa_impl::matmul_rows_avx2(int(w.dtype), base, w.row_bytes, w.cols, x, ldx, n_tok, y, ldy, row_begin,
                                 row_end);
      return;
    case Isa::scalar:
      matmul_rows_scalar(w, x, ldx, n_tok, y, ldy, row_begin, row_end);
      return;
  }
}

void matmul(const MatView& w, const float* x, int64_t ldx, int n_tok, float* y, int64_t ldy, ThreadPool& pool) {
  if (n_tok <= 0 || w.rows == 0) return;
  // Small matrices are not worth waking the pool for.
  if (pool.n_threads() == 1 || w.rows * w.cols * int64_t(n_tok) < 32 * 1024) {
    matmul_rows(w, x, ldx, n_tok, y, ldy, 0, w.rows);
    return;
  }
  pool.run([&](int ith, int nth) {
    int64_t b, e;
    ThreadPool::split(w.rows, ith, nth, 16, &b, &e);
    if (b < e) matmul_rows(w, x, ldx, n_tok, y, ldy, b, e);
  });
}

}  // namespace glm::kernels
