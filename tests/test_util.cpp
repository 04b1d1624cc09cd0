#include "tests/test_util.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include "base/build_info.h"

namespace glm::testing {

std::optional<std::string> shared_data_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("GLM_SHARED_DATA"); env && fs::is_directory(env)) return std::string(env);
  fs::path p = fs::path(GLM_SOURCE_DIR) / ".." / "shared" / "data";
  if (fs::is_directory(p)) return fs::canonical(p).string();
  return std::nullopt;
}

namespace {

// Every directory make_temp_dir created, removed when the test binary exits normally: a run of the suite
// otherwise leaves hundreds of folders in /tmp. A crashed binary leaves its folders for inspection, and
// GLM_KEEP_TEST_DIRS=1 keeps them always.
struct TempDirs {
  std::vector<std::string> paths;
  ~TempDirs() {
    if (const char* keep = std::getenv("GLM_KEEP_TEST_DIRS"); keep && *keep && std::string(keep) != "0") return;
    for (const std::string& p : paths) {
      std::error_code ec;
      std::filesystem::remove_all(p, ec);
    }
  }
};

TempDirs& temp_dirs() {
  static TempDirs dirs;
  return dirs;
}

}  // namespace

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  char* p = ::mkdtemp(tmpl.data());
  if (!p) return std::string();
  temp_dirs().paths.emplace_back(p);
  return std::string(p);
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
