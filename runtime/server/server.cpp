// The only translation unit of the server that includes Boost.Beast.
#include "runtime/server/server.h"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <deque>
#include <tuple>
#include <mutex>

namespace glm::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr auto kTuple = net::as_tuple(net::use_awaitable);

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

// What route() sent, queued for the connection coroutine. Any thread pushes; the coroutine drains.
class ConnResponder : public Responder {
 public:
  struct Item {
    enum class Kind { whole, head, data, end } kind = Kind::whole;
    HttpResponse response;  // whole; head (status and content type)
    std::string data;
  };

  explicit ConnResponder(std::function<void()> wake) : wake_(std::move(wake)) {}

  void respond(HttpResponse r) override { push(Item{Item::Kind::whole, std::move(r), {}}); }
  void begin_stream(int status, std::string content_type) override {
    Item it{Item::Kind::head, {}, {}};
    it.response.status = status;
    it.response.content_type = std::move(content_type);
    push(std::move(it));
  }
  void write(std::string data) override { push(Item{Item::Kind::data, {}, std::move(data)}); }
  void end_stream() override { push(Item{Item::Kind::end, {}, {}}); }
  std::shared_ptr<const std::atomic<bool>> gone() const override { return gone_; }
  void on_gone(std::function<void()> hook) override {
    std::lock_guard<std::mutex> lock(mu_);
    hook_ = std::move(hook);
  }

  // Connection side (its executor).
  std::deque<Item> take() {
    std::lock_guard<std::mutex> lock(mu_);
    std::deque<Item> out;
    for (auto& it : items_) {  // consecutive data items go out as one chunk
      if (it.kind == Item::Kind::data && !out.empty() && out.back().kind == Item::Kind::data) out.back().data += it.data;
      else out.push_back(std::move(it));
    }
    items_.clear();
    return out;
  }
  void mark_gone() {
    std::function<void()> hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (gone_->exchange(true) || complete_) return;
      hook = std::move(hook_);
    }
    if (hook) hook();
  }
  void mark_complete() {
    std::lock_guard<std::mutex> lock(mu_);
    complete_ = true;
    hook_ = nullptr;
  }

 private:
  void push(Item it) {
    bool was_empty;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || gone_->load()) return;
      if (it.kind == Item::Kind::head && streaming_) return;
      if (it.kind == Item::Kind::head) streaming_ = true;
      if ((it.kind == Item::Kind::data || it.kind == Item::Kind::end) && !streaming_) return;
      if (it.kind == Item::Kind::whole && streaming_) return;
      if (it.kind == Item::Kind::whole || it.kind == Item::Kind::end) closed_ = true;
      was_empty = items_.empty();
      items_.push_back(std::move(it));
    }
    // Items queued behind others ride on the wake already sent: the writer drains the whole queue (take())
    // before it waits again, so one post per batch, not per token.
    if (was_empty) wake_();
  }

  std::function<void()> wake_;
  std::mutex mu_;
  std::deque<Item> items_;
  bool closed_ = false, streaming_ = false, complete_ = false;
  std::function<void()> hook_;
  std::shared_ptr<std::atomic<bool>> gone_ = std::make_shared<std::atomic<bool>>(false);
};

// True when the peer closed its side or the socket failed (a non-blocking peek).
bool peer_closed(tcp::socket& s) {
  char c;
  ssize_t n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return false;
  if (n == 0) return true;
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

template <class Body>
void set_common(http::response<Body>& res, int status, const std::string& content_type, bool keep_alive) {
  res.result(static_cast<http::status>(status));
  res.set(http::field::server, "glm-agent");
  res.set(http::field::content_type, content_type);
  res.keep_alive(keep_alive);
}

net::awaitable<bool> write_whole(beast::tcp_stream& stream, const HttpResponse& r, bool keep_alive, double timeout_s) {
  http::response<http::string_body> res;
  set_common(res, r.status, r.content_type, keep_alive);
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.body() = r.body;
  res.prepare_payload();
  stream.expires_after(seconds(timeout_s));
  auto [ec, n] = co_await http::async_write(stream, res, kTuple);
  stream.expires_never();
  co_return !ec;
}

// Holds Services weakly: only the server's owner keeps it (and so the engine) alive, so that the engine can
// be destroyed before the io_context while connection frames still sit in it.
net::awaitable<void> serve_connection(tcp::socket socket, std::weak_ptr<Services> weak_services, ServerOptions opt) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buf;
  auto ex = co_await net::this_coro::executor;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(opt.max_body_bytes);
    parser.header_limit(static_cast<std::uint32_t>(opt.max_header_bytes));
    stream.expires_after(seconds(opt.read_timeout_s));
    auto [ec, n_read] = co_await http::async_read_header(stream, buf, parser, kTuple);
    if (!ec && !parser.is_done()) {
      // curl and others wait for "100 Continue" before sending a large body.
      if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, parser.get().version()};
        auto [cec, cn] = co_await http::async_write(stream, cont, kTuple);
        ec = cec;
      }
      if (!ec) std::tie(ec, n_read) = co_await http::async_read(stream, buf, parser, kTuple);
    }
    stream.expires_never();
    if (ec) {
      std::optional<ApiError> e;
      if (ec == http::error::body_limit)
        e = ApiError{413, "the request body is larger than " + std::to_string(opt.max_body_bytes) + " bytes",
                     "invalid_request_error", "", "request_too_large"};
      else if (ec == http::error::header_limit)
        e = ApiError{431, "the request header is larger than " + std::to_string(opt.max_header_bytes) + " bytes",
                     "invalid_request_error", "", "header_too_large"};
      else if (ec.category() == http::make_error_code(http::error::bad_target).category() && ec != http::error::end_of_stream &&
               ec != http::error::partial_message)
        e = ApiError{400, "malformed HTTP request: " + ec.message(), "invalid_request_error", "", "bad_request"};
      if (e) {
        if (auto services = weak_services.lock()) {
          ++services->metrics->http_requests;
          ++services->metrics->http_4xx;
        }
        (void)co_await write_whole(stream, error_response(*e), false, opt.write_timeout_s);
      }
      break;  // end of stream, timeout, socket error, or answered above
    }
    auto& msg = parser.get();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers[name] = std::string(f.value());
    }
    req.body = std::move(msg.body());
    bool keep_alive = msg.keep_alive();

    auto timer = std::make_shared<net::steady_timer>(ex);
    std::weak_ptr<net::steady_timer> weak_timer = timer;
    auto out = std::make_shared<ConnResponder>([ex, weak_timer] {
      net::post(ex, [weak_timer] {
        if (auto t = weak_timer.lock()) t->cancel();
      });
    });
    {
      auto services = weak_services.lock();
      if (!services) break;  // the server is shutting down
      try {
        route(req, *services, out);
      } catch (const std::exception& x) {
        ++services->metrics->http_5xx;
        out->respond(error_response(ApiError{500, std::string("internal error: ") + x.what(), "server_error", "", ""}));
      } catch (...) {
        ++services->metrics->http_5xx;
        out->respond(error_response(ApiError{500, "internal error", "server_error", "", ""}));
      }
    }

    // Deliver what the route sends, in order, until the response is complete or the client is gone.
    bool finished = false, failed = false;
    std::optional<http::response<http::empty_body>> head;
    while (!finished && !failed) {
      auto items = out->take();
      if (items.empty()) {
        if (peer_closed(stream.socket())) {
          failed = true;
          break;
        }
        // A client gone is noticed within this and its generation cancelled (a token of a large model takes longer).
        timer->expires_after(std::chrono::milliseconds(25));
        (void)co_await timer->async_wait(kTuple);
        continue;
      }
      for (auto& it : items) {
        if (it.kind == ConnResponder::Item::Kind::whole) {
          failed = !co_await write_whole(stream, it.response, keep_alive, opt.write_timeout_s);
          finished = true;
        } else if (it.kind == ConnResponder::Item::Kind::head) {
          head.emplace();
          set_common(*head, it.response.status, it.response.content_type, keep_alive);
          head->set(http::field::cache_control, "no-cache");
          head->chunked(true);
          http::response_serializer<http::empty_body> sr(*head);
          stream.expires_after(seconds(opt.write_timeout_s));
          auto [wec, wn] = co_await http::async_write_header(stream, sr, kTuple);
          failed = static_cast<bool>(wec);
        } else if (it.kind == ConnResponder::Item::Kind::data) {
          stream.expires_after(seconds(opt.write_timeout_s));
          auto [wec, wn] = co_await net::async_write(stream, http::make_chunk(net::buffer(it.data)), kTuple);
          failed = static_cast<bool>(wec);
        } else {
          stream.expires_after(seconds(opt.write_timeout_s));
          auto [wec, wn] = co_await net::async_write(stream, http::make_chunk_last(), kTuple);
          failed = static_cast<bool>(wec);
          finished = true;
        }
        stream.expires_never();
        if (failed || finished) break;
      }
    }
    if (failed) {
      out->mark_gone();
      break;
    }
    out->mark_complete();
    if (!keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace

struct Server::Impl {
  explicit Impl(net::io_context& io) : ioc(io), acceptor(io) {}
  net::io_context& ioc;
  tcp::acceptor acceptor;
  ServerOptions opt;
  std::weak_ptr<Services> services;
};

namespace {

net::awaitable<void> accept_loop(std::shared_ptr<Server::Impl> impl) {
  for (;;) {
    auto [ec, socket] = co_await impl->acceptor.async_accept(net::make_strand(impl->ioc), kTuple);
    if (ec) {
      if (!impl->acceptor.is_open() || ec == net::error::operation_aborted) co_return;
      net::steady_timer pause(impl->ioc, std::chrono::milliseconds(50));  // e.g. out of file descriptors
      (void)co_await pause.async_wait(kTuple);
      continue;
    }
    auto ex = socket.get_executor();
    net::co_spawn(ex, serve_connection(std::move(socket), impl->services, impl->opt), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        std::fprintf(stderr, "glm-agent serve: connection ended by an exception: %s\n", x.what());
      } catch (...) {
        std::fprintf(stderr, "glm-agent serve: connection ended by an unknown exception\n");
      }
    });
  }
}

}  // namespace

Result<std::unique_ptr<Server>> Server::start(net::io_context& ioc, const ServerOptions& opt,
                                              std::shared_ptr<Services> services) {
  beast::error_code ec;
  auto addr = net::ip::make_address(opt.host, ec);
  if (ec) return make_error(ErrorCode::invalid_argument, "--host " + opt.host + " is not an IP address");
  services->ioc = &ioc;
  if (!services->post) services->post = [&ioc](std::function<void()> fn) { net::post(ioc, std::move(fn)); };
  auto impl = std::make_shared<Impl>(ioc);
  impl->opt = opt;
  impl->services = services;
  tcp::endpoint ep(addr, opt.port);
  auto fail = [&](const char* what) {
    return make_error(ErrorCode::io, std::string(what) + " " + opt.host + ":" + std::to_string(opt.port) + ": " + ec.message());
  };
  impl->acceptor.open(ep.protocol(), ec);
  if (ec) return fail("cannot open a socket for");
  impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  impl->acceptor.bind(ep, ec);
  if (ec) return fail("cannot bind");
  impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("cannot listen on");
  std::unique_ptr<Server> s(new Server());
  s->port_ = impl->acceptor.local_endpoint().port();
  s->impl_ = impl;
  net::co_spawn(ioc, accept_loop(impl), [](std::exception_ptr) {});
  return s;
}

void Server::stop() {
  if (!impl_) return;
  net::post(impl_->ioc, [impl = impl_] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
}

Server::~Server() { stop(); }

}  // namespace glm::server
