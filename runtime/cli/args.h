// runtime/cli/args.h — the command line of one glm-agent subcommand, parsed once.
//
// Flags are `--name value` or `--name=value`; boolean flags take no value. Positional arguments keep
// their order. Unknown flags are a usage error (exit 2) reported by the command through error().
// Threads: plain value.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"

namespace glm::cli {

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // flags with values
  std::set<std::string> switches;             // boolean flags present

  // Parses argv against the flags this command accepts. value_flags take a value; switch_flags don't.
  static Result<Args> parse(const std::vector<std::string>& argv, const std::set<std::string>& value_flags,
                            const std::set<std::string>& switch_flags);

  bool has(const std::string& flag) const { return values.count(flag) || switches.count(flag); }
  std::optional<std::string> get(const std::string& flag) const;
  std::string get_or(const std::string& flag, const std::string& fallback) const;
  // Numeric flags: a usage error names the flag and the bad value.
  Result<long long> get_int(const std::string& flag, long long fallback) const;
  Result<double> get_double(const std::string& flag, double fallback) const;
};

// Exit codes of the CLI contract (ARCHITECTURE.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 130;

// Prints "glm-agent: <message>" to stderr and returns the exit code.
int fail(int exit_code, const std::string& message);

}  // namespace glm::cli
