// `glm-agent bench matmul [--threads T] [--cols C] [--types bf16,q8_0,q4_0,q4_k,q6_k] [--mib M] [--repeat N]
//                         [--tokens K]`
//
// One token (decode's matmul; or K tokens: batched decode, prefill) against one weight matrix per type, in the
// rows as stored and in the packed layout the engine makes at load (MatView::packed), twice: a matrix of 2048
// rows (in cache: the kernels' compute rate) and one of about M MiB (from memory, as decode reads it), beside the
// machine's read bandwidth measured just before each. Prints one JSON object: weight GB/s (1e9 bytes of the stored
// matrix per second, medians of N) and, from memory, the share of the measured bandwidth; with K > 1 also GFLOP/s
// (2 per weight and token).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <random>
#include <sstream>
#include <vector>

#include "base/mapped_file.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/membw.h"
#include "runtime/cli/args.h"
#include "runtime/cli/commands.h"

namespace glm::cli {
namespace {

struct BenchMatrix {
  AnonymousMemory rows, packed;
  kernels::MatView view;  // the stored rows; view_packed() adds the packed copy
  kernels::MatView view_packed() const {
    kernels::MatView v = view;
    v.packed = packed.size() ? packed.data() : nullptr;
    return v;
  }
};

Result<BenchMatrix> make_matrix(kernels::DType t, int64_t rows, int64_t cols, kernels::ThreadPool& pool) {
  BenchMatrix m;
  m.view = {t, rows, cols, nullptr, kernels::dtype_row_bytes(t, cols)};
  auto mem = AnonymousMemory::allocate(m.view.n_bytes());
  if (!mem) return mem.take_error();
  m.rows = std::move(mem).value();
  m.view.data = m.rows.data();
  std::mt19937 rng(static_cast<uint32_t>(rows));
  std::normal_distribution<float> nd(0, 0.02f);
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = nd(rng);
    kernels::quantize_row(t, row.data(), m.rows.data() + size_t(r) * m.view.row_bytes, cols);
  }
  if (kernels::packing_wanted(m.view)) {
    auto pk = AnonymousMemory::allocate(kernels::packed_bytes(m.view));
    if (!pk) return pk.take_error();
    m.packed = std::move(pk).value();
    kernels::pack_matrix(m.view, m.packed.data(), &pool);
  }
  return m;
}

// Weight GB/s of `iters` matmuls of n_tok tokens.
double rate(const kernels::MatView& w, const std::vector<float>& x, int n_tok, std::vector<float>& y, int iters,
            kernels::ThreadPool& pool) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i)
    kernels::matmul(w, x.data(), w.cols, n_tok, y.data(), w.rows, pool, kernels::MatmulActs::compact);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return double(w.n_bytes()) * iters / s / 1e9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

int cmd_bench_matmul(const Argv& argv) {
  auto args = Args::parse(argv, {"threads", "cols", "types", "mib", "repeat", "tokens"}, {});
  if (!args) return fail(kExitUsage, args.error().message);
  auto threads = args->get_int("threads", 0);
  auto cols = args->get_int("cols", 2048);
  auto mib = args->get_int("mib", 256);
  auto repeat = args->get_int("repeat", 5);
  auto tokens = args->get_int("tokens", 1);
  if (!threads || !cols || !mib || !repeat || !tokens || *repeat < 1 || *cols < 256 || *cols % 256 || *mib < 16 ||
      *tokens < 1 || *tokens > 4096)
    return fail(kExitUsage,
                "--threads, --repeat expect integers; --cols a multiple of 256; --mib at least 16; --tokens 1 to 4096");
  const int n_tok = int(*tokens);
  std::vector<kernels::DType> types;
  std::stringstream list(args->get_or("types", "bf16,q8_0,q4_0,q4_k,q6_k"));
  for (std::string name; std::getline(list, name, ',');) {
    kernels::DType t;
    if (!kernels::dtype_from_name(name, &t)) return fail(kExitUsage, "--types: unknown type '" + name + "'");
    types.push_back(t);
  }
  kernels::ThreadPool pool(static_cast<int>(*threads));
  nlohmann::json out{{"bench", "matmul"}, {"threads", pool.n_threads()}, {"cols", *cols}, {"tokens", n_tok},
                     {"isa", std::string(kernels::isa_name(kernels::isa()))}, {"types", nlohmann::json::object()}};
  std::vector<float> x(static_cast<size_t>(*cols * n_tok));
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0, 1);
  for (auto& v : x) v = nd(rng);
  for (kernels::DType t : types) {
    nlohmann::json e;
    const size_t row_bytes = kernels::dtype_row_bytes(t, *cols);
    for (const bool big : {false, true}) {
      const int64_t rows = big ? std::max<int64_t>(2048, int64_t((size_t(*mib) << 20) / row_bytes) / 16 * 16) : 2048;
      auto m = make_matrix(t, rows, *cols, pool);
      if (!m) return fail(kExitFailed, "bench matmul: " + m.error().message);
      std::vector<float> y(static_cast<size_t>(rows * n_tok));
      // About 0.2 s per measurement (at 20 GB/s, or 50 GFLOP/s with many tokens).
      const double per_call =
          std::max(double(m->view.n_bytes()) / 20e9, 2.0 * double(rows) * double(*cols) * n_tok / 50e9);
      const int iters = std::max(3, int(0.2 / per_call));
      std::vector<double> packed, stored, share_packed, share_stored;
      for (int r = 0; r < *repeat; ++r) {
        const double bw = big ? kernels::measure_read_bandwidth(pool, size_t(256) << 20, 1) : 0.0;
        if (m->packed.size()) packed.push_back(rate(m->view_packed(), x, n_tok, y, iters, pool));
        stored.push_back(rate(m->view, x, n_tok, y, iters, pool));
        if (big && bw > 0) {
          if (!packed.empty()) share_packed.push_back(packed.back() / bw);
          share_stored.push_back(stored.back() / bw);
        }
      }
      nlohmann::json r{{"rows", rows}, {"mb", double(m->view.n_bytes()) / 1e6}, {"stored_gb_s", median(stored)}};
      if (!packed.empty()) r["packed_gb_s"] = median(packed);
      if (n_tok > 1) {  // GB/s of weights × tokens × 2 flops per weight / bytes per weight
        const double flop_per_byte = 2.0 * double(rows) * double(*cols) * n_tok / double(m->view.n_bytes());
        r["stored_gflop_s"] = median(stored) * flop_per_byte;
        if (!packed.empty()) r["packed_gflop_s"] = median(packed) * flop_per_byte;
      }
      if (big) {
        r["share_stored"] = median(share_stored);
        if (!share_packed.empty()) r["share_packed"] = median(share_packed);
      }
      e[big ? "memory" : "cache"] = r;
    }
    out["types"][std::string(kernels::dtype_name(t))] = e;
  }
  std::printf("%s\n", out.dump().c_str());
  return kExitOk;
}

}  // namespace glm::cli
