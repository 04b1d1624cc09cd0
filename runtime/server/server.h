// runtime/server/server.h — the HTTP server: Boost.Beast on the caller's io_context.
//
//   boost::asio::io_context ioc;                       // declare before the engine: it must outlive it
//   auto services = std::make_shared<server::Services>(); services->engine = gen; ...
//   auto srv = server::Server::start(ioc, {.host = "127.0.0.1", .port = 8080}, services);
//   ioc.run();
//
// Each connection is one coroutine on its own strand: read one request (read_timeout_s for the whole
// request, header and body limits), call route() (routes.h), deliver what the Responder receives (a whole
// response, or a chunked stream), loop while keep-alive. Limits answer in OpenAI's error shape before
// closing: 413 body too large, 431 header too large, 400 malformed HTTP. While a response is pending the
// connection polls the socket (every 25 ms) and treats a closed peer or a failed write as the client going
// away: Responder::gone() turns true, which cancels its generation. No exception leaves a connection:
// route() throwing answers 500.
// Owns: the listening socket and its connections. Shares: Services, weakly: the caller owns it and must
// destroy it (and so the engine, whose callbacks post to the io_context) before the io_context; requests
// arriving after that close their connection.
// Threads: start() on any thread; the io_context may run on any number of threads. stop() and the
// destructor post the acceptor's close to the io_context (open connections finish their response).
// Errors: start() returns invalid_argument for a host that is not an IP address, io when bind/listen fail.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/error.h"
#include "runtime/server/routes.h"

namespace glm::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;              // 0: any free port (port() says which)
  size_t max_body_bytes = 8u << 20;  // larger bodies: 413
  size_t max_header_bytes = 64u << 10;
  double read_timeout_s = 30;        // one whole request, and the keep-alive idle limit
  double write_timeout_s = 60;       // one write to the client
};

class Server {
 public:
  // Fills services->ioc and services->post with this io_context, binds, and starts accepting.
  static Result<std::unique_ptr<Server>> start(boost::asio::io_context& ioc, const ServerOptions& opt,
                                               std::shared_ptr<Services> services);
  ~Server();
  uint16_t port() const { return port_; }
  void stop();

  struct Impl;

 private:
  Server() = default;
  std::shared_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace glm::server
