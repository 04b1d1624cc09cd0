// tests/test_util.h — where tests find shared data and the glm-agent binary.
#pragma once

#include <optional>
#include <string>

namespace glm::testing {

// ../shared/data beside the checkout (or $GLM_SHARED_DATA); nullopt when absent. Tests that need it call
// GTEST_SKIP() with a message naming the missing path.
std::optional<std::string> shared_data_dir();

// A fresh temporary directory for one test; removed with its contents when the test binary exits normally
// (GLM_KEEP_TEST_DIRS=1 keeps it).
std::string make_temp_dir(const std::string& prefix);

// Path of the built glm-agent binary ($GLM_AGENT_BIN, set by ctest).
std::string agent_binary();

// Runs a shell command, returns {exit code, stdout}.
struct CommandResult { int exit_code; std::string out; };
CommandResult run_command(const std::string& command);

}  // namespace glm::testing

#define GLM_REQUIRE_SHARED_DATA(var)                                                          \
  auto var##_opt = ::glm::testing::shared_data_dir();                                         \
  if (!var##_opt) GTEST_SKIP() << "../shared/data is absent (set GLM_SHARED_DATA to run this)"; \
  const std::string var = *var##_opt
