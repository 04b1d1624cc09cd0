// The agent commands: `run` (one task), `eval` (a task file with expected answers), `tool` (one call
// through the real registry). See ARCHITECTURE.md for the contract.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <map>

#include <unistd.h>

#include "base/mapped_file.h"
#include "runtime/agent/engine_generator.h"
#include "runtime/agent/openai_generator.h"
#include "runtime/agent/scripted_generator.h"
#include "runtime/agent/session.h"
#include "runtime/agent/toolset.h"
#include "runtime/cli/args.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/model_paths.h"
#include "runtime/config/agent_config.h"

namespace glm::cli {

namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

Result<config::AgentConfig> load_config(const std::string& path) {
  config::Diagnostics diags;
  auto cfg = config::load_agent_config(path, &diags);
  if (!cfg) {
    std::string all;
    for (const auto& d : diags) all += (all.empty() ? "" : "\n") + d.to_string();
    return make_error(cfg.error().code, all.empty() ? cfg.error().message : all);
  }
  return cfg;
}

// The model behind the agent: --script (fixed completions, for tests), else the embedded engine.
Result<std::shared_ptr<agent::TurnGenerator>> make_generator(const Args& args, const config::AgentConfig& cfg) {
  if (auto script = args.get("script")) {
    std::ifstream in(*script);
    if (!in) return make_error(ErrorCode::not_found, "cannot open --script " + *script);
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_string())
        return make_error(ErrorCode::invalid_argument, *script + ": each line must be a JSON string (a completion)");
      lines.push_back(j.get<std::string>());
    }
    return std::shared_ptr<agent::TurnGenerator>(std::make_shared<agent::ScriptedGenerator>(lines, cfg.model.context));
  }
  if (cfg.model.backend == "openai") {
    agent::OpenAIOptions o;
    o.url = cfg.model.url;
    o.api_key = cfg.model.api_key;
    o.model_name = cfg.model.model_name;
    o.context = cfg.model.context;
    return std::shared_ptr<agent::TurnGenerator>(std::make_shared<agent::OpenAIGenerator>(o));
  }
  if (cfg.model.backend == "cuda")
    return make_error(ErrorCode::unsupported, "model.backend \"cuda\": this build has no CUDA backend");
  std::string dir = args.get_or("model", cfg.model.path.empty() ? demo_model_dir() : cfg.model.path);
  agent::EngineGeneratorOptions opt;
  auto threads = args.get_int("threads", 0);
  if (!threads) return threads.take_error();
  opt.n_threads = static_cast<int>(*threads);
  opt.context = cfg.model.context;
  auto g = agent::EngineGenerator::open(dir, opt);
  if (!g) return make_error(g.error().code, "model " + dir + ": " + g.error().message);
  return std::shared_ptr<agent::TurnGenerator>(std::move(g).value());
}

std::string short_args(const std::string& s) {
  return s.size() <= 60 ? s : s.substr(0, 57) + "...";
}

// Human progress on stderr, one line per event of interest.
void progress_line(const std::string& line) {
  auto e = nlohmann::json::parse(line, nullptr, false);
  if (e.is_discarded()) return;
  std::string type = e.value("type", "");
  if (type == "model_turn") {
    std::fprintf(stderr, "[step %d] %lld tokens (%lld cached prompt of %lld), %.1f tok/s\n", e.value("step", 0),
                 static_cast<long long>(e.value("completion_tokens", 0)),
                 static_cast<long long>(e.value("cached_tokens", 0)),
                 static_cast<long long>(e.value("prompt_tokens", 0)), e.value("tokens_per_s", 0.0));
  } else if (type == "tool_call") {
    std::fprintf(stderr, "[step %d] -> %s %s\n", e.value("step", 0), e.value("name", "").c_str(),
                 short_args(e.value("arguments", "")).c_str());
  } else if (type == "tool_result") {
    std::string what = e.value("ok", false) ? short_args(e.value("content", "")) : e["error"].dump();
    std::fprintf(stderr, "[step %d] <- %s %s\n", e.value("step", 0), e.value("name", "").c_str(), what.c_str());
  } else if (type == "error") {
    std::fprintf(stderr, "[step %d] error: %s\n", e.value("step", 0), e.value("error", "").c_str());
  }
}

std::string new_run_id() {
  static std::atomic<int> n{0};
  return "run-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count() / 1000) + "-" +
         std::to_string(n++);
}

}  // namespace

int cmd_run(const Argv& argv) {
  boost::asio::io_context ioc;  // first: everything below may post into it until destroyed
  auto args = Args::parse(argv, {"task", "model", "output-format", "trace", "script", "threads"}, {"approve"});
  if (!args) return fail(kExitUsage, args.error().message);
  if (args->positional.size() != 1)
    return fail(kExitUsage, "usage: glm-agent run AGENT.json [--task TEXT] [--model DIR] "
                            "[--output-format text|json|stream-json] [--trace FILE.jsonl]");
  std::string format = args->get_or("output-format", "text");
  if (format != "text" && format != "json" && format != "stream-json")
    return fail(kExitUsage, "--output-format must be text, json or stream-json");
  auto cfg = load_config(args->positional[0]);
  if (!cfg) return fail(kExitFailed, cfg.error().message);
  std::string task;
  if (auto t = args->get("task")) task = *t;
  else task.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  if (task.empty()) return fail(kExitUsage, "no task: give --task TEXT or write it on stdin");

  auto toolset = agent::build_toolset(*cfg);
  if (!toolset) return fail(kExitFailed, toolset.error().to_string());
  auto gen = make_generator(*args, *cfg);
  if (!gen) return fail(kExitFailed, gen.error().to_string());

  auto transcript = std::make_shared<agent::Transcript>(new_run_id(), cfg->secrets);
  std::ofstream trace;
  if (auto path = args->get("trace")) {
    trace.open(*path, std::ios::out | std::ios::trunc);
    if (!trace) return fail(kExitFailed, "cannot write --trace " + *path);
    transcript->add_sink([&trace](const std::string& l) { trace << l << '\n' << std::flush; });
  }
  if (format == "stream-json")
    transcript->add_sink([](const std::string& l) { std::fprintf(stdout, "%s\n", l.c_str()); std::fflush(stdout); });
  if (format == "text") transcript->add_sink(progress_line);

  agent::Approver approver;
  if (args->switches.count("approve")) approver = [](const chat::ToolCall&, bool) { return true; };
  auto session = agent::AgentSession::create(ioc, *cfg, toolset->registry, *gen, transcript, approver);
  bool interrupted = false;
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    interrupted = true;
    session->cancel();
  });
  agent::RunResult result;
  session->start(task, [&](agent::RunResult r) {
    result = std::move(r);
    signals.cancel();
  });
  ioc.run();

  if (format == "json") std::printf("%s\n", result.to_json().dump().c_str());
  if (format == "text") {
    if (result.status == "ok") std::printf("%s\n", result.answer.c_str());
    else std::fprintf(stderr, "glm-agent: run ended: %s (%s)\n", result.status.c_str(), result.reason.c_str());
  }
  if (interrupted) return kExitInterrupted;
  return result.status == "ok" ? kExitOk : kExitFailed;
}

namespace {

// Lower-cased, without thousands separators, for "expected" substring checks.
std::string normalize(std::string s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == ',' && i > 0 && i + 1 < s.size() && std::isdigit((unsigned char)s[i - 1]) && std::isdigit((unsigned char)s[i + 1])) continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Copies a workspace folder so that a task's edits cannot leak into the next task.
Result<std::string> fresh_workspace(const std::string& from) {
  std::string tmpl = (fs::temp_directory_path() / "glm-eval-ws-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) return make_error(ErrorCode::io, "cannot create a temporary workspace");
  std::error_code ec;
  fs::copy(from, tmpl, fs::copy_options::recursive, ec);
  if (ec) return make_error(ErrorCode::io, "cannot copy workspace " + from + ": " + ec.message());
  return tmpl;
}

}  // namespace

int cmd_eval(const Argv& argv) {
  boost::asio::io_context ioc;  // first: everything below may post into it until destroyed
  auto args = Args::parse(argv, {"tasks", "model", "script", "threads", "concurrency", "trace"}, {"approve"});
  if (!args) return fail(kExitUsage, args.error().message);
  if (args->positional.size() != 1 || !args->get("tasks"))
    return fail(kExitUsage, "usage: glm-agent eval AGENT.json --tasks FILE.jsonl [--model DIR] [--concurrency N]");
  auto cfg = load_config(args->positional[0]);
  if (!cfg) return fail(kExitFailed, cfg.error().message);
  auto conc = args->get_int("concurrency", 1);
  if (!conc || *conc < 1) return fail(kExitUsage, "--concurrency must be a positive integer");

  struct Task {
    ojson spec;
    std::string task, expected, workspace;
  };
  std::vector<Task> tasks;
  {
    std::ifstream in(*args->get("tasks"));
    if (!in) return fail(kExitFailed, "cannot open --tasks " + *args->get("tasks"));
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.empty()) continue;
      auto j = ojson::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("task") || !j["task"].is_string())
        return fail(kExitFailed, *args->get("tasks") + ":" + std::to_string(n) + ": expected {\"task\": string, \"expected\": string}");
      Task t{j, j["task"], j.value("expected", ""), ""};
      if (j.contains("workspace") && j["workspace"].is_string()) {
        fs::path ws = j["workspace"].get<std::string>();
        if (ws.is_relative()) ws = fs::path(*args->get("tasks")).parent_path() / ws;
        t.workspace = ws.string();
      }
      tasks.push_back(std::move(t));
    }
  }
  auto gen = make_generator(*args, *cfg);
  if (!gen) return fail(kExitFailed, gen.error().to_string());
  std::ofstream trace;
  if (auto path = args->get("trace")) trace.open(*path);

  std::vector<ojson> per_task(tasks.size());
  std::vector<agent::Toolset> toolsets(tasks.size());
  std::vector<std::shared_ptr<agent::AgentSession>> sessions(tasks.size());
  std::vector<std::string> workspaces;  // temporary copies, removed at the end
  size_t next = 0, running = 0, succeeded = 0;
  std::function<void()> launch = [&] {
    while (running < static_cast<size_t>(*conc) && next < tasks.size()) {
      size_t i = next++;
      // Every task gets fresh copies of the workspaces its tools write to, so a task's edits never leak into
      // the next task (or into the repository's example folders).
      config::AgentConfig c = *cfg;
      std::map<std::string, std::string> copies;
      bool copy_failed = false;
      for (auto& t : c.tools) {
        if (!t.settings.contains("root")) continue;
        std::string from = tasks[i].workspace.empty() ? t.settings["root"].get<std::string>() : tasks[i].workspace;
        if (!copies.count(from)) {
          auto ws = fresh_workspace(from);
          if (!ws) {
            per_task[i] = {{"task", tasks[i].task}, {"ok", false}, {"status", "error"}, {"reason", ws.error().message}};
            copy_failed = true;
            break;
          }
          copies[from] = *ws;
          workspaces.push_back(*ws);
        }
        t.settings["root"] = copies[from];
      }
      if (copy_failed) continue;
      auto ts = agent::build_toolset(c);
      if (!ts) { per_task[i] = {{"task", tasks[i].task}, {"ok", false}, {"status", "error"}, {"reason", ts.error().message}}; continue; }
      toolsets[i] = *ts;
      auto transcript = std::make_shared<agent::Transcript>("task-" + std::to_string(i), c.secrets);
      if (trace.is_open()) transcript->add_sink([&trace](const std::string& l) { trace << l << '\n'; });
      agent::Approver approver;
      if (args->switches.count("approve")) approver = [](const chat::ToolCall&, bool) { return true; };
      sessions[i] = agent::AgentSession::create(ioc, c, ts->registry, *gen, transcript, approver);
      ++running;
      sessions[i]->start(tasks[i].task, [&, i](agent::RunResult r) {
        bool ok = r.status == "ok" && normalize(r.answer).find(normalize(tasks[i].expected)) != std::string::npos;
        succeeded += ok;
        ojson rec;
        rec["task"] = tasks[i].task;
        rec["expected"] = tasks[i].expected;
        rec["answer"] = r.answer;
        rec["ok"] = ok;
        rec["status"] = r.status;
        if (!r.reason.empty()) rec["reason"] = r.reason;
        rec["steps"] = r.steps;
        rec["tool_calls"] = r.tool_calls;
        rec["tokens"] = r.prompt_tokens + r.completion_tokens;
        rec["completion_tokens"] = r.completion_tokens;
        rec["duration_ms"] = r.duration_ms;
        per_task[i] = rec;
        --running;
        boost::asio::post(ioc, launch);
      });
    }
  };
  auto t0 = std::chrono::steady_clock::now();
  boost::asio::post(ioc, launch);
  ioc.run();
  for (const auto& ws : workspaces) fs::remove_all(ws);
  ojson out;
  out["agent"] = cfg->name;
  out["tasks"] = tasks.size();
  out["succeeded"] = succeeded;
  out["success_rate"] = tasks.empty() ? 0.0 : static_cast<double>(succeeded) / static_cast<double>(tasks.size());
  out["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out["per_task"] = per_task;
  std::printf("%s\n", out.dump().c_str());
  return kExitOk;
}

int cmd_tool(const Argv& argv) {
  boost::asio::io_context ioc;  // first: everything below may post into it until destroyed
  auto args = Args::parse(argv, {"call"}, {});
  if (!args) return fail(kExitUsage, args.error().message);
  if (args->positional.size() != 1 || !args->get("call"))
    return fail(kExitUsage, "usage: glm-agent tool AGENT.json --call '{\"name\": ..., \"arguments\": {...}}'");
  auto call = nlohmann::json::parse(*args->get("call"), nullptr, false);
  if (call.is_discarded() || !call.is_object() || !call.contains("name") || !call["name"].is_string())
    return fail(kExitUsage, "--call must be a JSON object {\"name\": string, \"arguments\": object}");
  auto cfg = load_config(args->positional[0]);
  if (!cfg) return fail(kExitFailed, cfg.error().message);
  auto toolset = agent::build_toolset(*cfg);
  if (!toolset) return fail(kExitFailed, toolset.error().to_string());
  auto work = boost::asio::make_work_guard(ioc);  // the call completes from a worker thread
  tools::ToolResult result;
  tools::Post post = [&ioc](std::function<void()> fn) { boost::asio::post(ioc, std::move(fn)); };
  toolset->registry->dispatch(call["name"].get<std::string>(), call.value("arguments", nlohmann::json::object()), post,
                              [&](tools::ToolResult r) {
                                result = std::move(r);
                                work.reset();
                              });
  ioc.run();
  std::printf("%s\n", result.to_json().dump().c_str());
  return result.ok ? kExitOk : kExitFailed;
}

}  // namespace glm::cli

namespace glm::cli {

// `glm-agent chat [--model DIR] [--agent AGENT.json]`: one user turn per input line, the conversation kept
// across turns; with --agent, the agent's tools and guards apply to every turn. Ctrl-D ends.
int cmd_chat(const Argv& argv) {
  boost::asio::io_context ioc;  // first: everything below may post into it until destroyed
  auto args = Args::parse(argv, {"model", "agent", "script", "threads", "trace"}, {"approve"});
  if (!args) return fail(kExitUsage, args.error().message);
  config::AgentConfig cfg;
  if (auto a = args->get("agent")) {
    auto c = load_config(*a);
    if (!c) return fail(kExitFailed, c.error().message);
    cfg = std::move(c).value();
  } else {
    cfg.name = "chat";
    cfg.file = "(chat)";
  }
  auto toolset = agent::build_toolset(cfg);
  if (!toolset) return fail(kExitFailed, toolset.error().to_string());
  auto gen = make_generator(*args, cfg);
  if (!gen) return fail(kExitFailed, gen.error().to_string());
  auto transcript = std::make_shared<agent::Transcript>(new_run_id(), cfg.secrets);
  std::ofstream trace;
  if (auto path = args->get("trace")) {
    trace.open(*path);
    transcript->add_sink([&trace](const std::string& l) { trace << l << '\n' << std::flush; });
  }
  transcript->add_sink(progress_line);
  agent::Approver approver;
  if (args->switches.count("approve")) approver = [](const chat::ToolCall&, bool) { return true; };
  auto session = agent::AgentSession::create(ioc, cfg, toolset->registry, *gen, transcript, approver);
  const bool tty = ::isatty(0);
  std::string line;
  while (true) {
    if (tty) std::fprintf(stderr, "> "), std::fflush(stderr);
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    agent::RunResult result;
    session->start(line, [&](agent::RunResult r) { result = std::move(r); });
    ioc.restart();
    ioc.run();
    if (result.status == "ok") std::printf("%s\n", result.answer.c_str());
    else std::printf("[%s: %s]\n", result.status.c_str(), result.reason.c_str());
    std::fflush(stdout);
  }
  return kExitOk;
}

}  // namespace glm::cli
