// Corrupted weight files (random byte changes in the header and tensor-info regions, random truncation)
// must load or fail with an error, never crash or read outside the mapping.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "model/cpu/cpu_engine.h"
#include "model/gguf.h"
#include "model/safetensors.h"
#include "tests/model/tiny_checkpoint.h"

namespace glm {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Loads `path` as weights; if it loads, runs one token so every tensor pointer is used.
void load_and_touch(const std::string& dir_or_file) {
  auto w = Glm4Weights::load(dir_or_file);
  if (!w.ok()) return;
  auto e = make_cpu_engine(std::move(w).value(), {.n_threads = 1});
  ASSERT_TRUE(e.ok());
  SeqId s = *(*e)->create_sequence();
  std::vector<float> row(static_cast<size_t>((*e)->caps().n_vocab));
  std::vector<int32_t> ids = {1, 2};
  (void)(*e)->prefill(s, ids, LogitsMode::last, row);
}

TEST(WeightsFuzzTest, CorruptSafetensorsAndGgufNeverCrash) {
  const std::string dir = testing::make_temp_dir("glm-fuzz");
  Glm4Config c = testing::tiny_config();
  c.n_layer = 1;
  ASSERT_TRUE(testing::write_tiny_checkpoint(dir + "/src", c, DType::bf16, 1, 3));
  ASSERT_TRUE(convert_to_gguf(dir + "/src", dir + "/m.gguf", DType::q8_0).ok());
  const std::string st = slurp(dir + "/src/model.safetensors");
  const std::string gg = slurp(dir + "/m.gguf");
  uint64_t st_header = 0;
  std::memcpy(&st_header, st.data(), 8);
  std::filesystem::create_directories(dir + "/fz");
  std::filesystem::copy_file(dir + "/src/config.json", dir + "/fz/config.json");
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 150; ++iter) {
    // safetensors: flip bytes in the length prefix or the JSON header, or truncate.
    std::string b = st;
    const int mode = iter % 3;
    if (mode == 0) {
      for (int k = 0; k < 3; ++k) b[rng() % (8 + st_header)] = char(rng());
    } else if (mode == 1) {
      b[rng() % 8] = char(rng());
    } else {
      b.resize(rng() % b.size());
    }
    std::ofstream(dir + "/fz/model.safetensors", std::ios::binary | std::ios::trunc) << b;
    load_and_touch(dir + "/fz");
    // GGUF: flip bytes in the first 2 KB (header, metadata, tensor infos), or truncate.
    std::string g = gg;
    if (mode == 2) {
      g.resize(rng() % g.size());
    } else {
      for (int k = 0; k < 4; ++k) g[rng() % std::min<size_t>(2048, g.size())] = char(rng());
    }
    std::ofstream(dir + "/fz.gguf", std::ios::binary | std::ios::trunc) << g;
    load_and_touch(dir + "/fz.gguf");
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace glm
