#include "tools/http/http_client.h"

#include <curl/curl.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace glm::tools::http {

namespace {

using Clock = std::chrono::steady_clock;

struct Transfer {
  HttpRequest req;
  AddressPolicy policy;
  FetchLimits limits;
  std::shared_ptr<const std::atomic<bool>> cancel;
  HttpClient::Done done;
  Clock::time_point deadline;
  std::string origin_host;
  bool send_headers = true;
  int redirects = 0;
  // The current hop.
  std::string host;     // normalized
  std::string url_host; // as in the URL (what CURLOPT_RESOLVE must name)
  long port = 0;
  bool literal = false;
  std::vector<IpAddress> vetted;
  std::optional<Error> pending_error;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  curl_slist* resolve = nullptr;
  std::string body;
  size_t header_bytes = 0;
  bool over_body = false, over_header = false;
  std::string refused;  // set by the pre-request check
  char errbuf[CURL_ERROR_SIZE] = {};

  bool cancelled() const { return cancel && cancel->load(); }
  void release_handle() {
    if (easy) curl_easy_cleanup(easy);
    if (headers) curl_slist_free_all(headers);
    if (resolve) curl_slist_free_all(resolve);
    easy = nullptr; headers = nullptr; resolve = nullptr;
  }
  ~Transfer() { release_handle(); }
};

Error err(ErrorCode c, std::string m) { return make_error(c, std::move(m)); }

std::string url_part(CURLU* u, CURLUPart part, unsigned flags = 0) {
  char* p = nullptr;
  if (curl_url_get(u, part, &p, flags) != CURLUE_OK || !p) return {};
  std::string s = p;
  curl_free(p);
  return s;
}

// Parses and vets the hop's URL; fills host/port. Does not resolve.
Status prepare_hop(Transfer& t) {
  CURLU* u = curl_url();
  struct Free { CURLU* u; ~Free() { curl_url_cleanup(u); } } free_u{u};
  if (curl_url_set(u, CURLUPART_URL, t.req.url.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
    return err(ErrorCode::invalid_argument, "malformed URL: " + t.req.url);
  std::string scheme = url_part(u, CURLUPART_SCHEME);
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "http" && scheme != "https")
    return err(ErrorCode::forbidden, "protocol \"" + scheme + "\" is not allowed (http, https only)");
  if (!url_part(u, CURLUPART_USER).empty() || !url_part(u, CURLUPART_PASSWORD).empty())
    return err(ErrorCode::forbidden, "credentials in the URL are not allowed");
  t.url_host = url_part(u, CURLUPART_HOST);
  if (t.url_host.empty()) return err(ErrorCode::invalid_argument, "URL without a host: " + t.req.url);
  std::string port = url_part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT);
  t.port = port.empty() ? (scheme == "https" ? 443 : 80) : std::stol(port);
  auto norm = normalize_host(t.url_host);
  if (!norm) return norm.take_error();
  t.host = *norm;
  if (!t.url_host.empty() && t.url_host.front() == '[' && t.url_host.find('%') != std::string::npos)
    return err(ErrorCode::invalid_argument, "IPv6 zone ids are refused");
  GLM_TRY(t.policy.check_host(t.host));
  auto ip = parse_ip_literal(t.host);
  if (!ip) return ip.take_error();
  t.literal = ip->has_value();
  t.vetted.clear();
  if (t.literal) {
    GLM_TRY(t.policy.check_address(**ip));
    t.vetted.push_back(**ip);
  }
  return {};
}

Status vet_resolved(Transfer& t, Result<std::vector<IpAddress>> r) {
  if (!r) return err(ErrorCode::io, "cannot resolve " + t.host + ": " + r.error().message);
  if (r->empty()) return err(ErrorCode::io, "cannot resolve " + t.host + ": no addresses");
  for (const auto& a : *r) {
    auto st = t.policy.check_address(a);
    if (!st) return err(ErrorCode::forbidden, t.host + " resolves to " + st.error().message);
  }
  t.vetted = std::move(r).value();
  return {};
}

size_t on_body(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t len = size * n;
  if (t->body.size() + len > t->limits.max_body_bytes) { t->over_body = true; return 0; }
  t->body.append(p, len);
  return len;
}

size_t on_header(char*, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  t->header_bytes += size * n;
  if (t->header_bytes > t->limits.max_header_bytes) { t->over_header = true; return 0; }
  return size * n;
}

int on_progress(void* ud, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(ud)->cancelled() ? 1 : 0;
}

// Called once the connection (new or reused) is up, before the request is sent: the backstop for pinning.
int on_prereq(void* ud, char* primary_ip, char*, int, int) {
  auto* t = static_cast<Transfer*>(ud);
  auto ip = parse_ip_literal(primary_ip ? primary_ip : "");
  if (!ip || !ip->has_value()) { t->refused = std::string("unparseable peer address ") + (primary_ip ? primary_ip : ""); return CURL_PREREQFUNC_ABORT; }
  auto st = t->policy.check_address(**ip);
  if (!st) { t->refused = st.error().message; return CURL_PREREQFUNC_ABORT; }
  bool pinned = false;
  for (const auto& a : t->vetted) pinned |= (a == **ip) || (embedded_ipv4(**ip) && *embedded_ipv4(**ip) == a);
  if (!pinned) { t->refused = "connected to " + (**ip).to_string() + ", which is not the vetted address"; return CURL_PREREQFUNC_ABORT; }
  return CURL_PREREQFUNC_OK;
}

Status build_easy(Transfer& t) {
  t.release_handle();
  t.body.clear();
  t.header_bytes = 0;
  t.over_body = t.over_header = false;
  t.refused.clear();
  CURL* e = curl_easy_init();
  if (!e) return err(ErrorCode::internal, "curl_easy_init failed");
  t.easy = e;
  curl_easy_setopt(e, CURLOPT_URL, t.req.url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_NETRC, static_cast<long>(CURL_NETRC_IGNORED));
  curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // decoded bytes are what the cap counts
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, t.limits.connect_timeout_ms);
  long left = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(t.deadline - Clock::now()).count());
  if (left <= 0) return err(ErrorCode::timeout, "request timed out");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, left);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, t.limits.low_speed_bytes);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, t.limits.low_speed_s);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
  curl_easy_setopt(e, CURLOPT_PREREQDATA, &t);
  if (!t.literal) {
    std::string entry = t.url_host + ":" + std::to_string(t.port) + ":";
    for (size_t i = 0; i < t.vetted.size(); ++i) {
      if (i) entry += ",";
      entry += t.vetted[i].v6 ? "[" + t.vetted[i].to_string() + "]" : t.vetted[i].to_string();
    }
    t.resolve = curl_slist_append(nullptr, entry.c_str());
    curl_easy_setopt(e, CURLOPT_RESOLVE, t.resolve);
  }
  if (t.host != t.origin_host) t.send_headers = false;  // configured headers (secrets) stay with their host
  if (t.send_headers) {
    for (const auto& [k, v] : t.req.headers) {
      GLM_TRY(check_header(k, v));
      std::string line = v.empty() ? k + ";" : k + ": " + v;
      t.headers = curl_slist_append(t.headers, line.c_str());
    }
  }
  t.headers = curl_slist_append(t.headers, "Expect:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  const std::string& m = t.req.method;
  if (m == "GET") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (m == "POST" || m == "PUT" || m == "PATCH") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.req.body.size()));
    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, t.req.body.c_str());
    if (m != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m.c_str());
  } else if (m == "DELETE") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else {
    return err(ErrorCode::invalid_argument, "unsupported method " + m);
  }
  return {};
}

}  // namespace

const std::string* HttpResponse::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return &v;
  return nullptr;
}

Status check_header(const std::string& name, const std::string& value) {
  static const std::string tchar = "!#$%&'*+-.^_`|~";
  if (name.empty()) return err(ErrorCode::invalid_argument, "empty header name");
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || tchar.find(c) != std::string::npos))
      return err(ErrorCode::invalid_argument, "header name is not a token: \"" + name + "\"");
  for (char c : value)
    if (c == '\r' || c == '\n' || c == '\0')
      return err(ErrorCode::invalid_argument, "CR, LF or NUL in the value of header " + name);
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "host" || lower == "content-length" || lower == "transfer-encoding" || lower == "connection")
    return err(ErrorCode::forbidden, "header " + name + " cannot be set");
  return {};
}

Result<std::vector<IpAddress>> system_resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) return err(ErrorCode::io, gai_strerror(rc));
  std::vector<IpAddress> out;
  for (addrinfo* p = res; p; p = p->ai_next) {
    IpAddress a;
    if (p->ai_family == AF_INET) {
      auto* s = reinterpret_cast<sockaddr_in*>(p->ai_addr);
      std::memcpy(a.bytes.data(), &s->sin_addr, 4);
    } else if (p->ai_family == AF_INET6) {
      auto* s = reinterpret_cast<sockaddr_in6*>(p->ai_addr);
      a.v6 = true;
      std::memcpy(a.bytes.data(), &s->sin6_addr, 16);
    } else {
      continue;
    }
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  freeaddrinfo(res);
  return out;
}

// The transfer thread runs an Asio io_context; libcurl tells it which sockets to watch (CURLMOPT_SOCKETFUNCTION)
// and when to time out (CURLMOPT_TIMERFUNCTION); Asio readiness drives curl_multi_socket_action.
struct HttpClient::State {
  Resolver resolver;
  CURLM* multi = nullptr;
  boost::asio::io_context ioc;
  boost::asio::steady_timer timer{ioc};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{ioc.get_executor()};
  struct Sock {
    Sock(boost::asio::io_context& ioc, curl_socket_t s, uint64_t id) : sd(ioc, s), id(id) {}
    boost::asio::posix::stream_descriptor sd;
    uint64_t id;
    int want = 0;
    bool reading = false, writing = false;
  };
  std::unordered_map<curl_socket_t, std::unique_ptr<Sock>> socks;  // loop thread only
  uint64_t next_sock_id = 1;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<Transfer>> to_resolve;
  std::deque<std::shared_ptr<Transfer>> ready;
  bool stop = false;
  std::unordered_map<CURL*, std::shared_ptr<Transfer>> active;  // loop thread only
  std::thread loop;
  std::vector<std::thread> resolvers;

  ~State() {
    if (multi) curl_multi_cleanup(multi);
    for (auto& [fd, sk] : socks) sk->sd.release();  // curl owns the descriptors
  }

  void finish(const std::shared_ptr<Transfer>& t, Result<HttpResponse> r) {
    t->release_handle();
    auto done = std::move(t->done);
    t->done = nullptr;
    if (done) done(std::move(r));
  }

  // Hands a transfer to the loop thread. Any thread; mu held.
  void to_loop_locked(const std::shared_ptr<Transfer>& t) {
    ready.push_back(t);
    boost::asio::post(ioc, [this] { drain(); });
  }

  // Queues the hop: resolution first unless the host is a literal. Any thread.
  void start_hop(const std::shared_ptr<Transfer>& t) {
    Status st = prepare_hop(*t);
    std::lock_guard<std::mutex> lk(mu);
    if (!st) t->pending_error = st.take_error();
    if (st.ok() && !t->literal) {
      to_resolve.push_back(t);
      cv.notify_one();
    } else {
      to_loop_locked(t);
    }
  }

  void resolver_main() {
    for (;;) {
      std::shared_ptr<Transfer> t;
      {
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return stop || !to_resolve.empty(); });
        if (stop) return;
        t = std::move(to_resolve.front());
        to_resolve.pop_front();
      }
      Status st = vet_resolved(*t, resolver(t->host));
      std::lock_guard<std::mutex> lk(mu);
      if (!st) t->pending_error = st.take_error();
      to_loop_locked(t);
    }
  }

  void complete(const std::shared_ptr<Transfer>& t, CURLcode rc) {
    if (t->cancelled()) return finish(t, err(ErrorCode::cancelled, "request cancelled"));
    if (!t->refused.empty()) return finish(t, err(ErrorCode::forbidden, t->refused));
    if (t->over_body)
      return finish(t, err(ErrorCode::output, "response body exceeds " + std::to_string(t->limits.max_body_bytes) + " bytes"));
    if (t->over_header)
      return finish(t, err(ErrorCode::output, "response headers exceed " + std::to_string(t->limits.max_header_bytes) + " bytes"));
    if (rc != CURLE_OK) {
      std::string msg = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
      ErrorCode code = ErrorCode::io;
      if (rc == CURLE_OPERATION_TIMEDOUT) code = ErrorCode::timeout;
      if (rc == CURLE_UNSUPPORTED_PROTOCOL) code = ErrorCode::forbidden;
      return finish(t, err(code, msg));
    }
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    char* location = nullptr;
    curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_URL, &location);
    if ((status == 301 || status == 302 || status == 303 || status == 307 || status == 308) && location) {
      if (++t->redirects > t->limits.max_redirects)
        return finish(t, err(ErrorCode::forbidden, "too many redirects (max " + std::to_string(t->limits.max_redirects) + ")"));
      t->req.url = location;
      if (status != 307 && status != 308 && t->req.method != "GET") { t->req.method = "GET"; t->req.body.clear(); }
      t->release_handle();
      start_hop(t);
      return;
    }
    HttpResponse r;
    r.status = status;
    char* ct = nullptr;
    curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &ct);
    if (ct) r.content_type = ct;
    r.body = std::move(t->body);
    r.url = t->req.url;
    for (curl_header* h = nullptr; (h = curl_easy_nextheader(t->easy, CURLH_HEADER, -1, h)) != nullptr;) {
      std::string name = h->name;
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      r.headers.emplace_back(std::move(name), h->value);
    }
    finish(t, std::move(r));
  }

  // Loop thread: starts the transfers handed over.
  void drain() {
    std::deque<std::shared_ptr<Transfer>> batch;
    {
      std::lock_guard<std::mutex> lk(mu);
      batch.swap(ready);
    }
    for (auto& t : batch) {
      if (t->pending_error) { Error e = *t->pending_error; t->pending_error.reset(); finish(t, std::move(e)); continue; }
      if (t->cancelled()) { finish(t, err(ErrorCode::cancelled, "request cancelled")); continue; }
      Status st = build_easy(*t);
      if (!st) { finish(t, st.take_error()); continue; }
      active[t->easy] = t;
      curl_multi_add_handle(multi, t->easy);  // calls on_timer: the transfer starts from the timer handler
    }
  }

  void check_done() {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      CURL* e = m->easy_handle;
      CURLcode rc = m->data.result;
      curl_multi_remove_handle(multi, e);
      auto it = active.find(e);
      if (it == active.end()) continue;
      auto t = it->second;
      active.erase(it);
      complete(t, rc);
    }
  }

  void arm(curl_socket_t s) {
    auto it = socks.find(s);
    if (it == socks.end()) return;
    Sock* sk = it->second.get();
    if ((sk->want & CURL_POLL_IN) && !sk->reading) {
      sk->reading = true;
      sk->sd.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                        [this, s, id = sk->id](const boost::system::error_code& ec) { on_ready(s, id, CURL_CSELECT_IN, ec); });
    }
    if ((sk->want & CURL_POLL_OUT) && !sk->writing) {
      sk->writing = true;
      sk->sd.async_wait(boost::asio::posix::stream_descriptor::wait_write,
                        [this, s, id = sk->id](const boost::system::error_code& ec) { on_ready(s, id, CURL_CSELECT_OUT, ec); });
    }
  }

  void on_ready(curl_socket_t s, uint64_t id, int flag, const boost::system::error_code& ec) {
    auto it = socks.find(s);
    if (it == socks.end() || it->second->id != id) return;  // removed (or the number reused) meanwhile
    if (flag == CURL_CSELECT_IN) it->second->reading = false; else it->second->writing = false;
    if (ec == boost::asio::error::operation_aborted) return;
    int running = 0;
    curl_multi_socket_action(multi, s, ec ? CURL_CSELECT_ERR : flag, &running);
    check_done();
    arm(s);
  }

  static int on_socket(CURL*, curl_socket_t s, int what, void* userp, void*) {
    auto* st = static_cast<State*>(userp);
    if (what == CURL_POLL_REMOVE) {
      auto it = st->socks.find(s);
      if (it != st->socks.end()) {
        it->second->sd.release();  // cancels pending waits; curl closes the descriptor
        st->socks.erase(it);
      }
      return 0;
    }
    auto& sk = st->socks[s];
    if (!sk) sk = std::make_unique<Sock>(st->ioc, s, st->next_sock_id++);
    sk->want = what;
    st->arm(s);
    return 0;
  }

  static int on_timer(CURLM*, long timeout_ms, void* userp) {
    auto* st = static_cast<State*>(userp);
    st->timer.cancel();
    if (timeout_ms >= 0) {
      st->timer.expires_after(std::chrono::milliseconds(timeout_ms));
      st->timer.async_wait([st](const boost::system::error_code& ec) {
        if (ec) return;
        int running = 0;
        curl_multi_socket_action(st->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        st->check_done();
      });
    }
    return 0;
  }

  // Fails whatever is left; after the loop stopped.
  void fail_all() {
    for (auto& [e, t] : active) { curl_multi_remove_handle(multi, e); finish(t, err(ErrorCode::cancelled, "HTTP client shut down")); }
    active.clear();
    std::deque<std::shared_ptr<Transfer>> left;
    {
      std::lock_guard<std::mutex> lk(mu);
      left.swap(ready);
      for (auto& t : to_resolve) left.push_back(t);
      to_resolve.clear();
    }
    for (auto& t : left) finish(t, err(ErrorCode::cancelled, "HTTP client shut down"));
  }

  void loop_main() {
    ioc.run();
    fail_all();
  }
};

std::shared_ptr<HttpClient> HttpClient::create(Resolver resolver, int resolver_threads) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  auto s = std::make_shared<State>();
  s->resolver = std::move(resolver);
  s->multi = curl_multi_init();
  curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, &State::on_socket);
  curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s.get());
  curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, &State::on_timer);
  curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s.get());
  s->loop = std::thread([s] { s->loop_main(); });
  for (int i = 0; i < std::max(1, resolver_threads); ++i) s->resolvers.emplace_back([s] { s->resolver_main(); });
  return std::shared_ptr<HttpClient>(new HttpClient(std::move(s)));
}

HttpClient::~HttpClient() {
  {
    std::lock_guard<std::mutex> lk(state_->mu);
    state_->stop = true;
  }
  state_->ioc.stop();
  state_->cv.notify_all();
  for (auto& r : state_->resolvers) {
    if (r.get_id() == std::this_thread::get_id()) r.detach(); else r.join();
  }
  if (state_->loop.get_id() == std::this_thread::get_id()) {
    state_->loop.detach();  // inside a completion: loop_main fails the rest when this handler returns
  } else {
    state_->loop.join();
    state_->fail_all();     // a resolver may have handed over a transfer after the loop stopped
  }
}

void HttpClient::fetch(HttpRequest request, AddressPolicy policy, FetchLimits limits,
                       std::shared_ptr<const std::atomic<bool>> cancel, Done done) {
  auto t = std::make_shared<Transfer>();
  t->req = std::move(request);
  t->policy = std::move(policy);
  t->limits = limits;
  t->cancel = std::move(cancel);
  t->done = std::move(done);
  t->deadline = Clock::now() + std::chrono::milliseconds(limits.total_timeout_ms);
  for (const auto& [k, v] : t->req.headers) {
    Status st = check_header(k, v);
    if (!st) { auto d = std::move(t->done); d(st.take_error()); return; }
  }
  Status st = prepare_hop(*t);
  if (!st) { auto d = std::move(t->done); d(st.take_error()); return; }
  t->origin_host = t->host;
  state_->start_hop(t);
}

}  // namespace glm::tools::http
