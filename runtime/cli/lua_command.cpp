// `glm-agent lua [--limits JSON] [--workspace DIR] [--http POLICY] (FILE | - | --batch FILE.jsonl)` and the Lua
// benchmark.
//
// FILE runs as one chunk and prints one JSON object; exit 0 when it succeeded, 1 when it failed.
// --batch runs each line {"code": "...", "args": {...}[, "limits": {...}]} one after another in this process,
// printing one object per line: {"ok", "result" | "error": {"kind", "message"}, "elapsed_ms", "memory_peak"}
// (plus "output"/"output_truncated"/"logs" when the script printed or logged); exit 0 once every line has
// been answered, whatever the scripts did. Scripts get json, re, log and time; fs only with --workspace; http only
// with --http (a policy object as in an agent config's capabilities.http, e.g. '{"allow_hosts":["example.com"]}').
//
// cmd_bench_lua (`glm-agent lua --bench [--calls N] [--threads T] [--seconds S]`, and `glm-agent bench lua`
// once routed) prints one JSON object: per-call latency of a trivial tool, open to close (call_us: as a LuaTool
// runs it, from precompiled bytecode; call_source_us: parsing the text each time), through the registry and
// worker pool (dispatch_us), and calls per second on T threads (bytecode path).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/cli/args.h"
#include "runtime/cli/commands.h"
#include "tools/lua/lua_tool.h"
#include "tools/lua/runner.h"
#include "tools/lua/worker_pool.h"
#include "tools/registry.h"

namespace glm::cli {

int cmd_bench_lua(const Argv& argv);

namespace {

using tools::lua::LuaCapabilities;
using tools::lua::LuaEntry;
using tools::lua::LuaJob;
using tools::lua::LuaLimits;
using tools::lua::LuaOutcome;

constexpr size_t kMaxFileBytes = 64u << 20;  // larger inputs are refused before reading

// Reads FILE ("-": stdin) in chunks, refusing more than kMaxFileBytes (pipes have no size to check first).
Result<std::string> read_file(const std::string& path) {
  std::ifstream file;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return make_error(ErrorCode::not_found, "cannot open " + path);
  }
  std::istream& in = path == "-" ? std::cin : file;
  std::string s;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    s.append(buf, static_cast<size_t>(in.gcount()));
    if (s.size() > kMaxFileBytes) return make_error(ErrorCode::invalid_argument, path + " is larger than 64 MiB");
  }
  return s;
}

void print_line(const nlohmann::json& j) {
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  s += '\n';
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

nlohmann::json input_error(const std::string& message) {
  return nlohmann::json{{"ok", false},
                        {"error", {{"kind", "invalid_argument"}, {"message", message}}},
                        {"elapsed_ms", 0},
                        {"memory_peak", 0}};
}

int run_batch(const std::string& path, const LuaLimits& limits, const LuaCapabilities& caps) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(kExitFailed, "cannot open " + path);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::json req = nlohmann::json::parse(line, nullptr, false);
    std::string where = "line " + std::to_string(line_no) + ": ";
    if (req.is_discarded() || !req.is_object()) {
      print_line(input_error(where + "not a JSON object"));
      continue;
    }
    if (!req.contains("code") || !req["code"].is_string()) {
      print_line(input_error(where + "\"code\" must be a string"));
      continue;
    }
    LuaLimits l = limits;
    if (req.contains("limits")) {
      auto r = tools::lua::limits_from_json(req["limits"], limits);
      if (!r) {
        print_line(input_error(where + r.error().message));
        continue;
      }
      l = *r;
    }
    const nlohmann::json* args = req.contains("args") ? &req["args"] : nullptr;
    const std::string& code = req["code"].get_ref<const std::string&>();
    LuaOutcome out = tools::lua::run_lua(LuaJob{code, args, LuaEntry::chunk}, l, caps);
    print_line(out.to_json());
  }
  return kExitOk;
}

}  // namespace

int cmd_lua(const Argv& argv) {
  auto parsed = Args::parse(argv, {"limits", "batch", "workspace", "http", "calls", "threads", "seconds"}, {"bench"});
  if (!parsed) return fail(kExitUsage, parsed.error().message);
  const Args& a = *parsed;
  if (a.has("bench")) return cmd_bench_lua(argv);

  LuaLimits limits;
  if (auto text = a.get("limits")) {
    nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded()) return fail(kExitUsage, "--limits is not valid JSON");
    auto l = tools::lua::limits_from_json(j);
    if (!l) return fail(kExitUsage, "--limits: " + l.error().message);
    limits = *l;
  }
  LuaCapabilities caps = LuaCapabilities::pure();
  if (auto ws = a.get("workspace")) caps.workspace = *ws;
  if (auto policy = a.get("http")) {
    nlohmann::json j = nlohmann::json::parse(*policy, nullptr, false);
    if (j.is_discarded()) return fail(kExitUsage, "--http is not valid JSON");
    auto g = tools::lua::http_grant_from_json(j);
    if (!g) return fail(kExitUsage, "--http: " + g.error().message);
    caps.http = std::move(g).value();
    caps.http->client = tools::http::HttpClient::create();
  }

  auto batch = a.get("batch");
  if (batch.has_value() == (a.positional.size() == 1) || a.positional.size() > 1)
    return fail(kExitUsage, "usage: glm-agent lua [--limits JSON] [--workspace DIR] [--http POLICY] (FILE | --batch FILE.jsonl)");
  if (batch) return run_batch(*batch, limits, caps);

  auto code = read_file(a.positional[0]);
  if (!code) return fail(kExitFailed, code.error().message);
  LuaOutcome out = tools::lua::run_lua(LuaJob{*code, nullptr, LuaEntry::chunk}, limits, caps);
  print_line(out.to_json());
  return out.ok ? kExitOk : kExitFailed;
}

namespace {

struct Stats {
  double mean, p50, p99, max;
};

Stats stats_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))]; };
  return Stats{sum / static_cast<double>(v.size()), at(0.5), at(0.99), v.back()};
}

nlohmann::json to_json(const Stats& s) {
  auto r = [](double x) { return std::round(x * 100.0) / 100.0; };
  return nlohmann::json{{"mean", r(s.mean)}, {"p50", r(s.p50)}, {"p99", r(s.p99)}, {"max", r(s.max)}};
}

constexpr const char* kTrivialTool = "function run(args) return args.x + 1 end";

}  // namespace

int cmd_bench_lua(const Argv& argv) {
  auto parsed = Args::parse(argv, {"calls", "threads", "seconds", "limits", "batch", "workspace"}, {"bench"});
  if (!parsed) return fail(kExitUsage, parsed.error().message);
  auto calls = parsed->get_int("calls", 20000);
  auto threads = parsed->get_int("threads", 2);
  auto seconds = parsed->get_double("seconds", 2.0);
  if (!calls || !threads || !seconds) return fail(kExitUsage, "--calls, --threads and --seconds take numbers");
  if (*calls < 100 || *threads < 1 || *threads > 256 || *seconds <= 0)
    return fail(kExitUsage, "--calls >= 100, --threads in 1..256, --seconds > 0");
  using Clock = std::chrono::steady_clock;
  using Us = std::chrono::duration<double, std::micro>;
  const LuaLimits limits;
  const LuaCapabilities caps = LuaCapabilities::pure();
  const nlohmann::json args = {{"x", 41}};
  auto bytecode = tools::lua::precompile(kTrivialTool, limits);
  if (!bytecode) return fail(kExitFailed, bytecode.error().to_string());
  // As a LuaTool runs it (parsed once, bytecode loaded per call), and from source text (as `glm-agent lua`).
  const LuaJob job{kTrivialTool, &args, LuaEntry::run_function, &*bytecode};
  const LuaJob source_job{kTrivialTool, &args, LuaEntry::run_function, nullptr};

  // 1. One call, open to close, on this thread.
  auto time_calls = [&](const LuaJob& j, std::vector<double>& us) -> bool {
    for (int i = 0; i < 200; ++i) (void)tools::lua::run_lua(j, limits, caps);  // warm-up
    us.reserve(static_cast<size_t>(*calls));
    for (long long i = 0; i < *calls; ++i) {
      auto t0 = Clock::now();
      LuaOutcome r = tools::lua::run_lua(j, limits, caps);
      us.push_back(Us(Clock::now() - t0).count());
      if (!r.ok || r.result != 42) return false;
    }
    return true;
  };
  std::vector<double> call_us, source_us;
  if (!time_calls(job, call_us) || !time_calls(source_job, source_us)) return fail(kExitFailed, "bench tool failed");

  // 2. Through the registry and the worker pool: dispatch to completion, one call at a time.
  auto pool = std::make_shared<tools::lua::WorkerPool>();
  auto tool = tools::lua::LuaTool::create(kTrivialTool, tools::ToolSpec{"inc", "adds one", nlohmann::json::object()},
                                          limits, caps, pool);
  if (!tool) return fail(kExitFailed, tool.error().to_string());
  tools::ToolRegistry reg;
  if (auto s = reg.add(*tool); !s) return fail(kExitFailed, s.error().to_string());
  std::mutex mu;
  std::condition_variable cv;
  bool ready = false;
  tools::Post post = [](std::function<void()> fn) { fn(); };  // the completion already runs off-thread
  std::vector<double> dispatch_us;
  long long n_dispatch = std::max<long long>(100, *calls / 4);
  dispatch_us.reserve(static_cast<size_t>(n_dispatch));
  for (long long i = 0; i < n_dispatch; ++i) {
    auto t0 = Clock::now();
    reg.dispatch("inc", args, post, [&](tools::ToolResult) {
      std::lock_guard<std::mutex> lk(mu);
      ready = true;
      cv.notify_one();
    });
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return ready; });
    ready = false;
    dispatch_us.push_back(Us(Clock::now() - t0).count());
  }

  // 3. Throughput: T threads calling back to back for S seconds.
  std::atomic<long long> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  auto t0 = Clock::now();
  for (long long t = 0; t < *threads; ++t)
    workers.emplace_back([&] {
      long long n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        (void)tools::lua::run_lua(job, limits, caps);
        ++n;
      }
      done += n;
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(*seconds));
  stop = true;
  for (auto& w : workers) w.join();
  double elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();

  nlohmann::json out = {
      {"bench", "lua"},
      {"tool", kTrivialTool},
      {"calls", *calls},
      {"call_us", to_json(stats_of(call_us))},
      {"call_source_us", to_json(stats_of(source_us))},
      {"dispatch_us", to_json(stats_of(dispatch_us))},
      {"threads", *threads},
      {"calls_per_s", std::round(static_cast<double>(done.load()) / elapsed_s)},
      {"hardware_threads", std::thread::hardware_concurrency()},
  };
  print_line(out);
  return kExitOk;
}

}  // namespace glm::cli
