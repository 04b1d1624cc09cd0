#include "tests/test_util.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "base/build_info.h"

namespace glm::testing {

std::optional<std::string> shared_data_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("GLM_SHARED_DATA"); env && fs::is_directory(env)) return std::string(env);
  fs::path p = fs::path(GLM_SOURCE_DIR) / ".." / "shared" / "data";
  if (fs::is_directory(p)) return fs::canonical(p).string();
  return std::nullopt;
}

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  char* p = ::mkdtemp(tmpl.data());
  return p ? std::string(p) : std::string();
}

std::string agent_binary() {
  if (const char* env = std::getenv("GLM_AGENT_BIN")) return env;
  return "glm-agent";
}

CommandResult run_command(const std::string& command) {
  CommandResult r{-1, {}};
  FILE* f = ::popen(command.c_str(), "r");
  if (!f) return r;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, n);
  int status = ::pclose(f);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace glm::testing
