// runtime/server/http.h — HTTP as the routes see it: plain request and response values and a Responder,
// with no Boost.Beast types (only runtime/server/server.cpp includes Beast).
//
//   void route(const HttpRequest& req, Services& s, std::shared_ptr<Responder> out);
//   out->respond(json_response(200, body));                         // a whole response, or
//   out->begin_stream(200, "text/event-stream"); out->write("data: ...\n\n"); ...; out->end_stream();
//
// Owns: HttpRequest / HttpResponse are values. Threads: every Responder method may be called from any
// thread (the engine thread streams tokens through it); calls are delivered to the client in call order.
// Completion: exactly one respond(), or begin_stream() + write()* + end_stream(); anything after that is
// ignored. When the client goes away, gone() turns true (it doubles as a TurnRequest cancel flag), the
// on_gone hook runs once on the connection's executor, and later writes are dropped.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace glm::server {

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // path and query, as sent
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string path() const { return target.substr(0, target.find('?')); }
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;  // extra headers
};

// An OpenAI-shaped error: {"error": {"message", "type", "param", "code"}} with its HTTP status.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";  // invalid_request_error | authentication_error |
                                                // rate_limit_error | server_error
  std::string param;                            // empty: null
  std::string code;                             // empty: null
};

nlohmann::ordered_json error_json(const ApiError& e);
HttpResponse error_response(const ApiError& e);
HttpResponse json_response(int status, const nlohmann::ordered_json& body);
// JSON text that never throws: invalid UTF-8 in strings becomes U+FFFD.
std::string dump_json(const nlohmann::ordered_json& j);

class Responder {
 public:
  virtual ~Responder() = default;
  virtual void respond(HttpResponse response) = 0;
  virtual void begin_stream(int status, std::string content_type) = 0;
  virtual void write(std::string data) = 0;
  virtual void end_stream() = 0;
  // True once the client disconnected (or a write to it failed).
  virtual std::shared_ptr<const std::atomic<bool>> gone() const = 0;
  // Runs once on the connection's executor when the client goes away (not after a completed response).
  virtual void on_gone(std::function<void()> hook) = 0;
};

}  // namespace glm::server
