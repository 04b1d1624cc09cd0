// model/safetensors.h — read and write the safetensors format (single file or sharded directory).
//
// Layout: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets:
// [begin, end)}, "__metadata__": {...}}, then the data; offsets count from the end of the header.
// Reading validates everything against the file size before any tensor pointer is formed, so a corrupt
// file can never cause a read outside the mapping. dtypes: F32, F16, BF16.
// Threads: free functions; the returned store is immutable.
// Errors: not_found (file, shard, a tensor the index names), invalid_argument (truncated file, bad JSON,
// offsets past the end, size not matching shape × dtype, duplicate names), unsupported (other dtypes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "model/weights.h"

namespace glm {

// Adds the tensors of one .safetensors file to `store`.
Status add_safetensors_file(TensorStore& store, const std::string& path);

// `path` is a .safetensors file or a directory holding model.safetensors or model.safetensors.index.json.
Result<TensorStore> load_safetensors(const std::string& path);

// A tensor to write: raw row-major little-endian bytes.
struct SafetensorsTensor {
  std::string name;
  DType dtype = DType::f32;  // f32, f16 or bf16
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

Status write_safetensors(const std::string& path, const std::vector<SafetensorsTensor>& tensors);

// Writes tensors split over n_shards files named model-0000i-of-0000n.safetensors plus
// model.safetensors.index.json in dir (n_shards = 1 writes model.safetensors).
Status write_safetensors_dir(const std::string& dir, const std::vector<SafetensorsTensor>& tensors, int n_shards);

}  // namespace glm
