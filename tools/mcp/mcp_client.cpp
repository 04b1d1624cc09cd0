#include "tools/mcp/mcp_client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "base/redact.h"
#include "tools/http/http_tool.h"
#include "tools/registry.h"

extern char** environ;

namespace glm::tools::mcp {

namespace {

using Clock = std::chrono::steady_clock;
Error err(ErrorCode c, std::string m) { return make_error(c, std::move(m)); }

Result<std::string> find_on_path(const std::string& cmd) {
  if (cmd.find('/') != std::string::npos) {
    if (access(cmd.c_str(), X_OK) == 0) return cmd;
    return err(ErrorCode::not_found, "MCP server command not found or not executable: " + cmd);
  }
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  for (size_t at = 0; at <= p.size();) {
    size_t colon = p.find(':', at);
    std::string dir = p.substr(at, colon == std::string::npos ? std::string::npos : colon - at);
    std::string full = (dir.empty() ? "." : dir) + "/" + cmd;
    struct stat st{};
    if (stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(full.c_str(), X_OK) == 0) return full;
    if (colon == std::string::npos) break;
    at = colon + 1;
  }
  return err(ErrorCode::not_found, "MCP server command not found on PATH: " + cmd);
}

struct Child {
  pid_t pid = -1;
  int in = -1, out = -1, errfd = -1;
  int generation = 0;
};

// close stdin, wait 2 s, SIGTERM, wait 1 s, SIGKILL.
void stop_child(pid_t pid, int in_fd) {
  if (in_fd >= 0) close(in_fd);
  if (pid <= 0) return;
  auto wait_for = [&](int ms) {
    for (int i = 0; i < ms / 10; ++i) {
      int st;
      pid_t r = waitpid(pid, &st, WNOHANG);
      if (r == pid || r < 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  if (wait_for(2000)) return;
  kill(pid, SIGTERM);
  if (wait_for(1000)) return;
  kill(pid, SIGKILL);
  int st;
  waitpid(pid, &st, 0);
}

}  // namespace

thread_local bool t_posting = false;  // this thread is inside HttpClient::fetch (see Core::post_locked)

struct McpServer::Core : std::enable_shared_from_this<McpServer::Core> {
  McpServerConfig cfg;
  std::string path;  // resolved command
  struct Pending {
    Clock::time_point deadline;
    std::shared_ptr<const std::atomic<bool>> cancel;
    std::function<void(Result<Json>)> done;
    int generation;
  };
  mutable std::mutex mu;
  std::condition_variable cv;
  enum class State { dead, starting, ready } state = State::dead;
  Child child;
  int generation = 0;
  int spawns = 0;
  int64_t next_id = 1;
  std::map<int64_t, Pending> pending;
  std::vector<std::function<void(Status)>> waiting;  // calls queued while the handshake runs
  std::deque<std::string> log_lines;
  bool stop = false;
  std::thread watchdog;
  // HTTP transport.
  std::string session_id;  // Mcp-Session-Id of the current session
  std::string protocol;    // negotiated version, sent as MCP-Protocol-Version after initialize

  bool is_http() const { return !cfg.url.empty(); }

  void log(std::string line) {  // mu held
    log_lines.push_back(redact(std::move(line), cfg.secrets));
    if (log_lines.size() > 200) log_lines.pop_front();
  }
  std::string recent_logs() const {  // mu held
    std::string s;
    size_t from = log_lines.size() > 5 ? log_lines.size() - 5 : 0;
    for (size_t i = from; i < log_lines.size(); ++i) s += "\n  " + log_lines[i];
    return s;
  }

  // Writes one line without blocking; mu held.
  Status write_line(const Json& msg) {
    if (is_http()) {
      post_locked(msg, nullptr);
      return {};
    }
    if (child.in < 0) return err(ErrorCode::unavailable, "MCP server " + cfg.name + " is not running");
    std::string line = msg.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
    size_t off = 0;
    while (off < line.size()) {
      ssize_t n = ::send(child.in, line.data() + off, line.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) { off += size_t(n); continue; }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && off > 0) {  // never leave half a message: wait briefly for the rest
        pollfd p{child.in, POLLOUT, 0};
        if (poll(&p, 1, 100) > 0) continue;
      }
      return err(ErrorCode::unavailable, "MCP server " + cfg.name + " does not read its input");
    }
    return {};
  }

  // Spawns the child and sends initialize; mu held. Completion of the handshake flushes `waiting`.
  Status spawn_locked() {
    if (is_http()) return connect_http_locked();
    // stdin is a socket pair so that writes can use MSG_NOSIGNAL (a dead child gives EPIPE, not SIGPIPE).
    int in[2], out[2], er[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) || pipe2(out, O_CLOEXEC) || pipe2(er, O_CLOEXEC))
      return err(ErrorCode::unavailable, "pipe failed");
    std::vector<std::string> envs;
    for (const auto& [k, v] : cfg.env) envs.push_back(k + "=" + v);
    std::vector<char*> envp, argv;
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    argv.push_back(path.data());
    for (auto& a : cfg.args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) return err(ErrorCode::unavailable, "fork failed");
    if (pid == 0) {
      dup2(in[0], 0); dup2(out[1], 1); dup2(er[1], 2);
      ::shutdown(0, SHUT_WR);
      setpgid(0, 0);
      execve(path.c_str(), argv.data(), envp.data());
      _exit(127);
    }
    close(in[0]); close(out[1]); close(er[1]);
    child = Child{pid, in[1], out[0], er[0], ++generation};
    if (spawns++ > 0) log("[glm-agent] restarting MCP server " + cfg.name);
    state = State::starting;
    auto self = shared_from_this();
    int gen = child.generation;
    std::thread([self, fd = out[0], gen, pid] { self->read_stdout(fd, gen, pid); }).detach();
    std::thread([self, fd = er[0]] { self->read_stderr(fd); }).detach();
    send_initialize_locked();
    return {};
  }

  // mu held: the handshake's first message, for the current generation.
  void send_initialize_locked() {
    Json params = {{"protocolVersion", kProtocolVersion},
                   {"capabilities", Json::object()},
                   {"clientInfo", {{"name", "glm-agent"}, {"version", "0.1"}}}};
    send_request_locked("initialize", params, cfg.setup_timeout_s, nullptr,
                        [self = shared_from_this(), gen = child.generation](Result<Json> r) {
      self->on_initialized(gen, std::move(r));
    });
  }

  void on_initialized(int gen, Result<Json> r) {
    std::vector<std::function<void(Status)>> flush;
    Status st;
    {
      std::lock_guard<std::mutex> lk(mu);
      if (gen != generation) return;
      if (r) {
        std::string v = r->value("protocolVersion", "");
        static const std::vector<std::string> known{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
        if (std::find(known.begin(), known.end(), v) == known.end())
          st = err(ErrorCode::unsupported, "MCP server " + cfg.name + " speaks protocol \"" + v + "\"");
      } else {
        st = err(r.error().code == ErrorCode::timeout ? ErrorCode::timeout : ErrorCode::unavailable,
                 "MCP server " + cfg.name + " failed to initialize: " + r.error().message + recent_logs());
      }
      if (st) protocol = r->value("protocolVersion", "");
      if (st && is_http()) {  // requests wait until the server has acknowledged notifications/initialized
        auto self = shared_from_this();
        post_locked(Json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}},
                    [self, gen](Status ack) { self->finish_http_handshake(gen, std::move(ack)); });
        return;
      }
      if (st) {
        st = write_line(Json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
      }
      if (st) state = State::ready;
      else kill_locked();
      flush.swap(waiting);
    }
    for (auto& f : flush) f(st);
  }

  // ---- streamable HTTP ----------------------------------------------------------------------------------

  // mu held: a new session (no process: the generation still numbers sessions); sends initialize.
  Status connect_http_locked() {
    child = Child{-1, -1, -1, -1, ++generation};  // cfg.http_client: set by McpServer::start
    session_id.clear();
    protocol.clear();
    if (spawns++ > 0) log("[glm-agent] re-initializing MCP server " + cfg.name);
    state = State::starting;
    send_initialize_locked();
    return {};
  }

  void finish_http_handshake(int gen, Status ack) {
    std::vector<std::function<void(Status)>> flush;
    {
      std::lock_guard<std::mutex> lk(mu);
      if (gen != generation) return;
      if (ack) {
        state = State::ready;
      } else {
        ack = err(ErrorCode::unavailable, "MCP server " + cfg.name + " refused notifications/initialized: " + ack.error().message);
        kill_locked();
      }
      flush.swap(waiting);
    }
    for (auto& f : flush) f(ack);
  }

  // mu held: POSTs one message. `after` (optional) runs once the reply has been handled, with its status.
  void post_locked(Json msg, std::function<void(Status)> after) {
    http::HttpRequest req;
    req.method = "POST";
    req.url = cfg.url;
    req.headers = cfg.headers;
    req.headers.emplace_back("Content-Type", "application/json");
    req.headers.emplace_back("Accept", "application/json, text/event-stream");
    if (!session_id.empty()) req.headers.emplace_back("Mcp-Session-Id", session_id);
    if (!protocol.empty()) req.headers.emplace_back("MCP-Protocol-Version", protocol);
    req.body = msg.dump(-1, ' ', false, Json::error_handler_t::replace);
    http::FetchLimits lim;
    lim.total_timeout_ms = static_cast<long>((std::max(cfg.request_timeout_s, cfg.setup_timeout_s) + 5) * 1000);
    lim.low_speed_bytes = 0;  // an SSE reply may stay silent while the tool runs; the request timeout bounds it
    lim.max_body_bytes = cfg.max_line_bytes;
    auto self = shared_from_this();
    int gen = child.generation;
    t_posting = true;  // a request refused before any I/O completes inline, with mu held: hand it to a thread
    cfg.http_client->fetch(std::move(req), cfg.policy, lim, nullptr,
                           [self, gen, msg = std::move(msg), after = std::move(after)](Result<http::HttpResponse> r) mutable {
      if (t_posting) {
        std::thread([self, gen, msg = std::move(msg), after = std::move(after), r = std::move(r)]() mutable {
          self->on_http_reply(gen, msg, std::move(r), std::move(after));
        }).detach();
        return;
      }
      self->on_http_reply(gen, msg, std::move(r), std::move(after));
    });
    t_posting = false;
  }

  // The pending call `id` of generation `gen`, removed; an empty function when there is none.
  std::function<void(Result<Json>)> take_pending(int64_t id, int gen, Pending* out = nullptr) {
    std::lock_guard<std::mutex> lk(mu);
    auto it = pending.find(id);
    if (it == pending.end() || it->second.generation != gen) return {};
    if (out) *out = it->second;
    auto done = std::move(it->second.done);
    pending.erase(it);
    return done;
  }

  void on_http_reply(int gen, const Json& sent, Result<http::HttpResponse> r, std::function<void(Status)> after) {
    const bool is_request = sent.contains("id") && sent.contains("method");
    const int64_t id = is_request && sent["id"].is_number_integer() ? sent["id"].get<int64_t>() : -1;
    const std::string method = sent.value("method", "");
    auto finish = [&](Status st) { if (after) after(std::move(st)); };
    auto fail_call = [&](const Error& e) {  // the request this POST carried, if it is still pending
      if (is_request)
        if (auto done = take_pending(id, gen)) done(e);
    };
    if (!r) {
      Error e{r.error().code == ErrorCode::forbidden ? ErrorCode::forbidden : ErrorCode::unavailable,
              "MCP server " + cfg.name + " (" + cfg.url + "): " + redact(r.error().message, cfg.secrets)};
      if (is_request) fail_generation(gen, e);
      return finish(e);
    }
    const http::HttpResponse& resp = *r;
    if (resp.status == 404 && method != "initialize") {
      bool expired;
      {
        std::lock_guard<std::mutex> lk(mu);
        expired = gen == child.generation && !session_id.empty();
        if (expired) {
          log("[glm-agent] MCP session expired (HTTP 404); re-initializing");
          state = State::dead;
          ++generation;
        }
      }
      Pending p;
      if (is_request) {
        if (auto done = take_pending(id, gen, &p)) {
          if (expired || p.generation != generation) {  // once, behind a fresh handshake
            double left = std::max(0.1, std::chrono::duration<double>(p.deadline - Clock::now()).count());
            request(method, sent.value("params", Json::object()), left, p.cancel, std::move(done));
          } else {
            done(err(ErrorCode::unavailable, "MCP server " + cfg.name + ": HTTP 404"));
          }
        }
      }
      return finish(err(ErrorCode::unavailable, "HTTP 404"));
    }
    if (resp.status >= 400 || (resp.status == 202 && is_request)) {
      std::string body = resp.body.substr(0, 300);
      Error e{resp.status == 401 || resp.status == 403 ? ErrorCode::forbidden : ErrorCode::unavailable,
              redact("MCP server " + cfg.name + ": HTTP " + std::to_string(resp.status) +
                         (resp.status == 202 ? " without a response" : ": " + body), cfg.secrets)};
      fail_call(e);
      return finish(e);
    }
    if (method == "initialize") {
      std::lock_guard<std::mutex> lk(mu);
      if (gen == child.generation)
        if (const std::string* sid = resp.header("mcp-session-id")) session_id = *sid;
    }
    std::string_view ct = resp.content_type;
    if (resp.status == 200 && ct.rfind("text/event-stream", 0) == 0) {
      for (const std::string& data : sse_data_events(resp.body)) handle_message(gen, data);
    } else if (resp.status == 200 && ct.rfind("application/json", 0) == 0) {
      Json j = Json::parse(resp.body, nullptr, false);
      if (j.is_array())
        for (const auto& m : j) handle_message(gen, m.dump());
      else
        handle_message(gen, resp.body);
    } else if (resp.status != 202 && resp.status != 200 && resp.status != 204) {
      Error e{ErrorCode::unavailable, "MCP server " + cfg.name + ": unexpected HTTP " + std::to_string(resp.status)};
      fail_call(e);
      return finish(e);
    }
    fail_call(err(ErrorCode::unavailable, "MCP server " + cfg.name + " replied without a response to " + method));
    finish({});  // (a no-op for the call when the reply carried its response)
  }

  // The data of each event of an SSE body ("data:" lines joined by newlines; other fields ignored).
  static std::vector<std::string> sse_data_events(std::string_view body) {
    std::vector<std::string> out;
    std::string data;
    bool has_data = false;
    size_t at = 0;
    while (at <= body.size()) {
      size_t nl = body.find('\n', at);
      std::string_view line = body.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) {
        if (has_data) out.push_back(std::move(data));
        data.clear();
        has_data = false;
      } else if (line.rfind("data:", 0) == 0) {
        std::string_view v = line.substr(5);
        if (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        if (has_data) data += '\n';
        data.append(v);
        has_data = true;
      }
      if (nl == std::string_view::npos) break;
      at = nl + 1;
    }
    if (has_data) out.push_back(std::move(data));
    return out;
  }

  // mu held: the child is gone or unusable; the reader reaps it.
  void kill_locked() {
    if (child.pid > 0) kill(child.pid, SIGKILL);
    if (child.in >= 0) close(child.in);
    child.in = -1;
    child.pid = -1;
    state = State::dead;
    ++generation;
  }

  void send_request_locked(const std::string& method, Json params, double timeout_s,
                           std::shared_ptr<const std::atomic<bool>> cancel, std::function<void(Result<Json>)> done) {
    int64_t id = next_id++;
    Json msg = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
    Status st = write_line(msg);
    if (!st) {
      // Complete outside the lock via the watchdog path: deadline now.
      pending[id] = Pending{Clock::now(), nullptr, [done, e = st.error()](Result<Json>) { done(e); }, child.generation};
      cv.notify_all();
      return;
    }
    auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    pending[id] = Pending{deadline, std::move(cancel), std::move(done), child.generation};
    cv.notify_all();
  }

  void request(std::string method, Json params, double timeout_s, std::shared_ptr<const std::atomic<bool>> cancel,
               std::function<void(Result<Json>)> done) {
    std::unique_lock<std::mutex> lk(mu);
    if (stop) { lk.unlock(); done(err(ErrorCode::cancelled, "MCP server shut down")); return; }
    if (state == State::ready) { send_request_locked(method, std::move(params), timeout_s, std::move(cancel), std::move(done)); return; }
    auto self = shared_from_this();
    waiting.push_back([self, method, params, timeout_s, cancel, done](Status st) mutable {
      if (!st) { done(st.take_error()); return; }
      std::lock_guard<std::mutex> lk2(self->mu);
      self->send_request_locked(method, std::move(params), timeout_s, std::move(cancel), std::move(done));
    });
    if (state == State::dead) {
      Status st = spawn_locked();
      if (!st) {
        std::vector<std::function<void(Status)>> flush;
        flush.swap(waiting);
        lk.unlock();
        for (auto& f : flush) f(st);
      }
    }
  }

  // A fatal protocol problem or exit: fail the generation's pending calls.
  void fail_generation(int gen, const Error& e) {
    std::vector<std::function<void(Result<Json>)>> fails;
    std::vector<std::function<void(Status)>> flush;
    {
      std::lock_guard<std::mutex> lk(mu);
      for (auto it = pending.begin(); it != pending.end();) {
        if (it->second.generation == gen) { fails.push_back(std::move(it->second.done)); it = pending.erase(it); }
        else ++it;
      }
      if (gen == child.generation) {
        log("[glm-agent] " + e.message);
        if (state == State::starting) flush.swap(waiting);  // died during the handshake
        if (child.pid > 0 || child.in >= 0) kill_locked();
        else state = State::dead;
      }
    }
    for (auto& f : fails) f(e);
    for (auto& f : flush) f(Error{e.code, e.message});
  }

  void handle_message(int gen, const std::string& line) {
    Json msg = Json::parse(line, nullptr, false);
    if (msg.is_discarded() || !msg.is_object()) {
      fail_generation(gen, err(ErrorCode::unavailable, "MCP server " + cfg.name + " sent malformed JSON"));
      return;
    }
    std::unique_lock<std::mutex> lk(mu);
    if (msg.contains("method")) {  // a request or notification from the server
      if (msg.contains("id") && gen == child.generation) {
        Json reply = {{"jsonrpc", "2.0"}, {"id", msg["id"]}};
        if (msg["method"] == "ping") reply["result"] = Json::object();
        else reply["error"] = {{"code", -32601}, {"message", "method not supported by glm-agent"}};
        (void)write_line(reply);
      }
      return;
    }
    if (!msg.contains("id") || !msg["id"].is_number_integer()) {
      log("[glm-agent] response without a known id dropped");
      return;
    }
    auto it = pending.find(msg["id"].get<int64_t>());
    if (it == pending.end() || it->second.generation != gen) {
      log("[glm-agent] response for unknown id " + msg["id"].dump() + " dropped");
      return;
    }
    auto done = std::move(it->second.done);
    pending.erase(it);
    lk.unlock();
    if (msg.contains("error") && msg["error"].is_object()) {
      const Json& e = msg["error"];
      int code = e.value("code", 0);
      std::string m = e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "error";
      done(err(code == -32602 ? ErrorCode::invalid_argument : ErrorCode::runtime,
               redact("MCP error " + std::to_string(code) + ": " + m, cfg.secrets)));
    } else if (msg.contains("result")) {
      done(msg["result"]);
    } else {
      done(err(ErrorCode::runtime, "MCP response without result or error"));
    }
  }

  void read_stdout(int fd, int gen, pid_t pid) {
    std::string buf;
    char chunk[65536];
    bool overlong = false;
    for (;;) {
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buf.append(chunk, size_t(n));
      size_t at;
      while ((at = buf.find('\n')) != std::string::npos) {
        std::string line = buf.substr(0, at);
        buf.erase(0, at + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty()) handle_message(gen, line);
      }
      if (buf.size() > cfg.max_line_bytes) { overlong = true; break; }
    }
    close(fd);
    fail_generation(gen, err(ErrorCode::unavailable,
                             overlong ? "MCP server " + cfg.name + " sent a line over " + std::to_string(cfg.max_line_bytes) + " bytes"
                                      : "MCP server " + cfg.name + " exited (it is restarted on the next call)"));
    bool stopping;
    {
      std::lock_guard<std::mutex> lk(mu);
      stopping = stop;
    }
    if (!stopping && pid > 0) {  // shutdown() reaps its own child; otherwise this reader reaps it
      kill(pid, SIGKILL);
      int st;
      waitpid(pid, &st, 0);
    }
  }

  void read_stderr(int fd) {
    std::string buf;
    char chunk[4096];
    for (;;) {
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buf.append(chunk, size_t(n));
      size_t at;
      std::lock_guard<std::mutex> lk(mu);
      while ((at = buf.find('\n')) != std::string::npos) {
        log(buf.substr(0, std::min<size_t>(at, 2000)));
        buf.erase(0, at + 1);
      }
      if (buf.size() > 65536) { log(buf.substr(0, 2000) + "..."); buf.clear(); }
    }
    close(fd);
  }

  void watchdog_main() {
    std::unique_lock<std::mutex> lk(mu);
    while (!stop) {
      cv.wait_for(lk, std::chrono::milliseconds(50));
      auto now = Clock::now();
      std::vector<std::pair<std::function<void(Result<Json>)>, Error>> fire;
      for (auto it = pending.begin(); it != pending.end();) {
        bool cancelled = it->second.cancel && it->second.cancel->load();
        if (cancelled || now >= it->second.deadline) {
          if (it->second.generation == child.generation)
            (void)write_line(Json{{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"},
                                  {"params", {{"requestId", it->first}, {"reason", cancelled ? "cancelled" : "timeout"}}}});
          fire.emplace_back(std::move(it->second.done),
                            cancelled ? err(ErrorCode::cancelled, "call cancelled")
                                      : err(ErrorCode::timeout, "MCP server " + cfg.name + " did not answer in time"));
          it = pending.erase(it);
        } else {
          ++it;
        }
      }
      if (fire.empty()) continue;
      lk.unlock();
      for (auto& [f, e] : fire) f(e);
      lk.lock();
    }
  }

  void shutdown() {
    std::map<int64_t, Pending> left;
    std::vector<std::function<void(Status)>> flush;
    pid_t pid;
    int in_fd;
    {
      std::lock_guard<std::mutex> lk(mu);
      stop = true;
      left.swap(pending);
      flush.swap(waiting);
      if (is_http() && !session_id.empty() && cfg.http_client) {  // end the session; nobody waits for the answer
        http::HttpRequest del{"DELETE", cfg.url, cfg.headers, {}};
        del.headers.emplace_back("Mcp-Session-Id", session_id);
        http::FetchLimits lim;
        lim.total_timeout_ms = 2000;
        cfg.http_client->fetch(std::move(del), cfg.policy, lim, nullptr, [](Result<http::HttpResponse>) {});
        session_id.clear();
      }
      pid = child.pid;
      in_fd = child.in;
      child.pid = -1;
      child.in = -1;
      ++generation;
      state = State::dead;
    }
    cv.notify_all();
    if (watchdog.joinable()) {
      if (watchdog.get_id() == std::this_thread::get_id()) watchdog.detach(); else watchdog.join();
    }
    for (auto& [id, p] : left) p.done(err(ErrorCode::cancelled, "MCP server shut down"));
    for (auto& f : flush) f(err(ErrorCode::cancelled, "MCP server shut down"));
    stop_child(pid, in_fd);
  }
};

namespace {

class McpTool : public Tool {
 public:
  McpTool(ToolSpec spec, std::string remote, std::shared_ptr<McpServer::Guard> guard)
      : spec_(std::move(spec)), remote_(std::move(remote)), guard_(std::move(guard)), core_(guard_->core.get()) {}
  const ToolSpec& spec() const override { return spec_; }
  void invoke(Json arguments, CallContext ctx, Completion done) override {
    auto secrets = core_->cfg.secrets;
    core_->request("tools/call", Json{{"name", remote_}, {"arguments", std::move(arguments)}},
                   core_->cfg.request_timeout_s, ctx.cancel, [done = std::move(done), secrets](Result<Json> r) {
      if (!r) { done(ToolResult::failure(r.error().code, redact(r.error().message, secrets))); return; }
      ToolResult tr = map_call_result(*r);
      if (tr.ok) tr.content = Json::parse(redact(tr.content.dump(), secrets), nullptr, false);
      else tr.error.message = redact(tr.error.message, secrets);
      if (tr.ok && tr.content.is_discarded()) tr = ToolResult::failure(ErrorCode::runtime, "result could not be redacted");
      done(std::move(tr));
    });
  }

 private:
  ToolSpec spec_;
  std::string remote_;
  std::shared_ptr<McpServer::Guard> guard_;  // the server lives while any of its tools does
  McpServer::Core* core_;
};

template <class T>
Result<T> wait_result(std::future<Result<T>>& f, double timeout_s) {
  if (f.wait_for(std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000) + 2000)) != std::future_status::ready)
    return err(ErrorCode::timeout, "MCP set-up did not finish");
  return f.get();
}

}  // namespace

ToolResult map_call_result(const Json& result) {
  if (!result.is_object()) return ToolResult::failure(ErrorCode::runtime, "malformed tools/call result");
  std::string text;
  bool all_text = true;
  Json items = Json::array();
  if (result.contains("content") && result["content"].is_array()) {
    for (const auto& c : result["content"]) {
      std::string type = c.is_object() ? c.value("type", "") : "";
      if (type == "text" && c.contains("text") && c["text"].is_string()) {
        if (!text.empty()) text += "\n";
        text += c["text"].get<std::string>();
        items.push_back(c);
        continue;
      }
      all_text = false;
      if ((type == "image" || type == "audio") && c.contains("data") && c["data"].is_string())
        items.push_back({{"type", type}, {"mimeType", c.value("mimeType", "")},
                         {"note", std::to_string(c["data"].get<std::string>().size()) + " bytes of base64 omitted"}});
      else
        items.push_back(c);
    }
  }
  bool is_error = result.contains("isError") && result["isError"].is_boolean() && result["isError"].get<bool>();
  if (is_error) return ToolResult::failure(ErrorCode::runtime, text.empty() ? items.dump() : text);
  if (result.contains("structuredContent") && !result["structuredContent"].is_null())
    return ToolResult::success(result["structuredContent"]);
  if (all_text) return ToolResult::success(text);
  return ToolResult::success(items);
}

Result<McpServerConfig> config_from_settings(const std::string& name, const Json& s, double timeout_s,
                                             std::vector<std::string> secrets) {
  McpServerConfig c;
  c.name = name;
  try {
    if (s.contains("command") == s.contains("url"))
      return err(ErrorCode::invalid_argument, "mcp server \"" + name + "\": needs exactly one of \"command\" or \"url\"");
    if (s.contains("command")) c.command = s["command"].get<std::string>();
    if (s.contains("url")) c.url = s["url"].get<std::string>();
    if (s.contains("args")) c.args = s["args"].get<std::vector<std::string>>();
    if (s.contains("env")) c.env = s["env"].get<std::map<std::string, std::string>>();
    if (s.contains("headers"))
      for (auto it = s["headers"].begin(); it != s["headers"].end(); ++it) {
        GLM_TRY(http::check_header(it.key(), it->get<std::string>()));
        c.headers.emplace_back(it.key(), it->get<std::string>());
      }
    if (s.contains("tools")) c.allow = s["tools"].get<std::vector<std::string>>();
  } catch (const std::exception& e) {
    return err(ErrorCode::invalid_argument, "mcp server \"" + name + "\": " + e.what());
  }
  http::FetchLimits unused;
  if (auto st = http::policy_from_settings(s, &c.policy, &unused); !st)
    return err(ErrorCode::invalid_argument, "mcp server \"" + name + "\": " + st.error().message);
  if (timeout_s > 0) c.request_timeout_s = timeout_s;
  c.secrets = std::move(secrets);
  return c;
}

Result<std::shared_ptr<McpServer>> McpServer::start(McpServerConfig cfg) {
  std::string path;
  if (cfg.url.empty()) {
    auto p = find_on_path(cfg.command);
    if (!p) return p.take_error();
    path = *p;
  } else if (!cfg.http_client) {
    cfg.http_client = http::HttpClient::create();
  }
  auto core = std::make_shared<Core>();
  core->cfg = std::move(cfg);
  core->path = path;
  core->watchdog = std::thread([core] { core->watchdog_main(); });
  std::shared_ptr<McpServer> server(new McpServer(std::make_shared<Guard>(core)));
  const auto& c = core->cfg;
  // tools/list, every page.
  std::string cursor;
  Json listed = Json::array();
  for (int page = 0; page < 100; ++page) {
    std::promise<Result<Json>> pr;
    auto f = pr.get_future();
    Json params = Json::object();
    if (!cursor.empty()) params["cursor"] = cursor;
    core->request("tools/list", params, c.setup_timeout_s, nullptr, [&pr](Result<Json> r) { pr.set_value(std::move(r)); });
    auto r = wait_result(f, c.setup_timeout_s * 2);
    if (!r) {
      std::lock_guard<std::mutex> lk(core->mu);
      return err(r.error().code, "MCP server " + c.name + ": tools/list failed: " + r.error().message);
    }
    if (!r->contains("tools") || !(*r)["tools"].is_array())
      return err(ErrorCode::unavailable, "MCP server " + c.name + ": tools/list without a tools array");
    for (const auto& t : (*r)["tools"]) listed.push_back(t);
    if (r->contains("nextCursor") && (*r)["nextCursor"].is_string() && !(*r)["nextCursor"].get<std::string>().empty())
      cursor = (*r)["nextCursor"].get<std::string>();
    else
      break;
  }
  for (const auto& t : listed) {
    if (!t.is_object() || !t.contains("name") || !t["name"].is_string()) continue;
    std::string remote = t["name"].get<std::string>();
    if (!c.allow.empty() && std::find(c.allow.begin(), c.allow.end(), remote) == c.allow.end()) continue;
    ToolSpec spec;
    spec.name = c.name + "." + remote;
    if (!valid_tool_name(spec.name)) {
      std::lock_guard<std::mutex> lk(core->mu);
      core->log("[glm-agent] skipped tool with an unusable name: " + spec.name);
      continue;
    }
    spec.description = t.contains("description") && t["description"].is_string() ? t["description"].get<std::string>() : "";
    spec.parameters = t.contains("inputSchema") && t["inputSchema"].is_object() ? t["inputSchema"] : Json{{"type", "object"}};
    server->tools_.push_back(std::make_shared<McpTool>(std::move(spec), remote, server->guard_));
  }
  for (const auto& a : c.allow) {
    bool found = false;
    for (const auto& t : server->tools_) found |= t->spec().name == c.name + "." + a;
    if (!found) return err(ErrorCode::not_found, "MCP server " + c.name + " has no tool \"" + a + "\"");
  }
  return server;
}

McpServer::Guard::~Guard() { core->shutdown(); }
McpServer::~McpServer() = default;

std::vector<std::string> McpServer::logs() const {
  std::lock_guard<std::mutex> lk(guard_->core->mu);
  return {guard_->core->log_lines.begin(), guard_->core->log_lines.end()};
}

int McpServer::restarts() const {
  std::lock_guard<std::mutex> lk(guard_->core->mu);
  return std::max(0, guard_->core->spawns - 1);
}

void McpServer::request(std::string method, Json params, double timeout_s,
                        std::shared_ptr<const std::atomic<bool>> cancel, std::function<void(Result<Json>)> done) {
  guard_->core->request(std::move(method), std::move(params), timeout_s, std::move(cancel), std::move(done));
}

}  // namespace glm::tools::mcp
