#include "runtime/cli/args.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace glm::cli {

Result<Args> Args::parse(const std::vector<std::string>& argv, const std::set<std::string>& value_flags,
                         const std::set<std::string>& switch_flags) {
  Args a;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    if (s.size() > 2 && s.compare(0, 2, "--") == 0) {
      std::string name = s.substr(2), value;
      bool inline_value = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        inline_value = true;
      }
      if (value_flags.count(name)) {
        if (!inline_value) {
          if (i + 1 >= argv.size()) return make_error(ErrorCode::invalid_argument, "--" + name + " needs a value");
          value = argv[++i];
        }
        a.values[name] = value;
      } else if (switch_flags.count(name)) {
        if (inline_value) return make_error(ErrorCode::invalid_argument, "--" + name + " takes no value");
        a.switches.insert(name);
      } else {
        return make_error(ErrorCode::invalid_argument, "unknown option --" + name);
      }
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

std::optional<std::string> Args::get(const std::string& flag) const {
  auto it = values.find(flag);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

std::string Args::get_or(const std::string& flag, const std::string& fallback) const {
  auto v = get(flag);
  return v ? *v : fallback;
}

Result<long long> Args::get_int(const std::string& flag, long long fallback) const {
  auto v = get(flag);
  if (!v) return fallback;
  errno = 0;
  char* end = nullptr;
  long long x = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || errno == ERANGE)
    return make_error(ErrorCode::invalid_argument, "--" + flag + " expects an integer, got '" + *v + "'");
  return x;
}

Result<double> Args::get_double(const std::string& flag, double fallback) const {
  auto v = get(flag);
  if (!v) return fallback;
  errno = 0;
  char* end = nullptr;
  double x = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0' || errno == ERANGE)
    return make_error(ErrorCode::invalid_argument, "--" + flag + " expects a number, got '" + *v + "'");
  return x;
}

int fail(int exit_code, const std::string& message) {
  std::fprintf(stderr, "glm-agent: %s\n", message.c_str());
  return exit_code;
}

}  // namespace glm::cli
