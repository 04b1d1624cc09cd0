#include "model/safetensors.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace glm {

namespace {
using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr uint64_t kMaxHeader = 100ull << 20;

Error corrupt(const std::string& path, const std::string& msg) {
  return make_error(ErrorCode::invalid_argument, "safetensors '" + path + "': " + msg);
}

Result<DType> dtype_from_st(const std::string& s, const std::string& path, const std::string& name) {
  if (s == "F32") return DType::f32;
  if (s == "F16") return DType::f16;
  if (s == "BF16") return DType::bf16;
  return make_error(ErrorCode::unsupported,
                    "safetensors '" + path + "': tensor '" + name + "' has dtype " + s + " (supported: F32, F16, BF16)");
}

const char* dtype_to_st(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f16: return "F16";
    case DType::bf16: return "BF16";
    default: return nullptr;
  }
}

size_t elem_size(DType t) { return t == DType::f32 ? 4 : 2; }
}  // namespace

Status add_safetensors_file(TensorStore& store, const std::string& path) {
  auto mapped = MappedFile::open(path);
  if (!mapped) return mapped.take_error();
  const uint64_t size = mapped->size();
  if (size < 8) return corrupt(path, "file is " + std::to_string(size) + " bytes, too short for a header");
  uint64_t n_header = 0;
  std::memcpy(&n_header, mapped->data(), 8);  // little-endian host (x86-64)
  if (n_header > kMaxHeader) return corrupt(path, "header length " + std::to_string(n_header) + " is implausible");
  if (n_header > size - 8)
    return corrupt(path, "header length " + std::to_string(n_header) + " runs past the end of the file (" +
                             std::to_string(size) + " bytes): truncated?");
  const uint8_t* data_begin = mapped->data() + 8 + n_header;
  const uint64_t data_size = size - 8 - n_header;
  json header = json::parse(mapped->data() + 8, data_begin, nullptr, false);
  if (header.is_discarded() || !header.is_object()) return corrupt(path, "header is not a JSON object");

  const MappedFile& file = store.add_file(std::move(mapped).value());
  for (auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    if (!info.is_object()) return corrupt(path, "entry '" + name + "' is not an object");
    auto dt = info.find("dtype");
    auto sh = info.find("shape");
    auto off = info.find("data_offsets");
    if (dt == info.end() || !dt->is_string() || sh == info.end() || !sh->is_array() || off == info.end() ||
        !off->is_array() || off->size() != 2)
      return corrupt(path, "entry '" + name + "' needs dtype, shape and data_offsets [begin, end]");
    auto dtype = dtype_from_st(dt->get<std::string>(), path, name);
    if (!dtype) return dtype.take_error();
    TensorRef t;
    t.name = name;
    t.dtype = *dtype;
    t.file = path;
    uint64_t n_elem = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned()) return corrupt(path, "tensor '" + name + "' has a bad shape");
      uint64_t v = d.get<uint64_t>();
      if (v != 0 && n_elem > (uint64_t(1) << 48) / v) return corrupt(path, "tensor '" + name + "' is too large");
      n_elem *= v;
      t.shape.push_back(int64_t(v));
    }
    if (!(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned())
      return corrupt(path, "tensor '" + name + "' has bad data_offsets");
    uint64_t b = (*off)[0].get<uint64_t>(), e = (*off)[1].get<uint64_t>();
    if (b > e || e > data_size)
      return corrupt(path, "tensor '" + name + "' data_offsets [" + std::to_string(b) + ", " + std::to_string(e) +
                               ") lie outside the data section (" + std::to_string(data_size) +
                               " bytes): truncated or corrupt file");
    if (e - b != n_elem * elem_size(t.dtype))
      return corrupt(path, "tensor '" + name + "' holds " + std::to_string(e - b) + " bytes but shape " +
                               t.shape_string() + " of " + dt->get<std::string>() + " needs " +
                               std::to_string(n_elem * elem_size(t.dtype)));
    t.data = file.data() + 8 + n_header + b;
    t.n_bytes = size_t(e - b);
    (void)data_begin;
    GLM_TRY(store.add_tensor(std::move(t)));
  }
  return {};
}

Result<TensorStore> load_safetensors(const std::string& path) {
  TensorStore store;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    GLM_TRY(add_safetensors_file(store, path));
    return store;
  }
  const std::string single = path + "/model.safetensors";
  const std::string index_path = path + "/model.safetensors.index.json";
  if (fs::exists(index_path, ec)) {
    auto text = read_text_file(index_path);
    if (!text) return text.take_error();
    json index = json::parse(*text, nullptr, false);
    if (index.is_discarded() || !index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
      return make_error(ErrorCode::invalid_argument, "'" + index_path + "': expected {\"weight_map\": {...}}");
    std::map<std::string, std::vector<std::string>> by_shard;
    for (auto& [name, shard] : index["weight_map"].items()) {
      if (!shard.is_string())
        return make_error(ErrorCode::invalid_argument, "'" + index_path + "': shard of '" + name + "' is not a string");
      std::string s = shard.get<std::string>();
      if (s.find('/') != std::string::npos || s == "..")
        return make_error(ErrorCode::invalid_argument, "'" + index_path + "': shard name '" + s + "' must be a plain file name");
      by_shard[s].push_back(name);
    }
    for (const auto& [shard, names] : by_shard) {
      GLM_TRY(add_safetensors_file(store, path + "/" + shard));
      for (const auto& n : names)
        if (!store.find(n))
          return make_error(ErrorCode::not_found, "'" + index_path + "' places tensor '" + n + "' in '" + shard +
                                                      "', which does not contain it");
    }
    return store;
  }
  if (fs::exists(single, ec)) {
    GLM_TRY(add_safetensors_file(store, single));
    return store;
  }
  return make_error(ErrorCode::not_found,
                    "no model.safetensors or model.safetensors.index.json in '" + path + "'");
}

Status write_safetensors(const std::string& path, const std::vector<SafetensorsTensor>& tensors) {
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    const char* dt = dtype_to_st(t.dtype);
    if (!dt) return make_error(ErrorCode::unsupported, "safetensors cannot hold " + std::string(kernels::dtype_name(t.dtype)));
    header[t.name] = {{"dtype", dt}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  header["__metadata__"] = {{"format", "pt"}};
  std::string h = header.dump();
  while ((h.size() + 8) % 8) h += ' ';
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return make_error(ErrorCode::io, "cannot write '" + path + "'");
  uint64_t n = h.size();
  bool ok = std::fwrite(&n, 8, 1, f) == 1 && std::fwrite(h.data(), 1, h.size(), f) == h.size();
  for (const auto& t : tensors)
    ok = ok && (t.bytes.empty() || std::fwrite(t.bytes.data(), 1, t.bytes.size(), f) == t.bytes.size());
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) return make_error(ErrorCode::io, "writing '" + path + "' failed");
  return {};
}

Status write_safetensors_dir(const std::string& dir, const std::vector<SafetensorsTensor>& tensors, int n_shards) {
  if (n_shards <= 1) return write_safetensors(dir + "/model.safetensors", tensors);
  json weight_map = json::object();
  uint64_t total = 0;
  for (int s = 0; s < n_shards; ++s) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", s + 1, n_shards);
    std::vector<SafetensorsTensor> part;
    for (size_t i = size_t(s); i < tensors.size(); i += size_t(n_shards)) {
      part.push_back(tensors[i]);
      weight_map[tensors[i].name] = name;
      total += tensors[i].bytes.size();
    }
    GLM_TRY(write_safetensors(dir + "/" + name, part));
  }
  json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  FILE* f = std::fopen((dir + "/model.safetensors.index.json").c_str(), "wb");
  if (!f) return make_error(ErrorCode::io, "cannot write the index in '" + dir + "'");
  std::string text = index.dump(2);
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) return make_error(ErrorCode::io, "writing the index in '" + dir + "' failed");
  return {};
}

}  // namespace glm
