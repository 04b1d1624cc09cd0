// Loading safetensors files, and the clear errors for every kind of bad file (never a crash, never a read
// outside the mapping).
#include "model/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "model/weights.h"
#include "tests/model/tiny_checkpoint.h"

namespace glm {
namespace {

std::string write_raw(const std::string& dir, const std::string& name, const std::string& header,
                      const std::string& data, int64_t header_len_override = -1) {
  std::string path = dir + "/" + name;
  std::ofstream f(path, std::ios::binary);
  uint64_t n = header_len_override >= 0 ? uint64_t(header_len_override) : header.size();
  f.write(reinterpret_cast<const char*>(&n), 8);
  f << header << data;
  return path;
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::make_temp_dir("glm-st"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  Status load(const std::string& path) {
    TensorStore s;
    return add_safetensors_file(s, path);
  }
  std::string dir_;
};

TEST_F(SafetensorsTest, ReadsWhatItWrites) {
  std::vector<SafetensorsTensor> ts = {
      {"a", DType::f32, {2, 3}, testing::encode_values({1, 2, 3, 4, 5, 6}, DType::f32)},
      {"b", DType::bf16, {4}, testing::encode_values({1.5f, -2, 0, 8}, DType::bf16)},
      {"c", DType::f16, {1, 2}, testing::encode_values({0.25f, 65504}, DType::f16)},
  };
  ASSERT_TRUE(write_safetensors(dir_ + "/x.safetensors", ts).ok());
  auto st = load_safetensors(dir_ + "/x.safetensors");
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  const TensorRef* b = st->find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->dtype, DType::bf16);
  EXPECT_EQ(b->shape, std::vector<int64_t>{4});
  float v[4];
  kernels::dequantize_row(b->dtype, b->data, v, 4);
  EXPECT_EQ(v[0], 1.5f);
  EXPECT_EQ(v[3], 8.0f);
  const TensorRef* c = st->find("c");
  kernels::dequantize_row(c->dtype, c->data, v, 2);
  EXPECT_EQ(v[1], 65504.0f);
  EXPECT_EQ(st->find("zzz"), nullptr);
}

TEST_F(SafetensorsTest, TruncatedFiles) {
  std::ofstream(dir_ + "/short.safetensors") << "abc";
  EXPECT_EQ(load(dir_ + "/short.safetensors").error().code, ErrorCode::invalid_argument);
  // Header length past the end.
  auto p = write_raw(dir_, "len.safetensors", "{}", "", 1000);
  Status s = load(p);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("past the end"), std::string::npos) << s.error().message;
  // Data cut short: offsets past the end of the data section.
  p = write_raw(dir_, "cut.safetensors", R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})",
                std::string(8, '\0'));
  s = load(p);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(s.error().message.find("outside the data section"), std::string::npos) << s.error().message;
  // Huge offsets (would overflow a naive begin + size check).
  p = write_raw(dir_, "huge.safetensors",
                R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [18446744073709551600, 18446744073709551615]}})",
                std::string(16, '\0'));
  EXPECT_EQ(load(p).error().code, ErrorCode::invalid_argument);
}

TEST_F(SafetensorsTest, CorruptHeaders) {
  EXPECT_EQ(load(write_raw(dir_, "a.safetensors", "{not json", "")).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(load(write_raw(dir_, "b.safetensors", "[1,2]", "")).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(load(write_raw(dir_, "c.safetensors", R"({"w": {"dtype": "F32", "shape": [4]}})", "")).error().code,
            ErrorCode::invalid_argument);
  EXPECT_EQ(load(write_raw(dir_, "d.safetensors", R"({"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}})",
                           std::string(16, '\0')))
                .error()
                .code,
            ErrorCode::invalid_argument);
  // Byte count disagrees with shape × dtype.
  Status s = load(write_raw(dir_, "e.safetensors", R"({"w": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 16]}})",
                            std::string(16, '\0')));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("needs 8"), std::string::npos) << s.error().message;
  // A dtype glm-agent does not read.
  s = load(write_raw(dir_, "f.safetensors", R"({"w": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}})",
                     std::string(16, '\0')));
  EXPECT_EQ(s.error().code, ErrorCode::unsupported);
  EXPECT_EQ(load(dir_ + "/missing.safetensors").error().code, ErrorCode::not_found);
}

TEST_F(SafetensorsTest, ShardedIndex) {
  std::vector<SafetensorsTensor> ts;
  for (int i = 0; i < 5; ++i)
    ts.push_back({"t" + std::to_string(i), DType::f32, {1}, testing::encode_values({float(i)}, DType::f32)});
  ASSERT_TRUE(write_safetensors_dir(dir_, ts, 2).ok());
  auto st = load_safetensors(dir_);
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  EXPECT_EQ(st->tensors().size(), 5u);
  // The index names a tensor its shard lacks.
  std::ofstream(dir_ + "/model.safetensors.index.json")
      << R"({"weight_map": {"t0": "model-00001-of-00002.safetensors", "ghost": "model-00002-of-00002.safetensors"}})";
  auto bad = load_safetensors(dir_);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::not_found);
  EXPECT_NE(bad.error().message.find("ghost"), std::string::npos);
  // A shard that does not exist.
  std::ofstream(dir_ + "/model.safetensors.index.json") << R"({"weight_map": {"t0": "nope.safetensors"}})";
  EXPECT_EQ(load_safetensors(dir_).error().code, ErrorCode::not_found);
  // A shard path escaping the directory.
  std::ofstream(dir_ + "/model.safetensors.index.json") << R"({"weight_map": {"t0": "../x.safetensors"}})";
  EXPECT_EQ(load_safetensors(dir_).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(load_safetensors(dir_ + "/empty-nothing-here").error().code, ErrorCode::not_found);
}

TEST_F(SafetensorsTest, WeightsReportMissingTensorsAndShapeMismatches) {
  Glm4Config c = testing::tiny_config();
  ASSERT_TRUE(testing::write_tiny_checkpoint(dir_, c, DType::bf16, 1, 5));
  ASSERT_TRUE(Glm4Weights::load(dir_).ok());
  // config.json disagrees with the tensors.
  Glm4Config wider = c;
  wider.n_ff = 128;
  std::ofstream(dir_ + "/config.json") << wider.to_json();
  auto r = Glm4Weights::load(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(r.error().message.find("gate_up_proj"), std::string::npos) << r.error().message;
  // More layers than the checkpoint has.
  Glm4Config deeper = c;
  deeper.n_layer = 3;
  std::ofstream(dir_ + "/config.json") << deeper.to_json();
  r = Glm4Weights::load(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::not_found);
  EXPECT_NE(r.error().message.find("model.layers.2."), std::string::npos) << r.error().message;
  // attention_bias = false but biases present.
  Glm4Config nobias = c;
  nobias.attention_bias = false;
  std::ofstream(dir_ + "/config.json") << nobias.to_json();
  EXPECT_EQ(Glm4Weights::load(dir_).error().code, ErrorCode::invalid_argument);
  // Truncate the weight file: an error, not a crash.
  std::ofstream(dir_ + "/config.json") << c.to_json();
  auto size = std::filesystem::file_size(dir_ + "/model.safetensors");
  std::filesystem::resize_file(dir_ + "/model.safetensors", size - 100);
  r = Glm4Weights::load(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace glm
