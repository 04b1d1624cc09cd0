// runtime/cli/model_paths.h — where a command finds its model and tokenizer.
//
// --tokenizer FILE wins; else --model DIR/tokenizer.json; else the shipped demo model (model/demo/).
#pragma once

#include <string>

#include "base/error.h"
#include "runtime/cli/args.h"

namespace glm::cli {

// The demo checkpoint shipped in the repository (the default model).
std::string demo_model_dir();
// --model DIR, or the demo model.
std::string model_dir(const Args& args);
// --tokenizer FILE, or <model dir>/tokenizer.json; not_found names the path tried.
Result<std::string> tokenizer_path(const Args& args);

}  // namespace glm::cli
