#include "model/cpu/cpu_engine.h"

#include <algorithm>
#include <map>
#include <set>

#include "model/cpu/kv_cache.h"
#include "model/glm4.h"

namespace glm {

namespace {
constexpr int kPrefillChunk = 256;

class CpuEngine final : public Engine {
 public:
  CpuEngine(Glm4Weights weights, const EngineOptions& opt, std::unique_ptr<kernels::ThreadPool> pool)
      : weights_(std::move(weights)), pool_(std::move(pool)) {
    const Glm4Config& c = weights_.config();
    caps_.backend = "cpu";
    caps_.paged_kv = false;
    caps_.async_copy = false;
    caps_.max_batch = std::max(1, opt.max_batch);
    caps_.max_seq_len = opt.max_seq_len > 0 ? std::min(opt.max_seq_len, c.context_length()) : c.context_length();
    caps_.n_vocab = c.n_vocab;
    caps_.n_threads = pool_->n_threads();
    caps_.weight_dtype = std::string(kernels::dtype_name(weights_.layer(0).wq.dtype));
    forward_ = std::make_unique<Glm4CpuForward>(weights_, *pool_, std::max(kPrefillChunk, caps_.max_batch),
                                                opt.exact_matmul ? kernels::MatmulActs::f32 : kernels::MatmulActs::compact);
  }

  const EngineCaps& caps() const override { return caps_; }
  const Glm4Config& config() const override { return weights_.config(); }

  Result<SeqId> create_sequence() override {
    SeqId id = next_id_++;
    seqs_.emplace(id, std::make_unique<cpu::KvCache>(config().n_layer, config().kv_dim()));
    return id;
  }

  Result<SeqId> fork_sequence(SeqId parent, int64_t n_prefix) override {
    auto* p = find(parent);
    if (!p) return unknown(parent);
    if (n_prefix < 0 || n_prefix > p->length())
      return make_error(ErrorCode::invalid_argument, "fork_sequence: prefix " + std::to_string(n_prefix) +
                                                         " is outside [0, " + std::to_string(p->length()) + "]");
    auto kv = std::make_unique<cpu::KvCache>(config().n_layer, config().kv_dim());
    kv->assign_prefix(*p, n_prefix);
    SeqId id = next_id_++;
    seqs_.emplace(id, std::move(kv));
    return id;
  }

  Status truncate_sequence(SeqId seq, int64_t n_keep) override {
    auto* s = find(seq);
    if (!s) return unknown(seq);
    if (n_keep < 0 || n_keep > s->length())
      return make_error(ErrorCode::invalid_argument, "truncate_sequence: " + std::to_string(n_keep) +
                                                         " is outside [0, " + std::to_string(s->length()) + "]");
    s->resize(n_keep);
    return {};
  }

  Status release_sequence(SeqId seq) override {
    if (!seqs_.erase(seq)) return unknown(seq);
    return {};
  }

  Result<int64_t> sequence_length(SeqId seq) const override {
    auto it = seqs_.find(seq);
    if (it == seqs_.end()) return unknown(seq);
    return it->second->length();
  }

  Status prefill(SeqId seq, std::span<const int32_t> tokens, LogitsMode mode, std::span<float> logits) override {
    auto* kv = find(seq);
    if (!kv) return unknown(seq);
    const int64_t n = int64_t(tokens.size());
    const int64_t rows = mode == LogitsMode::none ? 0 : mode == LogitsMode::last ? (n ? 1 : 0) : n;
    if (int64_t(logits.size()) != rows * caps_.n_vocab)
      return make_error(ErrorCode::invalid_argument, "prefill: logits span holds " + std::to_string(logits.size()) +
                                                         " floats, expected " + std::to_string(rows * caps_.n_vocab));
    for (int64_t i = 0; i < n; ++i) GLM_TRY(check_token(tokens[size_t(i)]));
    const int64_t start = kv->length();
    if (start + n > caps_.max_seq_len)
      return make_error(ErrorCode::output, "sequence would hold " + std::to_string(start + n) +
                                               " tokens, more than the context of " +
                                               std::to_string(caps_.max_seq_len));
    if (n == 0) return {};
    kv->resize(start + n);
    std::vector<ForwardToken> chunk;
    std::vector<int> rows_idx;
    float* out = logits.data();
    for (int64_t c0 = 0; c0 < n; c0 += kPrefillChunk) {
      const int64_t c1 = std::min(n, c0 + kPrefillChunk);
      chunk.clear();
      rows_idx.clear();
      for (int64_t i = c0; i < c1; ++i) {
        chunk.push_back({tokens[size_t(i)], start + i, kv});
        if (mode == LogitsMode::all || (mode == LogitsMode::last && i == n - 1)) rows_idx.push_back(int(i - c0));
      }
      forward_->run(chunk, rows_idx, out);
      out += rows_idx.size() * size_t(caps_.n_vocab);
    }
    return {};
  }

  Status decode(std::span<const DecodeInput> batch, std::span<float> logits) override {
    const int64_t b = int64_t(batch.size());
    if (b == 0) return {};
    if (b > caps_.max_batch)
      return make_error(ErrorCode::invalid_argument, "decode: batch of " + std::to_string(b) +
                                                         " exceeds max_batch " + std::to_string(caps_.max_batch));
    if (int64_t(logits.size()) != b * caps_.n_vocab)
      return make_error(ErrorCode::invalid_argument, "decode: logits span holds " + std::to_string(logits.size()) +
                                                         " floats, expected " + std::to_string(b * caps_.n_vocab));
    std::set<SeqId> seen;
    std::vector<ForwardToken> toks;
    for (const auto& in : batch) {
      auto* kv = find(in.seq);
      if (!kv) return unknown(in.seq);
      if (!seen.insert(in.seq).second)
        return make_error(ErrorCode::invalid_argument,
                          "decode: sequence " + std::to_string(in.seq) + " appears twice in one batch");
      GLM_TRY(check_token(in.token));
      if (kv->length() + 1 > caps_.max_seq_len)
        return make_error(ErrorCode::output, "sequence " + std::to_string(in.seq) + " is full (" +
                                                 std::to_string(caps_.max_seq_len) + " tokens)");
      toks.push_back({in.token, kv->length(), kv});
    }
    for (auto& t : toks) t.kv->resize(t.pos + 1);
    std::vector<int> rows(static_cast<size_t>(b));
    for (int i = 0; i < int(b); ++i) rows[size_t(i)] = i;
    forward_->run(toks, rows, logits.data());
    return {};
  }

 private:
  cpu::KvCache* find(SeqId id) {
    auto it = seqs_.find(id);
    return it == seqs_.end() ? nullptr : it->second.get();
  }
  static Error unknown(SeqId id) { return make_error(ErrorCode::not_found, "no sequence " + std::to_string(id)); }
  Status check_token(int32_t t) const {
    if (t < 0 || t >= caps_.n_vocab)
      return make_error(ErrorCode::invalid_argument, "token id " + std::to_string(t) + " is outside the vocabulary [0, " +
                                                         std::to_string(caps_.n_vocab) + ")");
    return {};
  }

  Glm4Weights weights_;
  std::unique_ptr<kernels::ThreadPool> pool_;
  std::unique_ptr<Glm4CpuForward> forward_;
  EngineCaps caps_;
  std::map<SeqId, std::unique_ptr<cpu::KvCache>> seqs_;
  SeqId next_id_ = 1;
};
}  // namespace

Result<std::unique_ptr<Engine>> make_cpu_engine(Glm4Weights weights, const EngineOptions& opt,
                                                std::unique_ptr<kernels::ThreadPool> pool) {
  if (!pool) pool = std::make_unique<kernels::ThreadPool>(opt.n_threads);
  return std::unique_ptr<Engine>(new CpuEngine(std::move(weights), opt, std::move(pool)));
}

WeightOptions cpu_weight_options(const EngineOptions& opt, std::optional<kernels::DType> matmul_dtype,
                                 kernels::ThreadPool* pool) {
  WeightOptions w;
  w.matmul_dtype = matmul_dtype;
  w.pool = pool;
  w.pack_matrices = !opt.exact_matmul;
  return w;
}

Result<std::unique_ptr<Engine>> open_cpu_engine(const std::string& model_dir, const EngineOptions& opt,
                                                std::optional<kernels::DType> matmul_dtype) {
  auto pool = std::make_unique<kernels::ThreadPool>(opt.n_threads);
  auto w = Glm4Weights::load(model_dir, cpu_weight_options(opt, matmul_dtype, pool.get()));
  if (!w) return w.take_error();
  return make_cpu_engine(std::move(w).value(), opt, std::move(pool));
}

}  // namespace glm
