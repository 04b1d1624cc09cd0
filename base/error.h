// base/error.h — the one error type of glm-agent, carried by value across layer boundaries.
//
// Every function whose failure can be caused by input (a file, a config, a request, a script) returns
// Result<T>: either a T or an Error. Invariants that only a bug can break use GLM_CHECK instead, which
// aborts with file:line. Exceptions never cross a layer boundary or the event loop.
//
//   Result<Tokenizer> r = Tokenizer::load(path);
//   if (!r) { std::cerr << r.error().to_string() << "\n"; return 1; }
//   Tokenizer tok = std::move(r).value();
//
// Threads: plain values; no shared state.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace glm {

// Spelled as on the wire (tool results, JSON errors). Prefer the most specific code.
enum class ErrorCode {
  invalid_argument,  // the input is malformed or out of range (bad JSON, ids out of vocabulary, bad UTF-8)
  not_found,         // a named file, tensor, tool or key does not exist
  unsupported,       // well-formed but outside what glm-agent implements (unknown architecture, regex)
  syntax,            // source text (script, grammar, schema) fails to parse
  runtime,           // a script or tool failed while running
  timeout,           // a deadline passed
  memory,            // a memory cap was hit
  output,            // an output cap was hit
  forbidden,         // a policy refused the action (sandbox, network policy)
  cancelled,         // the caller cancelled
  unavailable,       // a resource is temporarily unavailable; retrying may succeed
  io,                // reading or writing a file or socket failed
  internal,          // a bug in glm-agent; the message says where
};

std::string_view error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;

  std::string to_string() const;  // "invalid_argument: message"
};

inline Error make_error(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

[[noreturn]] void check_failed(const char* file, int line, const char* expr);

#define GLM_CHECK(cond) \
  do { if (!(cond)) ::glm::check_failed(__FILE__, __LINE__, #cond); } while (0)

// A T or an Error. value() on an Error aborts (a bug: the caller must test first).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { GLM_CHECK(ok()); return std::get<0>(v_); }
  const T& value() const& { GLM_CHECK(ok()); return std::get<0>(v_); }
  T&& value() && { GLM_CHECK(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { GLM_CHECK(!ok()); return std::get<1>(v_); }
  Error&& take_error() { GLM_CHECK(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Success or an Error, for functions with nothing to return.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), failed_(true) {}  // NOLINT

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { GLM_CHECK(failed_); return err_; }
  Error&& take_error() { GLM_CHECK(failed_); return std::move(err_); }

 private:
  Error err_;
  bool failed_ = false;
};

using Status = Result<void>;

}  // namespace glm

// Propagates an error from an expression returning Result<...>.
#define GLM_TRY(expr)                                             \
  do {                                                            \
    auto glm_try_r_ = (expr);                                     \
    if (!glm_try_r_.ok()) return glm_try_r_.take_error();         \
  } while (0)
