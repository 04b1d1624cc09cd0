#include "runtime/cli/model_paths.h"

#include <filesystem>

#include "base/build_info.h"

namespace glm::cli {

std::string demo_model_dir() {
  if (const char* env = std::getenv("GLM_DEMO_MODEL")) return env;
  return std::string(GLM_SOURCE_DIR) + "/model/demo";
}

std::string model_dir(const Args& args) { return args.get_or("model", demo_model_dir()); }

Result<std::string> tokenizer_path(const Args& args) {
  if (auto t = args.get("tokenizer")) return *t;
  std::string p = model_dir(args) + "/tokenizer.json";
  if (!std::filesystem::exists(p))
    return make_error(ErrorCode::not_found, "no tokenizer at " + p + " (give --tokenizer FILE or --model DIR)");
  return p;
}

}  // namespace glm::cli
