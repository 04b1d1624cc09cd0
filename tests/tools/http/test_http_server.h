// tests/tools/http/test_http_server.h — a small HTTP/1.1 server on 127.0.0.1 for the HTTP tool tests.
// One thread accepts; each connection gets its own thread (one request per connection: Connection: close).
// Routes: /ok /json /html /echo /status?code=N /redirect?to=URL[&code=N] /loop /trickle /flood /gzip, and a fake
// search service for agents/web-research.json: /search?q=..&format=json (SearxNG shape) and /page/N (HTML).
// Header-only (the test glob compiles *_test.cpp files only). Every loop is bounded (bytes, iterations) so a broken client cannot hang the suite.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstring>
#include <map>

#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace glm::tools::http::testing {

class TestHttpServer {
 public:
  TestHttpServer();   // binds 127.0.0.1:0 and starts
  ~TestHttpServer();  // stops and joins every thread
  int port() const { return port_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int requests() const { return requests_.load(); }  // requests whose head was fully read

 private:
  void accept_loop();
  void serve(int fd);
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
  std::string gzip_bomb_;
};

namespace detail {}

namespace {

bool send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string gzip_zeros(size_t n) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY);
  std::string zeros(1 << 20, '\0'), out;
  char buf[1 << 16];
  for (size_t done = 0; done < n;) {
    size_t chunk = std::min(zeros.size(), n - done);
    done += chunk;
    z.next_in = reinterpret_cast<Bytef*>(zeros.data());
    z.avail_in = static_cast<uInt>(chunk);
    int flush = done == n ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      deflate(&z, flush);
      out.append(buf, sizeof buf - z.avail_out);
    } while (z.avail_out == 0);
  }
  deflateEnd(&z);
  return out;
}

std::string url_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) { out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)); i += 2; }
    else if (s[i] == '+') out += ' ';
    else out += s[i];
  }
  return out;
}

std::string response(int code, const std::string& type, const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(code) + " X\r\nContent-Type: " + type + "\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n" + extra + "\r\n" + body;
}

}  // namespace

inline TestHttpServer::TestHttpServer() {
  gzip_bomb_ = gzip_zeros(size_t(32) << 20);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(listen_fd_, 512);
  socklen_t len = sizeof a;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

inline TestHttpServer::~TestHttpServer() {
  stop_ = true;
  acceptor_.join();
  std::vector<std::thread> w;
  { std::lock_guard<std::mutex> lk(mu_); w.swap(workers_); }
  for (auto& t : w) t.join();
  ::close(listen_fd_);
}

inline void TestHttpServer::accept_loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lk(mu_);
    workers_.emplace_back([this, fd] { serve(fd); ::close(fd); });
  }
}

inline void TestHttpServer::serve(int fd) {
  std::string in;
  char buf[8192];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (in.find("\r\n\r\n") == std::string::npos) {
    if (stop_ || std::chrono::steady_clock::now() > deadline || in.size() > (1 << 20)) return;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    in.append(buf, static_cast<size_t>(n));
  }
  size_t head_end = in.find("\r\n\r\n");
  std::string head = in.substr(0, head_end);
  std::string body = in.substr(head_end + 4);
  size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
  std::string method = head.substr(0, sp1), target = head.substr(sp1 + 1, sp2 - sp1 - 1);
  nlohmann::json headers = nlohmann::json::object();
  for (size_t at = head.find("\r\n"); at != std::string::npos;) {
    size_t next = head.find("\r\n", at + 2);
    std::string line = head.substr(at + 2, next == std::string::npos ? std::string::npos : next - at - 2);
    if (auto c = line.find(':'); c != std::string::npos) {
      std::string k = line.substr(0, c), v = line.substr(c + 1);
      while (!v.empty() && v[0] == ' ') v.erase(0, 1);
      for (char& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      headers[k] = v;
    }
    at = next;
  }
  if (headers.contains("content-length")) {
    size_t want = std::stoul(headers["content-length"].get<std::string>());
    while (body.size() < want && !stop_ && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      body.append(buf, static_cast<size_t>(n));
    }
  }
  requests_++;
  std::string path = target.substr(0, target.find('?'));
  std::map<std::string, std::string> q;
  if (auto qm = target.find('?'); qm != std::string::npos) {
    std::string qs = target.substr(qm + 1);
    for (size_t at = 0; at <= qs.size();) {
      size_t amp = qs.find('&', at);
      std::string kv = qs.substr(at, amp == std::string::npos ? std::string::npos : amp - at);
      auto eq = kv.find('=');
      if (eq != std::string::npos) q[url_decode(kv.substr(0, eq))] = url_decode(kv.substr(eq + 1));
      if (amp == std::string::npos) break;
      at = amp + 1;
    }
  }
  if (path == "/ok") {
    send_all(fd, response(200, "text/plain", "hello"));
  } else if (path == "/json") {
    nlohmann::json j = {{"results", {{{"title", "A"}, {"url", "http://a.test/"}, {"content", "first"}, {"score", 1}},
                                     {{"title", "B"}, {"url", "http://b.test/"}, {"content", "second"}, {"score", 2}},
                                     {{"title", "C"}, {"url", "http://c.test/"}, {"content", "third"}, {"score", 3}}}},
                        {"query", q.count("q") ? q["q"] : ""}};
    send_all(fd, response(200, "application/json", j.dump()));
  } else if (path == "/html") {
    send_all(fd, response(200, "text/html; charset=utf-8",
                          "<html><head><title>T</title><style>p{color:red}</style><script>alert('x')</script></head>"
                          "<body><h1>Heading</h1><p>One &amp; two &lt;three&gt;</p><!-- hidden --><ul><li>a</li>"
                          "<li>b&#233;</li></ul></body></html>"));
  } else if (path == "/echo") {
    nlohmann::json j = {{"method", method}, {"target", target}, {"headers", headers}, {"body", body}};
    send_all(fd, response(200, "application/json", j.dump()));
  } else if (path == "/status") {
    int code = q.count("code") ? std::stoi(q["code"]) : 500;
    send_all(fd, response(code, "text/plain", "status " + std::to_string(code)));
  } else if (path == "/redirect") {
    int code = q.count("code") ? std::stoi(q["code"]) : 302;
    send_all(fd, response(code, "text/plain", "", "Location: " + q["to"] + "\r\n"));
  } else if (path == "/loop") {
    send_all(fd, response(302, "text/plain", "", "Location: /loop\r\n"));
  } else if (path == "/trickle") {
    if (!send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\nConnection: close\r\n\r\n")) return;
    for (int i = 0; i < 40 && !stop_; ++i) {  // at most 8 s
      if (!send_all(fd, "x")) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  } else if (path == "/flood") {
    if (!send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")) return;
    std::string chunk(64 << 10, 'a');
    char hdr[32];
    std::snprintf(hdr, sizeof hdr, "%zx\r\n", chunk.size());
    for (int i = 0; i < 1024 && !stop_; ++i)  // at most 64 MiB
      if (!send_all(fd, hdr + chunk + "\r\n")) return;
    send_all(fd, "0\r\n\r\n");
  } else if (path == "/search") {  // SearxNG-compatible JSON search API (format=json)
    if (q["format"] != "json") { send_all(fd, response(403, "text/plain", "format must be json")); return; }
    std::string self = "http://127.0.0.1:" + std::to_string(port_);
    nlohmann::json results = nlohmann::json::array();
    for (int i = 1; i <= 7; ++i)
      results.push_back({{"url", self + "/page/" + std::to_string(i)}, {"title", "Result " + std::to_string(i) + " for " + q["q"]},
                         {"content", "Snippet " + std::to_string(i) + " about " + q["q"]}, {"engine", "fake"},
                         {"score", 1.0 / i}});
    nlohmann::json j = {{"query", q["q"]}, {"number_of_results", 7}, {"results", results}, {"answers", nlohmann::json::array()},
                        {"api_key_seen", headers.value("x-api-key", "")}};
    send_all(fd, response(200, "application/json", j.dump()));
  } else if (path.rfind("/page/", 0) == 0) {
    send_all(fd, response(200, "text/html", "<html><head><title>Page " + path.substr(6) + "</title><script>var x=1;</script>"
                                            "</head><body><nav>menu</nav><article><h1>The Eiffel Tower</h1><p>It is 330 m "
                                            "tall &amp; stands in Paris.</p></article></body></html>"));
  } else if (path == "/gzip") {
    send_all(fd, response(200, "text/plain", gzip_bomb_, "Content-Encoding: gzip\r\n"));
  } else {
    send_all(fd, response(404, "text/plain", "not found"));
  }
  ::shutdown(fd, SHUT_WR);
}

}  // namespace glm::tools::http::testing
