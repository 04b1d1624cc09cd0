#include "base/error.h"

namespace glm {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::unsupported: return "unsupported";
    case ErrorCode::syntax: return "syntax";
    case ErrorCode::runtime: return "runtime";
    case ErrorCode::timeout: return "timeout";
    case ErrorCode::memory: return "memory";
    case ErrorCode::output: return "output";
    case ErrorCode::forbidden: return "forbidden";
    case ErrorCode::cancelled: return "cancelled";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::io: return "io";
    case ErrorCode::internal: return "internal";
  }
  return "internal";
}

std::string Error::to_string() const {
  std::string s(error_code_name(code));
  s += ": ";
  s += message;
  return s;
}

void check_failed(const char* file, int line, const char* expr) {
  std::fprintf(stderr, "%s:%d: GLM_CHECK failed: %s\n", file, line, expr);
  std::fflush(stderr);
  std::abort();
}

}  // namespace glm
