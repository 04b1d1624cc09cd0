#include "model/weights.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <new>

#include <unistd.h>

#include "model/gguf.h"
#include "model/safetensors.h"
#include "model/tensor_names.h"

namespace glm {

int64_t TensorRef::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string TensorRef::shape_string() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

const MappedFile& TensorStore::add_file(MappedFile file) {
  files_.push_back(std::make_shared<const MappedFile>(std::move(file)));
  return *files_.back();
}

const uint8_t* TensorStore::add_buffer(std::vector<uint8_t> bytes) {
  buffers_.push_back(std::make_unique<std::vector<uint8_t>>(std::move(bytes)));
  return buffers_.back()->data();
}

Status TensorStore::add_tensor(TensorRef t) {
  if (index_.count(t.name))
    return make_error(ErrorCode::invalid_argument, "tensor '" + t.name + "' appears twice (in '" + t.file + "')");
  index_.emplace(t.name, tensors_.size());
  tensors_.push_back(std::move(t));
  return {};
}

const TensorRef* TensorStore::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const float* Glm4Weights::own_f32(std::vector<float> v) {
  auto p = std::make_unique<float[]>(v.size());
  std::memcpy(p.get(), v.data(), v.size() * 4);
  owned_f32_.push_back(std::move(p));
  return owned_f32_.back().get();
}

namespace {
void parallel_rows(kernels::ThreadPool* pool, int64_t rows, const std::function<void(int64_t, int64_t)>& fn) {
  if (!pool || pool->n_threads() == 1) {
    fn(0, rows);
    return;
  }
  pool->run([&](int ith, int nth) {
    int64_t b, e;
    kernels::ThreadPool::split(rows, ith, nth, 1, &b, &e);
    if (b < e) fn(b, e);
  });
}
}  // namespace

MatView Glm4Weights::own_matrix(DType dtype, int64_t rows, int64_t cols) {
  MatView m;
  m.dtype = dtype;
  m.rows = rows;
  m.cols = cols;
  m.row_bytes = kernels::dtype_row_bytes(dtype, cols);
  auto mem = AnonymousMemory::allocate(m.n_bytes());
  if (!mem) throw std::bad_alloc();  // as new[] did before: the caller cannot go on without the matrix
  m.data = mem->data();
  owned_matrices_.push_back(std::move(mem).value());
  return m;
}

bool Glm4Weights::owns(const void* p) const {
  const auto* b = static_cast<const uint8_t*>(p);
  for (const auto& m : owned_matrices_)
    if (b >= m.data() && b < m.data() + m.size()) return true;
  return false;
}

void Glm4Weights::make_resident(kernels::ThreadPool* pool, bool pack_matrices) {
  std::vector<MatView*> mats = {&output_};  // the lm_head even when tied: token_embd_ keeps the stored rows
  for (auto& l : layers_)
    for (MatView* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate_up, &l.w_down}) mats.push_back(m);
  auto packs = [&](const MatView& m) { return pack_matrices && !m.packed && kernels::packing_wanted(m); };
  // Packed copies, and plain copies of what is still in the mapped file; matrices made at load (own_matrix) are
  // already in huge-page memory.
  auto bytes = [&](const MatView& m) -> size_t {
    if (packs(m)) return kernels::packed_bytes(m);
    return owns(m.data) ? 0 : (m.n_bytes() + 63) / 64 * 64;
  };
  size_t total = 0;
  for (const MatView* m : mats) total += bytes(*m);
  // The copy is anonymous memory while the mapping is page cache the kernel can drop: a model whose matrices
  // take more than half of the RAM stays mapped (and its kernels unpack per call) rather than risk swapping.
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (total == 0 || (pages > 0 && page > 0 && total > size_t(pages) * size_t(page) / 2)) return;
  auto mem = AnonymousMemory::allocate(total);
  if (!mem) return;  // stays mapped: slower, not wrong
  uint8_t* at = mem->data();
  for (MatView* m : mats) {
    const size_t n = bytes(*m);
    if (n == 0) continue;
    if (packs(*m)) {
      kernels::pack_matrix(*m, at, pool);
      m->packed = at;
    } else {
      const MatView src = *m;
      parallel_rows(pool, src.rows, [&](int64_t b, int64_t e) {
        std::memcpy(at + size_t(b) * src.row_bytes, src.row(b), size_t(e - b) * src.row_bytes);
      });
      m->data = at;
    }
    at += n;
  }
  owned_matrices_.push_back(std::move(mem).value());
}

size_t Glm4Weights::decode_bytes() const {
  size_t n = output_.n_bytes();
  for (const auto& l : layers_)
    n += l.wq.n_bytes() + l.wk.n_bytes() + l.wv.n_bytes() + l.wo.n_bytes() + l.w_gate_up.n_bytes() + l.w_down.n_bytes();
  return n;
}

namespace {
std::string name_of(TensorId id, int il, bool gguf) { return gguf ? gguf_tensor_name(id, il) : hf_tensor_name(id, il); }

Result<const TensorRef*> find_shaped(const TensorStore& store, TensorId id, int il, bool gguf,
                                     std::vector<int64_t> expect) {
  std::string name = name_of(id, il, gguf);
  const TensorRef* t = store.find(name);
  if (!t) return make_error(ErrorCode::not_found, "missing tensor '" + name + "'");
  if (t->shape != expect) {
    TensorRef e;
    e.shape = expect;
    return make_error(ErrorCode::invalid_argument, "tensor '" + name + "' has shape " + t->shape_string() +
                                                       ", config.json implies " + e.shape_string());
  }
  return t;
}

}  // namespace

Result<Glm4Weights> Glm4Weights::from_store(const Glm4Config& c, TensorStore store, bool gguf,
                                            const WeightOptions& opt) {
  GLM_TRY(c.validate());
  Glm4Weights w;
  w.config_ = c;
  w.store_ = std::move(store);
  const TensorStore& st = w.store_;

  // A vector (norm weight or bias) → owned f32.
  auto vec = [&](TensorId id, int il, int64_t n) -> Result<const float*> {
    auto t = find_shaped(st, id, il, gguf, {n});
    if (!t) return t.take_error();
    std::vector<float> v(static_cast<size_t>(n));
    kernels::dequantize_row((*t)->dtype, (*t)->data, v.data(), n);
    return w.own_f32(std::move(v));
  };
  // A matrix [rows, cols] → a view into the mapping, or a re-encoded owned copy.
  auto mat = [&](TensorId id, int il, int64_t rows, int64_t cols, bool allow_convert) -> Result<MatView> {
    auto t = find_shaped(st, id, il, gguf, {rows, cols});
    if (!t) return t.take_error();
    const TensorRef& r = **t;
    MatView m;
    m.dtype = r.dtype;
    m.rows = rows;
    m.cols = cols;
    m.row_bytes = kernels::dtype_row_bytes(r.dtype, cols);
    m.data = r.data;
    if (m.n_bytes() != r.n_bytes)
      return make_error(ErrorCode::invalid_argument, "tensor '" + r.name + "' holds " + std::to_string(r.n_bytes) +
                                                         " bytes, expected " + std::to_string(m.n_bytes()));
    if (allow_convert && opt.matmul_dtype && *opt.matmul_dtype != r.dtype) {
      DType to = *opt.matmul_dtype;
      if (cols % kernels::dtype_block(to) != 0)
        return make_error(ErrorCode::unsupported, "cannot quantize '" + r.name + "' to " +
                                                      std::string(kernels::dtype_name(to)) +
                                                      ": its row length is not a multiple of " +
                                                      std::to_string(kernels::dtype_block(to)));
      MatView q = w.own_matrix(to, rows, cols);
      parallel_rows(opt.pool, rows, [&](int64_t b, int64_t e) {
        std::vector<float> tmp(static_cast<size_t>(cols));
        for (int64_t i = b; i < e; ++i) {
          kernels::dequantize_row(m.dtype, m.row(i), tmp.data(), cols);
          kernels::quantize_row(to, tmp.data(), const_cast<uint8_t*>(q.row(i)), cols);
        }
      });
      return q;
    }
    return m;
  };

  auto emb = mat(TensorId::token_embd, 0, c.n_vocab, c.n_embd, false);
  if (!emb) return emb.take_error();
  w.token_embd_ = *emb;
  auto on = vec(TensorId::output_norm, 0, c.n_embd);
  if (!on) return on.take_error();
  w.output_norm_ = *on;
  if (c.tie_word_embeddings || (gguf && !st.find(gguf_tensor_name(TensorId::output)))) {
    w.output_ = w.token_embd_;
  } else {
    auto out = mat(TensorId::output, 0, c.n_vocab, c.n_embd, true);
    if (!out) return out.take_error();
    w.output_ = *out;
  }

  for (int il = 0; il < c.n_layer; ++il) {
    LayerWeights L;
#define GLM_BIND_TO(var, expr)           \
  do {                                   \
    auto r_ = (expr);                    \
    if (!r_) return r_.take_error();     \
    var = *r_;                           \
  } while (0)
#define GLM_BIND(field, expr) GLM_BIND_TO(L.field, expr)
    GLM_BIND(attn_norm, vec(TensorId::attn_norm, il, c.n_embd));
    if (!st.find(name_of(TensorId::attn_q, il, gguf)) && st.find(name_of(TensorId::attn_qkv, il, gguf))) {
      // Fused [q | k | v]: three row ranges of one matrix (rows are contiguous in every dtype).
      const int64_t n_qkv = c.q_dim() + 2 * c.kv_dim();
      MatView qkv;
      GLM_BIND_TO(qkv, mat(TensorId::attn_qkv, il, n_qkv, c.n_embd, true));
      auto rows = [&](int64_t r0, int64_t n) {
        MatView m = qkv;
        m.rows = n;
        m.data = qkv.row(r0);
        return m;
      };
      L.wq = rows(0, c.q_dim());
      L.wk = rows(c.q_dim(), c.kv_dim());
      L.wv = rows(c.q_dim() + c.kv_dim(), c.kv_dim());
      if (c.attention_bias) {
        const float* b = nullptr;
        GLM_BIND_TO(b, vec(TensorId::attn_qkv_bias, il, n_qkv));
        L.bq = b;
        L.bk = b + c.q_dim();
        L.bv = b + c.q_dim() + c.kv_dim();
      }
    } else {
      GLM_BIND(wq, mat(TensorId::attn_q, il, c.q_dim(), c.n_embd, true));
      GLM_BIND(wk, mat(TensorId::attn_k, il, c.kv_dim(), c.n_embd, true));
      GLM_BIND(wv, mat(TensorId::attn_v, il, c.kv_dim(), c.n_embd, true));
      if (c.attention_bias) {
        GLM_BIND(bq, vec(TensorId::attn_q_bias, il, c.q_dim()));
        GLM_BIND(bk, vec(TensorId::attn_k_bias, il, c.kv_dim()));
        GLM_BIND(bv, vec(TensorId::attn_v_bias, il, c.kv_dim()));
      }
    }
    if (!c.attention_bias && st.find(name_of(TensorId::attn_q_bias, il, gguf))) {
      return make_error(ErrorCode::invalid_argument,
                        "config.json says attention_bias = false but the checkpoint has '" +
                            name_of(TensorId::attn_q_bias, il, gguf) + "'");
    }
    GLM_BIND(wo, mat(TensorId::attn_output, il, c.n_embd, c.q_dim(), true));
    GLM_BIND(post_attn_norm, vec(TensorId::post_attn_norm, il, c.n_embd));
    GLM_BIND(ffn_norm, vec(TensorId::ffn_norm, il, c.n_embd));
    GLM_BIND(w_gate_up, mat(TensorId::ffn_gate_up, il, 2 * c.n_ff, c.n_embd, true));
    GLM_BIND(w_down, mat(TensorId::ffn_down, il, c.n_embd, c.n_ff, true));
    GLM_BIND(post_ffn_norm, vec(TensorId::post_ffn_norm, il, c.n_embd));
#undef GLM_BIND
#undef GLM_BIND_TO
    w.layers_.push_back(L);
  }
  if (opt.resident_matrices) w.make_resident(opt.pool, opt.pack_matrices);
  return w;
}

Result<Glm4Weights> Glm4Weights::load(const std::string& model_dir, const WeightOptions& opt) {
  // A .gguf file, or a directory whose only weights are one .gguf file.
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(model_dir, ec) && fs::path(model_dir).extension() == ".gguf")
    return load_gguf_weights(model_dir, opt);
  if (fs::is_directory(model_dir, ec) && !fs::exists(model_dir + "/config.json", ec)) {
    std::vector<std::string> ggufs;
    for (const auto& e : fs::directory_iterator(model_dir, ec))
      if (e.path().extension() == ".gguf") ggufs.push_back(e.path().string());
    if (ggufs.size() == 1) return load_gguf_weights(ggufs[0], opt);
    if (ggufs.size() > 1)
      return make_error(ErrorCode::invalid_argument, "'" + model_dir + "' holds several .gguf files; name one");
  }
  auto config = Glm4Config::load(model_dir);
  if (!config) return config.take_error();
  auto store = load_safetensors(model_dir);
  if (!store) return store.take_error();
  return from_store(*config, std::move(store).value(), false, opt);
}

namespace {
// splitmix64 → approximately normal via the sum of 4 uniforms (fast; the distribution's shape is irrelevant).
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float normal() {
    uint64_t r = next();
    float s = 0;
    for (int i = 0; i < 4; ++i) s += float((r >> (16 * i)) & 0xffff) * (1.0f / 65536.0f);
    return (s - 2.0f) * 1.7320508f;  // unit variance
  }
};
}  // namespace

Glm4Weights Glm4Weights::random(const Glm4Config& c, DType dtype, uint64_t seed, kernels::ThreadPool* pool,
                                bool pack_matrices) {
  Glm4Weights w;
  w.config_ = c;
  uint64_t tensor_seed = seed;
  auto fill = [&](DType dt, int64_t rows, int64_t cols, float scale) {
    MatView m = w.own_matrix(dt, rows, cols);
    uint64_t base = (tensor_seed += 0x1234567ull);
    parallel_rows(pool, rows, [&](int64_t b, int64_t e) {
      std::vector<float> tmp(static_cast<size_t>(cols));
      for (int64_t i = b; i < e; ++i) {
        Rng rng{base ^ (uint64_t(i) * 0x9e3779b97f4a7c15ull)};
        for (auto& v : tmp) v = rng.normal() * scale;
        kernels::quantize_row(dt, tmp.data(), const_cast<uint8_t*>(m.row(i)), cols);
      }
    });
    return m;
  };
  auto norm = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    Rng rng{tensor_seed += 77};
    for (auto& x : v) x = 1.0f + 0.1f * rng.normal();
    return w.own_f32(std::move(v));
  };
  auto bias = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    Rng rng{tensor_seed += 91};
    for (auto& x : v) x = 0.02f * rng.normal();
    return w.own_f32(std::move(v));
  };
  const float s = 0.02f;
  w.token_embd_ = fill(kernels::dtype_is_blocked(dtype) ? DType::bf16 : dtype, c.n_vocab, c.n_embd, 1.0f);
  w.output_norm_ = norm(c.n_embd);
  w.output_ = c.tie_word_embeddings ? w.token_embd_ : fill(dtype, c.n_vocab, c.n_embd, s);
  for (int il = 0; il < c.n_layer; ++il) {
    LayerWeights L;
    L.attn_norm = norm(c.n_embd);
    L.wq = fill(dtype, c.q_dim(), c.n_embd, s);
    L.wk = fill(dtype, c.kv_dim(), c.n_embd, s);
    L.wv = fill(dtype, c.kv_dim(), c.n_embd, s);
    if (c.attention_bias) {
      L.bq = bias(c.q_dim());
      L.bk = bias(c.kv_dim());
      L.bv = bias(c.kv_dim());
    }
    L.wo = fill(dtype, c.n_embd, c.q_dim(), s);
    L.post_attn_norm = norm(c.n_embd);
    L.ffn_norm = norm(c.n_embd);
    L.w_gate_up = fill(dtype, 2 * c.n_ff, c.n_embd, s);
    L.w_down = fill(dtype, c.n_embd, c.n_ff, s);
    L.post_ffn_norm = norm(c.n_embd);
    w.layers_.push_back(L);
  }
  w.make_resident(pool, pack_matrices);
  return w;
}

}  // namespace glm
