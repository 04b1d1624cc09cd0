// model/gguf.h — GGUF files (llama.cpp's format, architecture "glm4"): read, map to Glm4Config and a
// TensorStore, and write (`glm-agent convert`).
//
// Reading validates every count, string and tensor extent against the file size before use, so a
// corrupt file is an error, never a read outside the mapping. Tensor types: F32, F16, BF16, Q8_0, Q4_0, Q4_K
// and Q6_K (the bulk of llama.cpp's Q4_K_M files) are used in place; Q4_1, Q5_0, Q5_1 and Q5_K are dequantized
// at load and re-encoded as Q8_0. Shapes are reported in torch order ([out, in]), i.e. GGUF's ne reversed.
// Threads: free functions; results are immutable values.
// Errors: not_found (file), invalid_argument (bad magic, truncated, offsets past the end, sizes that do
// not match the type), unsupported (another architecture, GGUF version < 2, a tensor type not listed,
// rope scaling other than YaRN). A fused blk.N.attn_qkv ([q | k | v] rows) is read in place of attn_q/k/v.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "kernels/cpu/dtype.h"
#include "model/config.h"
#include "model/weights.h"

namespace glm {

// ggml type ids used by glm-agent.
enum class GgmlType : uint32_t {
  f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q4_k = 12, q5_k = 13, q6_k = 14, bf16 = 30,
};

struct GgufTensorInfo {
  std::string name;
  uint32_t type = 0;            // ggml type id
  std::vector<int64_t> shape;   // torch order (ne reversed)
  const uint8_t* data = nullptr;
  size_t n_bytes = 0;
};

struct GgufFile {
  uint32_t version = 0;
  std::map<std::string, nlohmann::json> metadata;  // arrays longer than 4096 are kept as their length only
  std::map<std::string, uint64_t> array_lengths;   // every array's length
  std::vector<GgufTensorInfo> tensors;
  std::shared_ptr<MappedFile> file;                // keeps `data` pointers valid
};

Result<GgufFile> read_gguf(const std::string& path);

// Dequantizes one row of n elements of a supported ggml type (n a multiple of its block size).
void dequantize_ggml_row(GgmlType type, const uint8_t* src, float* dst, int64_t n);

// Hyperparameters from glm4.* metadata (+ tensor shapes for the vocabulary and attention_bias).
Result<Glm4Config> glm4_config_from_gguf(const GgufFile& f);

// The tensors as a store keyed by GGUF names (K-quants converted to Q8_0).
Result<TensorStore> gguf_tensor_store(GgufFile f, kernels::ThreadPool* pool = nullptr);

// Loads a .gguf file as weights.
Result<Glm4Weights> load_gguf_weights(const std::string& path, const WeightOptions& opt = {});

struct GgufTensorOut {
  std::string name;
  kernels::DType dtype = kernels::DType::f32;
  std::vector<int64_t> shape;  // torch order
  std::vector<uint8_t> bytes;
};

// Writes a GGUF v3 file with glm4 metadata for `config` plus `extra` string/number metadata.
Status write_gguf(const std::string& path, const Glm4Config& config, const std::vector<GgufTensorOut>& tensors,
                  const std::map<std::string, nlohmann::json>& extra = {});

// GGUF tokenizer metadata (tokenizer.ggml.* as llama.cpp's gpt2/glm4 tokenizer reads it, chat template)
// from DIR/tokenizer.json and tokenizer_config.json, tokens padded to n_vocab; empty without tokenizer.json.
Result<std::map<std::string, nlohmann::json>> tokenizer_metadata(const std::string& model_dir, int64_t n_vocab);

// Converts a safetensors model directory (and its tokenizer.json, when present) to one GGUF file. quant (q8_0,
// q4_0, q4_k, q6_k, f16, bf16, f32) re-encodes the 2-D weight matrices (token_embd included; a matrix whose rows
// do not split into the type's blocks is written F16); nullopt keeps their stored type. Norms and biases are F32.
Status convert_to_gguf(const std::string& model_dir, const std::string& out_path, std::optional<kernels::DType> quant);

}  // namespace glm
