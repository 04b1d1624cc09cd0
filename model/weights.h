// model/weights.h — GLM-4 weights: named tensors in mapped files (TensorStore) and the typed per-layer
// view the forward pass reads (Glm4Weights).
//
// Owns: the mapped files (TensorStore) and any converted copies: norm weights and biases as f32, matrices
// re-encoded when WeightOptions::matmul_dtype asks for it, and the matrices copied into huge-page memory (in
// their kernels' packed layout where kernels::packing_wanted) under WeightOptions::resident_matrices. Without
// those, matrices point straight into the mapping (bf16/f16/f32 stay as stored and are converted inside the dot
// products).
// Threads: immutable after load; any thread may read concurrently. Move-only.
// Errors: load() returns not_found (config.json, weight files, a missing tensor), invalid_argument (a shape
// that disagrees with config.json, a corrupt file), unsupported (a dtype or architecture glm-agent lacks).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "base/mapped_file.h"
#include "kernels/cpu/dtype.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/thread_pool.h"
#include "model/config.h"

namespace glm {

using kernels::DType;
using kernels::MatView;

// One tensor inside a mapped file: row-major, shape in torch order (outermost first).
struct TensorRef {
  std::string name;
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t n_bytes = 0;
  std::string file;  // for messages

  int64_t n_elements() const;
  std::string shape_string() const;  // "[4096, 151552]"
};

// A set of named tensors backed by mapped files (from safetensors or GGUF). Move-only.
class TensorStore {
 public:
  // Adopts a mapped file; tensors added later may point into it.
  const MappedFile& add_file(MappedFile file);
  void add_shared_file(std::shared_ptr<const MappedFile> file) { files_.push_back(std::move(file)); }
  // Adopts converted bytes (e.g. a K-quant tensor re-encoded); returns where they now live.
  const uint8_t* add_buffer(std::vector<uint8_t> bytes);
  // Adds a tensor; invalid_argument when the name is already present.
  Status add_tensor(TensorRef t);
  const TensorRef* find(std::string_view name) const;
  const std::vector<TensorRef>& tensors() const { return tensors_; }

 private:
  std::vector<std::shared_ptr<const MappedFile>> files_;
  std::vector<std::unique_ptr<std::vector<uint8_t>>> buffers_;
  std::vector<TensorRef> tensors_;
  std::unordered_map<std::string, size_t> index_;
};

struct LayerWeights {
  const float* attn_norm = nullptr;
  MatView wq, wk, wv;
  const float* bq = nullptr;  // null without attention_bias
  const float* bk = nullptr;
  const float* bv = nullptr;
  MatView wo;
  const float* post_attn_norm = nullptr;
  const float* ffn_norm = nullptr;
  MatView w_gate_up;  // [2 n_ff, n_embd], gate first
  MatView w_down;     // [n_embd, n_ff]
  const float* post_ffn_norm = nullptr;
};

struct WeightOptions {
  // Re-encode every matrix (and the lm_head) to this type at load, e.g. q8_0; nullopt keeps the stored type.
  std::optional<DType> matmul_dtype;
  kernels::ThreadPool* pool = nullptr;  // used to convert in parallel; may be null
  // Copy the matrices the matmuls read out of the mapped file into anonymous huge-page memory (AnonymousMemory):
  // decode streams every matrix once per token, and 2 MiB pages make that stream faster (fewer TLB misses,
  // prefetchers not stopped every 4 KiB). The mapped pages are then no longer read (unless exact matmuls or
  // unaligned row ranges are asked for) and the kernel can drop them. Skipped when the copies would take more
  // than half of the physical memory.
  bool resident_matrices = true;
  // With resident_matrices, matrices are copied in their kernels' own layout instead (MatView::packed, made
  // once here instead of unpacked per call) where the CPU has those kernels (kernels::packing_wanted).
  bool pack_matrices = true;
};

class Glm4Weights {
 public:
  // DIR with config.json and model.safetensors or model.safetensors.index.json (+ shards); or a .gguf
  // file, or a DIR without config.json holding exactly one .gguf file.
  static Result<Glm4Weights> load(const std::string& model_dir, const WeightOptions& opt = {});
  // Binds (and checks) every tensor of `config` in `store`; names from tensor_names.h, HF or GGUF flavour.
  static Result<Glm4Weights> from_store(const Glm4Config& config, TensorStore store, bool gguf_names,
                                        const WeightOptions& opt = {});
  // Random weights (N(0, 0.02) matrices, norms near 1), built in memory, for benchmarks and tests.
  // Its matrices are made in huge-page memory; pack_matrices as WeightOptions::pack_matrices.
  static Glm4Weights random(const Glm4Config& config, DType dtype, uint64_t seed, kernels::ThreadPool* pool,
                            bool pack_matrices = true);

  Glm4Weights(Glm4Weights&&) = default;
  Glm4Weights& operator=(Glm4Weights&&) = default;

  const Glm4Config& config() const { return config_; }
  const MatView& token_embd() const { return token_embd_; }
  const float* output_norm() const { return output_norm_; }
  const MatView& output() const { return output_; }
  const LayerWeights& layer(int il) const { return layers_[size_t(il)]; }
  // Bytes of the matrices streamed for one decode token (all layers + lm_head; the embedding row is not).
  size_t decode_bytes() const;

 private:
  Glm4Weights() = default;
  const float* own_f32(std::vector<float> v);
  MatView own_matrix(DType dtype, int64_t rows, int64_t cols);
  void make_resident(kernels::ThreadPool* pool, bool pack_matrices);  // WeightOptions::resident_matrices
  bool owns(const void* p) const;  // p lies in owned_matrices_

  Glm4Config config_;
  TensorStore store_;
  std::vector<std::unique_ptr<float[]>> owned_f32_;
  std::vector<AnonymousMemory> owned_matrices_;  // matrices made or copied at load
  MatView token_embd_;
  const float* output_norm_ = nullptr;
  MatView output_;
  std::vector<LayerWeights> layers_;
};

}  // namespace glm
