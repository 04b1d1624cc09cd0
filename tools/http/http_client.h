// tools/http/http_client.h — policy-checked HTTP requests over libcurl's multi interface.
//
//   auto client = HttpClient::create();
//   client->fetch(HttpRequest{.url = "https://example.com/"}, policy, FetchLimits{}, cancel,
//                 [](Result<HttpResponse> r) { ... });
//
// Every hop (the first URL and each redirect, followed manually, at most `max_redirects`): the URL is parsed
// with curl_url(); only http/https, no userinfo; the host must pass policy.check_host; the name is resolved
// once (Resolver, off the transfer thread) and every answer vetted with policy.check_address (any denied
// answer refuses the hop: fail closed); the vetted addresses are pinned with CURLOPT_RESOLVE, and
// CURLOPT_PREREQFUNCTION re-checks the address actually connected (new or reused connection) before a byte
// of the request is sent. Headers are sent on the first host only; a redirect to another host drops them
// (secrets are bound to the configured host). 301/302/303 turn into GET without a body.
// Limits: connect / total (across hops) / low-speed timeouts; decoded body bytes are counted in the write
// callback (libcurl decodes gzip/deflate/br, so a compression bomb stops at the cap); response header bytes.
//
// Owns: one transfer thread running an Asio io_context that drives curl multi through socket and timer callbacks
//   (CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION -> curl_multi_socket_action; no thread per request), and a small
//   resolver pool (getaddrinfo blocks). Connections are reused across requests. The io_context is the client's
//   own, not the agent loop's: the Tool interface gives tools no executor.
// Threads: fetch() from any thread, never blocks. `done` runs exactly once on the transfer thread (or inline
//   when the request is refused before any I/O). Destroying the client fails in-flight requests (cancelled).
// Errors (in done): forbidden (policy, protocol, address), invalid_argument (malformed URL or header),
//   timeout, output (body or header cap), cancelled, io (connection or protocol failure).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "tools/http/address_policy.h"

namespace glm::tools::http {

struct HttpRequest {
  std::string method = "GET";  // GET POST PUT PATCH DELETE
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // checked: tokens, no CR/LF/NUL, no Host
  std::string body;            // sent for POST/PUT/PATCH
};

struct HttpResponse {
  long status = 0;
  std::string content_type;
  std::string body;             // decoded
  std::string url;              // the final URL after redirects
  std::vector<std::pair<std::string, std::string>> headers;  // of the final response; names lower-cased

  const std::string* header(std::string_view lower_name) const;  // the first one so named, or null
};

struct FetchLimits {
  long connect_timeout_ms = 5000;
  long total_timeout_ms = 30000;
  long low_speed_bytes = 1024;  // abort when slower than this for low_speed_s
  long low_speed_s = 10;
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 64 << 10;
  int max_redirects = 5;
};

// Resolves a host name to addresses; runs on the resolver pool. Tests inject one (e.g. a rebinding resolver).
using Resolver = std::function<Result<std::vector<IpAddress>>(const std::string& host)>;
Result<std::vector<IpAddress>> system_resolve(const std::string& host);  // getaddrinfo

// Refuses header names that are not RFC 7230 tokens, CR/LF/NUL in names or values, and Host.
Status check_header(const std::string& name, const std::string& value);

class HttpClient {
 public:
  using Done = std::function<void(Result<HttpResponse>)>;
  static std::shared_ptr<HttpClient> create(Resolver resolver = system_resolve, int resolver_threads = 4);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  void fetch(HttpRequest request, AddressPolicy policy, FetchLimits limits,
             std::shared_ptr<const std::atomic<bool>> cancel, Done done);

  struct State;
 private:
  explicit HttpClient(std::shared_ptr<State> s) : state_(std::move(s)) {}
  std::shared_ptr<State> state_;
};

}  // namespace glm::tools::http
