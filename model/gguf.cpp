#include "model/gguf.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>

#include "model/safetensors.h"
#include "model/tensor_names.h"

namespace glm {

namespace {
using json = nlohmann::json;
using kernels::DType;

constexpr uint32_t kMagic = 0x46554747;  // "GGUF"
constexpr int kQK = 256;                 // K-quant super-block

enum ValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

Error corrupt(const std::string& path, const std::string& msg) {
  return make_error(ErrorCode::invalid_argument, "gguf '" + path + "': " + msg);
}

// A bounds-checked reader over the mapped bytes.
struct Cursor {
  const uint8_t* p;
  size_t n;
  size_t at = 0;
  bool ok = true;
  template <class T>
  T get() {
    T v{};
    if (!ok || n - at < sizeof(T)) {
      ok = false;
      return v;
    }
    std::memcpy(&v, p + at, sizeof(T));
    at += sizeof(T);
    return v;
  }
  std::string str() {
    uint64_t len = get<uint64_t>();
    if (!ok || len > n - at) {
      ok = false;
      return {};
    }
    std::string s(reinterpret_cast<const char*>(p + at), size_t(len));
    at += size_t(len);
    return s;
  }
};

size_t scalar_size(uint32_t t) {
  switch (t) {
    case kU8: case kI8: case kBool: return 1;
    case kU16: case kI16: return 2;
    case kU32: case kI32: case kF32: return 4;
    case kU64: case kI64: case kF64: return 8;
    default: return 0;
  }
}

json read_scalar(Cursor& c, uint32_t t) {
  switch (t) {
    case kU8: return c.get<uint8_t>();
    case kI8: return c.get<int8_t>();
    case kU16: return c.get<uint16_t>();
    case kI16: return c.get<int16_t>();
    case kU32: return c.get<uint32_t>();
    case kI32: return c.get<int32_t>();
    case kF32: return c.get<float>();
    case kBool: return c.get<uint8_t>() != 0;
    case kU64: return c.get<uint64_t>();
    case kI64: return c.get<int64_t>();
    case kF64: return c.get<double>();
    case kString: return c.str();
    default: c.ok = false; return nullptr;
  }
}

// Block size (elements) and bytes per block of a ggml type; false when unsupported.
bool type_layout(uint32_t t, int64_t* block, size_t* bytes) {
  switch (GgmlType(t)) {
    case GgmlType::f32: *block = 1; *bytes = 4; return true;
    case GgmlType::f16: case GgmlType::bf16: *block = 1; *bytes = 2; return true;
    case GgmlType::q8_0: *block = 32; *bytes = 34; return true;
    case GgmlType::q4_0: *block = 32; *bytes = 18; return true;
    case GgmlType::q4_1: *block = 32; *bytes = 20; return true;
    case GgmlType::q5_0: *block = 32; *bytes = 22; return true;
    case GgmlType::q5_1: *block = 32; *bytes = 24; return true;
    case GgmlType::q4_k: *block = kQK; *bytes = 144; return true;
    case GgmlType::q5_k: *block = kQK; *bytes = 176; return true;
    case GgmlType::q6_k: *block = kQK; *bytes = 210; return true;
  }
  return false;
}

// Dequantizers of the GGUF types the engine re-encodes at load (Q4_K and Q6_K are kernels' own types).
float half_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return kernels::f16_to_f32(h);
}

// Q4_1: d, m (f16), qs[16]; x = d·q + m. Q5_0: d, qh[4], qs[16]; x = d·(q - 16). Q5_1: d, m, qh[4], qs[16].
void dequantize_q4_1(const uint8_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / 32; ++i, x += 20, y += 32) {
    const float d = half_at(x), m = half_at(x + 2);
    for (int j = 0; j < 16; ++j) {
      y[j] = float(x[4 + j] & 0x0F) * d + m;
      y[j + 16] = float(x[4 + j] >> 4) * d + m;
    }
  }
}

void dequantize_q5(const uint8_t* x, float* y, int64_t n, bool with_min) {
  const int bytes = with_min ? 24 : 22;
  for (int64_t i = 0; i < n / 32; ++i, x += bytes, y += 32) {
    const float d = half_at(x), m = with_min ? half_at(x + 2) : 0.0f;
    const uint8_t* qhp = x + (with_min ? 4 : 2);
    const uint8_t* qs = qhp + 4;
    uint32_t qh;
    std::memcpy(&qh, qhp, 4);
    for (int j = 0; j < 16; ++j) {
      const int xh0 = int(((qh >> (j + 0)) << 4) & 0x10), xh1 = int((qh >> (j + 12)) & 0x10);
      const int x0 = ((qs[j] & 0x0F) | xh0) - (with_min ? 0 : 16);
      const int x1 = ((qs[j] >> 4) | xh1) - (with_min ? 0 : 16);
      y[j] = float(x0) * d + m;
      y[j + 16] = float(x1) * d + m;
    }
  }
}

// Q5_K: d, dmin (f16), scales[12] (as Q4_K), qh[32], qs[128].
void dequantize_q5_k(const uint8_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i, x += 176) {
    const float d = half_at(x), min = half_at(x + 2);
    const uint8_t* scales = x + 4;
    const uint8_t* qh = x + 16;
    const uint8_t* ql = x + 48;
    int is = 0;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0; j < kQK; j += 64) {
      uint8_t sc, m;
      kernels::q4k_scale_min(scales, is + 0, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      kernels::q4k_scale_min(scales, is + 1, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * float((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * float((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
      ql += 32;
      is += 2;
      u1 <<= 2;
      u2 <<= 2;
    }
  }
}

uint32_t ggml_type_of(DType t) {
  switch (t) {
    case DType::f32: return uint32_t(GgmlType::f32);
    case DType::f16: return uint32_t(GgmlType::f16);
    case DType::bf16: return uint32_t(GgmlType::bf16);
    case DType::q8_0: return uint32_t(GgmlType::q8_0);
    case DType::q4_0: return uint32_t(GgmlType::q4_0);
    case DType::q4_k: return uint32_t(GgmlType::q4_k);
    case DType::q6_k: return uint32_t(GgmlType::q6_k);
  }
  return 0;
}
}  // namespace

void dequantize_ggml_row(GgmlType type, const uint8_t* src, float* dst, int64_t n) {
  switch (type) {
    case GgmlType::f32: kernels::dequantize_row(DType::f32, src, dst, n); return;
    case GgmlType::f16: kernels::dequantize_row(DType::f16, src, dst, n); return;
    case GgmlType::bf16: kernels::dequantize_row(DType::bf16, src, dst, n); return;
    case GgmlType::q8_0: kernels::dequantize_row(DType::q8_0, src, dst, n); return;
    case GgmlType::q4_0: kernels::dequantize_row(DType::q4_0, src, dst, n); return;
    case GgmlType::q4_1: dequantize_q4_1(src, dst, n); return;
    case GgmlType::q5_0: dequantize_q5(src, dst, n, false); return;
    case GgmlType::q5_1: dequantize_q5(src, dst, n, true); return;
    case GgmlType::q4_k: kernels::dequantize_row(DType::q4_k, src, dst, n); return;
    case GgmlType::q5_k: dequantize_q5_k(src, dst, n); return;
    case GgmlType::q6_k: kernels::dequantize_row(DType::q6_k, src, dst, n); return;
  }
}

Result<GgufFile> read_gguf(const std::string& path) {
  auto mapped = MappedFile::open(path);
  if (!mapped) return mapped.take_error();
  GgufFile f;
  f.file = std::make_shared<MappedFile>(std::move(mapped).value());
  Cursor c{f.file->data(), f.file->size()};
  if (c.get<uint32_t>() != kMagic || !c.ok) return corrupt(path, "not a GGUF file (bad magic)");
  f.version = c.get<uint32_t>();
  if (!c.ok) return corrupt(path, "truncated header");
  if (f.version < 2 || f.version > 3)
    return make_error(ErrorCode::unsupported, "gguf '" + path + "': version " + std::to_string(f.version) +
                                                  " (supported: 2, 3)");
  const uint64_t n_tensors = c.get<uint64_t>(), n_kv = c.get<uint64_t>();
  if (!c.ok) return corrupt(path, "truncated header");
  // Each entry takes at least 8 bytes: a count larger than the file is corrupt.
  if (n_tensors > f.file->size() / 8 || n_kv > f.file->size() / 8)
    return corrupt(path, "tensor or metadata count exceeds the file size");

  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.str();
    uint32_t type = c.get<uint32_t>();
    if (!c.ok) return corrupt(path, "truncated metadata");
    if (type == kArray) {
      uint32_t et = c.get<uint32_t>();
      uint64_t count = c.get<uint64_t>();
      if (!c.ok) return corrupt(path, "truncated metadata array '" + key + "'");
      f.array_lengths[key] = count;
      const size_t es = scalar_size(et);
      if (et != kString && es == 0) return corrupt(path, "metadata array '" + key + "' has bad element type");
      if (count > c.n - c.at) return corrupt(path, "metadata array '" + key + "' runs past the end");
      const bool keep = count <= 4096;
      json arr = json::array();
      if (es && !keep) {
        if (count * es > c.n - c.at) return corrupt(path, "metadata array '" + key + "' runs past the end");
        c.at += size_t(count * es);
      } else {
        for (uint64_t k = 0; k < count && c.ok; ++k) {
          json v = read_scalar(c, et);
          if (keep) arr.push_back(std::move(v));
        }
      }
      if (!c.ok) return corrupt(path, "truncated metadata array '" + key + "'");
      f.metadata[key] = keep ? arr : json(count);
    } else {
      json v = read_scalar(c, type);
      if (!c.ok) return corrupt(path, "truncated or bad metadata value '" + key + "'");
      f.metadata[key] = std::move(v);
    }
  }

  uint64_t alignment = 32;
  if (auto it = f.metadata.find("general.alignment"); it != f.metadata.end()) {
    if (!it->second.is_number_unsigned() || it->second.get<uint64_t>() == 0 ||
        (it->second.get<uint64_t>() & (it->second.get<uint64_t>() - 1)))
      return corrupt(path, "general.alignment must be a power of two");
    alignment = it->second.get<uint64_t>();
  }

  struct Raw {
    GgufTensorInfo info;
    uint64_t offset;
  };
  std::vector<Raw> raws;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    Raw r;
    r.info.name = c.str();
    uint32_t n_dims = c.get<uint32_t>();
    if (!c.ok || n_dims == 0 || n_dims > 4) return corrupt(path, "bad tensor info for '" + r.info.name + "'");
    std::vector<int64_t> ne;
    uint64_t n_elem = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t v = c.get<uint64_t>();
      if (v == 0 || v > (uint64_t(1) << 40) || n_elem > (uint64_t(1) << 48) / v)
        return corrupt(path, "tensor '" + r.info.name + "' has a bad dimension");
      n_elem *= v;
      ne.push_back(int64_t(v));
    }
    r.info.type = c.get<uint32_t>();
    r.offset = c.get<uint64_t>();
    if (!c.ok) return corrupt(path, "truncated tensor infos");
    int64_t block;
    size_t bytes;
    if (!type_layout(r.info.type, &block, &bytes))
      return make_error(ErrorCode::unsupported, "gguf '" + path + "': tensor '" + r.info.name + "' has ggml type " +
                                                    std::to_string(r.info.type) +
                                                    " (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K)");
    if (ne[0] % block != 0)
      return corrupt(path, "tensor '" + r.info.name + "' row length " + std::to_string(ne[0]) +
                               " is not a multiple of its block size " + std::to_string(block));
    r.info.n_bytes = size_t(n_elem / uint64_t(block)) * bytes;
    r.info.shape.assign(ne.rbegin(), ne.rend());
    raws.push_back(std::move(r));
  }
  const uint64_t data_start = (uint64_t(c.at) + alignment - 1) / alignment * alignment;
  const uint64_t size = f.file->size();
  if (data_start > size) return corrupt(path, "data section starts past the end of the file: truncated?");
  for (auto& r : raws) {
    if (r.offset % alignment != 0) return corrupt(path, "tensor '" + r.info.name + "' offset is not aligned");
    if (r.offset > size - data_start || r.info.n_bytes > size - data_start - r.offset)
      return corrupt(path, "tensor '" + r.info.name + "' data [" + std::to_string(data_start + r.offset) + ", +" +
                               std::to_string(r.info.n_bytes) + ") lies past the end of the file (" +
                               std::to_string(size) + " bytes): truncated?");
    r.info.data = f.file->data() + data_start + r.offset;
    f.tensors.push_back(std::move(r.info));
  }
  return f;
}

namespace {
const json* meta_find(const GgufFile& f, const std::string& key) {
  auto it = f.metadata.find(key);
  return it == f.metadata.end() ? nullptr : &it->second;
}

// A numeric metadata value; absent → fallback, or an error when required.
Status meta_number(const GgufFile& f, const std::string& key, bool required, double fallback, double* out) {
  const json* v = meta_find(f, key);
  if (!v) {
    if (required) return make_error(ErrorCode::invalid_argument, "gguf: " + key + " is missing");
    *out = fallback;
    return {};
  }
  if (!v->is_number()) return make_error(ErrorCode::invalid_argument, "gguf: " + key + " is not a number");
  *out = v->get<double>();
  return {};
}

// glm4.rope.scaling.*, as llama.cpp names them: type "yarn" (factor, original_context_length, yarn_beta_fast,
// yarn_beta_slow; attn_factor and yarn_attn_factor multiply the default attention factor) or "none".
Status rope_scaling_from_gguf(const GgufFile& f, Glm4Config& c) {
  const std::string prefix = "glm4.rope.scaling.";
  auto get = [&](const std::string& k) { return meta_find(f, prefix + k); };
  auto number = [&](const std::string& k, double fallback, double* out) {
    return meta_number(f, prefix + k, false, fallback, out);
  };
  const json* type = get("type");
  if (type && !type->is_string())
    return make_error(ErrorCode::invalid_argument, "gguf: " + prefix + "type is not a string");
  const std::string t = type ? type->get<std::string>() : "none";
  if (t == "none") {
    double factor;
    GLM_TRY(number("factor", 1.0, &factor));
    if (factor != 1.0 && factor != 0.0)
      return make_error(ErrorCode::unsupported, "gguf: " + prefix + "factor without type yarn (linear scaling) "
                                                "is not supported");
    return {};
  }
  if (t != "yarn")
    return make_error(ErrorCode::unsupported, "gguf: rope scaling type '" + t + "' is not supported (yarn or none)");
  RopeYarn& y = c.yarn;
  GLM_TRY(meta_number(f, prefix + "factor", true, 1.0, &y.factor));
  double v;
  GLM_TRY(number("original_context_length", double(c.max_position_embeddings), &v));
  y.original_context = int64_t(v);
  GLM_TRY(number("yarn_beta_fast", 32.0, &y.beta_fast));
  GLM_TRY(number("yarn_beta_slow", 1.0, &y.beta_slow));
  double ext;
  GLM_TRY(number("yarn_ext_factor", 1.0, &ext));
  if (ext >= 0 && ext != 1.0)
    return make_error(ErrorCode::unsupported, "gguf: " + prefix + "yarn_ext_factor other than 1 is not supported");
  double a1, a2;
  GLM_TRY(number("attn_factor", 1.0, &a1));
  GLM_TRY(number("yarn_attn_factor", 1.0, &a2));
  y.attention_factor = RopeYarn::default_attention_factor(y.factor) * a1 * a2;
  return {};
}
}  // namespace

Result<Glm4Config> glm4_config_from_gguf(const GgufFile& f) {
  auto meta = [&](const std::string& k) { return meta_find(f, k); };
  const json* arch = meta("general.architecture");
  if (!arch || !arch->is_string())
    return make_error(ErrorCode::invalid_argument, "gguf: general.architecture is missing");
  if (arch->get<std::string>() != "glm4")
    return make_error(ErrorCode::unsupported, "gguf: unsupported architecture '" + arch->get<std::string>() +
                                                  "': glm-agent runs glm4 (GLM-4-0414) only");
  auto num = [&](const std::string& k, bool required, double fallback, double* out) {
    return meta_number(f, "glm4." + k, required, fallback, out);
  };
  Glm4Config c;
  double v;
  GLM_TRY(num("block_count", true, 0, &v));
  c.n_layer = int(v);
  GLM_TRY(num("embedding_length", true, 0, &v));
  c.n_embd = int64_t(v);
  GLM_TRY(num("feed_forward_length", true, 0, &v));
  c.n_ff = int64_t(v);
  GLM_TRY(num("attention.head_count", true, 0, &v));
  c.n_head = int(v);
  GLM_TRY(num("attention.head_count_kv", false, c.n_head, &v));
  c.n_head_kv = int(v);
  if (c.n_head <= 0) return make_error(ErrorCode::invalid_argument, "gguf: head_count must be positive");
  GLM_TRY(num("attention.key_length", false, double(c.n_embd / c.n_head), &v));
  c.head_dim = int(v);
  GLM_TRY(num("rope.dimension_count", false, c.head_dim / 2, &v));
  c.n_rot = int(v);
  c.partial_rotary_factor = c.head_dim ? double(c.n_rot) / c.head_dim : 0.5;
  GLM_TRY(num("rope.freq_base", false, 10000.0, &c.rope_theta));
  GLM_TRY(num("attention.layer_norm_rms_epsilon", false, 1e-5, &v));
  c.rms_norm_eps = float(v);
  GLM_TRY(num("context_length", false, 32768, &v));
  c.max_position_embeddings = int64_t(v);
  GLM_TRY(rope_scaling_from_gguf(f, c));
  // Vocabulary from the embedding (ne1), falling back to the token list.
  c.n_vocab = 0;
  bool has_output = false, has_bias = false;
  for (const auto& t : f.tensors) {
    if (t.name == "token_embd.weight" && t.shape.size() == 2) c.n_vocab = t.shape[0];
    if (t.name == "output.weight") has_output = true;
    if (t.name == "blk.0.attn_q.bias" || t.name == "blk.0.attn_qkv.bias") has_bias = true;
  }
  if (c.n_vocab == 0) return make_error(ErrorCode::not_found, "gguf: missing tensor 'token_embd.weight'");
  c.attention_bias = has_bias;
  c.tie_word_embeddings = !has_output;
  std::vector<int32_t> eos;
  for (const char* k : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"})
    if (const json* e = meta(k); e && e->is_number_integer()) eos.push_back(e->get<int32_t>());
  for (int32_t id : {151329, 151336, 151338}) eos.push_back(id);  // reference/glm4.md §4: stop regardless
  for (int32_t id : eos)
    if (id >= 0 && id < c.n_vocab && std::find(c.eos_token_ids.begin(), c.eos_token_ids.end(), id) == c.eos_token_ids.end())
      c.eos_token_ids.push_back(id);
  if (const json* p = meta("tokenizer.ggml.padding_token_id"); p && p->is_number_integer())
    c.pad_token_id = p->get<int32_t>();
  GLM_TRY(c.validate());
  return c;
}

Result<TensorStore> gguf_tensor_store(GgufFile f, kernels::ThreadPool* pool) {
  TensorStore store;
  store.add_shared_file(f.file);
  for (auto& t : f.tensors) {
    TensorRef r;
    r.name = t.name;
    r.shape = t.shape;
    r.file = f.file->path();
    r.data = t.data;
    r.n_bytes = t.n_bytes;
    switch (GgmlType(t.type)) {
      case GgmlType::f32: r.dtype = DType::f32; break;
      case GgmlType::f16: r.dtype = DType::f16; break;
      case GgmlType::bf16: r.dtype = DType::bf16; break;
      case GgmlType::q8_0: r.dtype = DType::q8_0; break;
      case GgmlType::q4_0: r.dtype = DType::q4_0; break;
      case GgmlType::q4_k: r.dtype = DType::q4_k; break;
      case GgmlType::q6_k: r.dtype = DType::q6_k; break;
      case GgmlType::q4_1:
      case GgmlType::q5_0:
      case GgmlType::q5_1:
      case GgmlType::q5_k: {
        // Re-encode as Q8_0, row by row (block-32 rows: every K-quant row length is a multiple of 256).
        const int64_t cols = t.shape.back();
        const int64_t rows = r.n_elements() / cols;
        const size_t in_rb = t.n_bytes / size_t(rows), out_rb = kernels::dtype_row_bytes(DType::q8_0, cols);
        std::vector<uint8_t> out(size_t(rows) * out_rb);
        auto convert = [&](int64_t b, int64_t e) {
          std::vector<float> tmp(static_cast<size_t>(cols));
          for (int64_t i = b; i < e; ++i) {
            dequantize_ggml_row(GgmlType(t.type), t.data + size_t(i) * in_rb, tmp.data(), cols);
            kernels::quantize_row(DType::q8_0, tmp.data(), out.data() + size_t(i) * out_rb, cols);
          }
        };
        if (pool && rows > 64) {
          pool->run([&](int ith, int nth) {
            int64_t b, e;
            kernels::ThreadPool::split(rows, ith, nth, 1, &b, &e);
            convert(b, e);
          });
        } else {
          convert(0, rows);
        }
        r.dtype = DType::q8_0;
        r.n_bytes = out.size();
        r.data = store.add_buffer(std::move(out));
        break;
      }
      default:
        return make_error(ErrorCode::unsupported, "gguf: tensor '" + t.name + "' has an unsupported type");
    }
    GLM_TRY(store.add_tensor(std::move(r)));
  }
  return store;
}

Result<Glm4Weights> load_gguf_weights(const std::string& path, const WeightOptions& opt) {
  auto f = read_gguf(path);
  if (!f) return f.take_error();
  auto config = glm4_config_from_gguf(*f);
  if (!config) return config.take_error();
  auto store = gguf_tensor_store(std::move(f).value(), opt.pool);
  if (!store) return store.take_error();
  return Glm4Weights::from_store(*config, std::move(store).value(), /*gguf_names=*/true, opt);
}

namespace {
struct Writer {
  std::string buf;
  template <class T>
  void put(T v) {
    buf.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    buf += s;
  }
  void kv(const std::string& key, const json& v) {
    str(key);
    if (v.is_string()) {
      put<uint32_t>(kString);
      str(v.get<std::string>());
    } else if (v.is_boolean()) {
      put<uint32_t>(kBool);
      put<uint8_t>(v.get<bool>());
    } else if (v.is_number_float()) {
      put<uint32_t>(kF32);
      put<float>(v.get<float>());
    } else if (v.is_number_unsigned()) {
      put<uint32_t>(kU32);
      put<uint32_t>(v.get<uint32_t>());
    } else if (v.is_number_integer()) {
      put<uint32_t>(kI32);
      put<int32_t>(v.get<int32_t>());
    } else if (v.is_array()) {
      put<uint32_t>(kArray);
      bool strings = v.empty() || v[0].is_string();
      put<uint32_t>(strings ? kString : kI32);
      put<uint64_t>(v.size());
      for (const auto& e : v) {
        if (strings) str(e.get<std::string>());
        else put<int32_t>(e.get<int32_t>());
      }
    }
  }
};
}  // namespace

Status write_gguf(const std::string& path, const Glm4Config& c, const std::vector<GgufTensorOut>& tensors,
                  const std::map<std::string, json>& extra) {
  std::map<std::string, json> meta = {
      {"general.architecture", "glm4"},
      {"general.alignment", 32u},
      {"glm4.block_count", uint32_t(c.n_layer)},
      {"glm4.context_length", uint32_t(c.max_position_embeddings)},
      {"glm4.embedding_length", uint32_t(c.n_embd)},
      {"glm4.feed_forward_length", uint32_t(c.n_ff)},
      {"glm4.attention.head_count", uint32_t(c.n_head)},
      {"glm4.attention.head_count_kv", uint32_t(c.n_head_kv)},
      {"glm4.attention.key_length", uint32_t(c.head_dim)},
      {"glm4.attention.value_length", uint32_t(c.head_dim)},
      {"glm4.attention.layer_norm_rms_epsilon", double(c.rms_norm_eps)},
      {"glm4.rope.freq_base", float(c.rope_theta)},
      {"glm4.rope.dimension_count", uint32_t(c.n_rot)},
  };
  if (!c.eos_token_ids.empty()) meta["tokenizer.ggml.eos_token_id"] = uint32_t(c.eos_token_ids[0]);
  if (c.yarn.on()) {
    if (!c.yarn.truncate)
      return make_error(ErrorCode::unsupported, "gguf: rope_scaling.truncate false has no GGUF form");
    meta["glm4.rope.scaling.type"] = "yarn";
    meta["glm4.rope.scaling.factor"] = float(c.yarn.factor);
    meta["glm4.rope.scaling.original_context_length"] = uint32_t(c.yarn.original_context);
    meta["glm4.rope.scaling.yarn_beta_fast"] = float(c.yarn.beta_fast);
    meta["glm4.rope.scaling.yarn_beta_slow"] = float(c.yarn.beta_slow);
    meta["glm4.rope.scaling.attn_factor"] =
        float(c.yarn.attention_factor / RopeYarn::default_attention_factor(c.yarn.factor));
  }
  for (const auto& [k, v] : extra) meta[k] = v;
  Writer w;
  w.put<uint32_t>(kMagic);
  w.put<uint32_t>(3);
  w.put<uint64_t>(tensors.size());
  w.put<uint64_t>(meta.size());
  for (const auto& [k, v] : meta) w.kv(k, v);
  uint64_t offset = 0;
  std::vector<uint64_t> offsets;
  for (const auto& t : tensors) {
    w.str(t.name);
    w.put<uint32_t>(uint32_t(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) w.put<uint64_t>(uint64_t(*it));
    w.put<uint32_t>(ggml_type_of(t.dtype));
    w.put<uint64_t>(offset);
    offsets.push_back(offset);
    offset += (t.bytes.size() + 31) / 32 * 32;
  }
  while (w.buf.size() % 32) w.buf.push_back('\0');
  FILE* fp = std::fopen(path.c_str(), "wb");
  if (!fp) return make_error(ErrorCode::io, "cannot write '" + path + "'");
  bool ok = std::fwrite(w.buf.data(), 1, w.buf.size(), fp) == w.buf.size();
  static const char zeros[32] = {};
  for (const auto& t : tensors) {
    ok = ok && (t.bytes.empty() || std::fwrite(t.bytes.data(), 1, t.bytes.size(), fp) == t.bytes.size());
    size_t pad = (32 - t.bytes.size() % 32) % 32;
    ok = ok && (pad == 0 || std::fwrite(zeros, 1, pad, fp) == pad);
  }
  ok = (std::fclose(fp) == 0) && ok;
  if (!ok) return make_error(ErrorCode::io, "writing '" + path + "' failed");
  return {};
}

Result<std::map<std::string, json>> tokenizer_metadata(const std::string& model_dir, int64_t n_vocab) {
  std::map<std::string, json> meta;
  const std::string path = model_dir + "/tokenizer.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return meta;  // weights only
  auto text = read_text_file(path);
  if (!text) return text.take_error();
  json j = json::parse(*text, nullptr, false);
  auto bad = [&](const std::string& m) { return make_error(ErrorCode::invalid_argument, "'" + path + "': " + m); };
  if (j.is_discarded() || !j.contains("model") || !j["model"].is_object()) return bad("not a tokenizer.json");
  const json& model = j["model"];
  if (model.value("type", "") != "BPE" || !model.contains("vocab") || !model["vocab"].is_object())
    return bad("only byte-level BPE tokenizers are converted");
  std::vector<std::string> tokens(static_cast<size_t>(n_vocab));
  std::vector<int32_t> types(static_cast<size_t>(n_vocab), 5);  // 5: unused (padding rows)
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = "[PAD" + std::to_string(i) + "]";
  for (const auto& [tok, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= n_vocab)
      return bad("vocab id of '" + tok + "' is outside the model's vocabulary");
    tokens[size_t(id.get<int64_t>())] = tok;
    types[size_t(id.get<int64_t>())] = 1;  // normal
  }
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const auto& a : j["added_tokens"]) {
      if (!a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") || !a["content"].is_string())
        return bad("added_tokens entries need id and content");
      const int64_t id = a["id"].get<int64_t>();
      if (id < 0 || id >= n_vocab) return bad("added token id " + std::to_string(id) + " is outside the vocabulary");
      tokens[size_t(id)] = a["content"].get<std::string>();
      types[size_t(id)] = a.value("special", false) ? 3 : 4;  // control : user-defined
    }
  }
  std::vector<std::string> merges;
  if (model.contains("merges") && model["merges"].is_array()) {
    for (const auto& m : model["merges"]) {
      if (m.is_string()) merges.push_back(m.get<std::string>());
      else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
        merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
      else return bad("a merge is neither \"a b\" nor [a, b]");
    }
  }
  meta["tokenizer.ggml.model"] = "gpt2";
  meta["tokenizer.ggml.pre"] = "glm4";
  meta["tokenizer.ggml.tokens"] = tokens;
  meta["tokenizer.ggml.token_type"] = types;
  meta["tokenizer.ggml.merges"] = merges;
  // Special ids as in reference/glm4.md §4, when the vocabulary has them.
  for (auto [key, id] : {std::pair{"tokenizer.ggml.bos_token_id", 151331}, std::pair{"tokenizer.ggml.eos_token_id", 151329},
                         std::pair{"tokenizer.ggml.eot_token_id", 151336},
                         std::pair{"tokenizer.ggml.padding_token_id", 151329},
                         std::pair{"tokenizer.ggml.unknown_token_id", 151329}})
    if (id < n_vocab && types[size_t(id)] == 3) meta[key] = uint32_t(id);
  auto cfg = read_text_file(model_dir + "/tokenizer_config.json");
  if (cfg) {
    json tc = json::parse(*cfg, nullptr, false);
    if (!tc.is_discarded() && tc.contains("chat_template") && tc["chat_template"].is_string())
      meta["tokenizer.chat_template"] = tc["chat_template"];
  }
  return meta;
}

Status convert_to_gguf(const std::string& model_dir, const std::string& out_path, std::optional<DType> quant) {
  auto config = Glm4Config::load(model_dir);
  if (!config) return config.take_error();
  auto store = load_safetensors(model_dir);
  if (!store) return store.take_error();
  // Check the checkpoint is complete and consistent before writing anything.
  {
    auto st2 = load_safetensors(model_dir);
    if (!st2) return st2.take_error();
    auto w = Glm4Weights::from_store(*config, std::move(st2).value(), false);
    if (!w) return w.take_error();
  }
  std::vector<GgufTensorOut> out;
  auto add = [&](TensorId id, int il) -> Status {
    const std::string hf = hf_tensor_name(id, il);
    const TensorRef* t = store->find(hf);
    if (!t) return make_error(ErrorCode::not_found, "missing tensor '" + hf + "'");
    const bool matrix = t->shape.size() == 2;
    const int64_t cols = t->shape.back(), rows = t->n_elements() / cols;
    DType to = DType::f32;
    if (matrix) {
      to = quant.value_or(t->dtype);
      if (cols % kernels::dtype_block(to) != 0) to = DType::f16;  // cannot block
    }
    GgufTensorOut o;
    o.name = gguf_tensor_name(id, il);
    o.dtype = to;
    o.shape = t->shape;
    const size_t in_rb = kernels::dtype_row_bytes(t->dtype, cols), out_rb = kernels::dtype_row_bytes(to, cols);
    o.bytes.resize(size_t(rows) * out_rb);
    std::vector<float> tmp(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      kernels::dequantize_row(t->dtype, t->data + size_t(r) * in_rb, tmp.data(), cols);
      kernels::quantize_row(to, tmp.data(), o.bytes.data() + size_t(r) * out_rb, cols);
    }
    out.push_back(std::move(o));
    return {};
  };
  const Glm4Config& c = *config;
  GLM_TRY(add(TensorId::token_embd, 0));
  GLM_TRY(add(TensorId::output_norm, 0));
  if (!c.tie_word_embeddings) GLM_TRY(add(TensorId::output, 0));
  for (int il = 0; il < c.n_layer; ++il) {
    for (TensorId id : {TensorId::attn_norm, TensorId::attn_q, TensorId::attn_k, TensorId::attn_v,
                        TensorId::attn_output, TensorId::post_attn_norm, TensorId::ffn_norm, TensorId::ffn_gate_up,
                        TensorId::ffn_down, TensorId::post_ffn_norm})
      GLM_TRY(add(id, il));
    if (c.attention_bias)
      for (TensorId id : {TensorId::attn_q_bias, TensorId::attn_k_bias, TensorId::attn_v_bias}) GLM_TRY(add(id, il));
  }
  auto tok_meta = tokenizer_metadata(model_dir, c.n_vocab);
  if (!tok_meta) return tok_meta.take_error();
  return write_gguf(out_path, c, out, *tok_meta);
}

}  // namespace glm
