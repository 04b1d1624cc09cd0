#include "runtime/server/routes.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "runtime/agent/session.h"
#include "runtime/agent/toolset.h"
#include "runtime/agent/transcript.h"

namespace glm::server {

namespace {

using ojson = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void reply(Responder& out, Metrics& m, HttpResponse r) {
  if (r.status >= 500) ++m.http_5xx;
  else if (r.status >= 400) ++m.http_4xx;
  out.respond(std::move(r));
}

void reply_error(Responder& out, Metrics& m, const ApiError& e) { reply(out, m, error_response(e)); }

ApiError engine_error(const Error& e) {
  switch (e.code) {
    case ErrorCode::output:
      return ApiError{400, e.message, "invalid_request_error", "messages", "context_length_exceeded"};
    case ErrorCode::invalid_argument:
    case ErrorCode::unsupported:
    case ErrorCode::syntax:
      return ApiError{400, e.message, "invalid_request_error", "", ""};
    case ErrorCode::cancelled:
    case ErrorCode::unavailable:
      return ApiError{503, e.message, "server_error", "", "unavailable"};
    default:
      return ApiError{500, e.to_string(), "server_error", "", ""};
  }
}

bool admit(Services& s, Responder& out) {
  if (s.metrics->in_flight.fetch_add(1) >= s.config.max_in_flight) {
    --s.metrics->in_flight;
    reply_error(out, *s.metrics,
                ApiError{429, "the server is at its limit of " + std::to_string(s.config.max_in_flight) +
                                  " concurrent generations; retry later",
                         "rate_limit_error", "", "rate_limit_exceeded"});
    return false;
  }
  return true;
}

void account(Metrics& m, const agent::TurnResult& r) {
  ++m.generations;
  m.prompt_tokens += r.prompt_tokens;
  m.cached_tokens += r.cached_tokens;
  m.completion_tokens += r.completion_tokens;
  m.generation_us += static_cast<int64_t>(r.seconds * 1e6);
}

// One /v1/chat/completions or /v1/completions request in flight. Engine thread only after generate().
struct Run {
  ChatCall call;  // call.turn moved out into the engine
  bool chat = true;
  bool echo = false;
  std::string id, prompt;
  int64_t created = 0;
  TurnStreamer streamer;
  std::shared_ptr<Responder> out;
  std::shared_ptr<Metrics> metrics;
  bool begun = false;  // stream headers sent
  std::vector<TurnStreamer::Delta> deltas;

  Run(ChatCall c, bool is_chat, std::shared_ptr<Responder> o, std::shared_ptr<Metrics> m)
      : call(std::move(c)), chat(is_chat), streamer(call.stop, !is_chat), out(std::move(o)), metrics(std::move(m)) {}

  ojson text_chunk(const std::string& text, const std::string& finish) const {
    ojson choice{{"text", text}, {"index", 0}, {"logprobs", nullptr},
                 {"finish_reason", finish.empty() ? ojson() : ojson(finish)}};
    return ojson{{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", call.model},
                 {"choices", ojson::array({choice})}};
  }

  void begin() {
    if (begun) return;
    begun = true;
    out->begin_stream(200, "text/event-stream");
    if (chat) {
      out->write(sse_event(chat_chunk_json(id, created, call.model, ojson{{"role", "assistant"}, {"content", ""}}, "")));
    } else if (echo) {
      out->write(sse_event(text_chunk(prompt, "")));
    }
  }

  void send_deltas() {
    if (!call.stream || deltas.empty()) return;
    begin();
    std::string data;
    for (const auto& d : deltas)
      data += chat ? sse_event(chat_chunk_json(id, created, call.model, delta_json(d), "")) : sse_event(text_chunk(d.text, ""));
    out->write(std::move(data));
  }

  bool on_token(std::string_view bytes, bool special) {
    deltas.clear();
    bool go = streamer.feed(bytes, special, &deltas);
    send_deltas();
    return go;
  }

  void done(Result<agent::TurnResult> r) {
    --metrics->in_flight;
    if (!r.ok()) {
      if (r.error().code == ErrorCode::cancelled && out->gone()->load()) ++metrics->cancelled;
      ApiError e = engine_error(r.error());
      if (e.status >= 500) ++metrics->http_5xx;
      else ++metrics->http_4xx;
      if (!begun) {
        out->respond(error_response(e));
      } else {  // headers already sent: the error travels as an SSE event
        out->write(sse_event(error_json(e)));
        out->end_stream();
      }
      return;
    }
    account(*metrics, *r);
    deltas.clear();
    streamer.finish(&deltas);
    std::string finish = chat ? finish_reason_of(*r, streamer)
                              : (streamer.stopped_by_string() ? "stop" : r->turn.finish_reason.empty() ? "length" : r->turn.finish_reason);
    if (call.stream) {
      send_deltas();
      begin();
      std::string data = chat ? sse_event(chat_chunk_json(id, created, call.model, ojson::object(), finish))
                              : sse_event(text_chunk("", finish));
      if (call.include_usage) {
        ojson u = chat ? chat_chunk_json(id, created, call.model, ojson::object(), "") : text_chunk("", "");
        u["choices"] = ojson::array();
        u["usage"] = usage_json(*r);
        data += sse_event(u);
      }
      data += "data: [DONE]\n\n";
      out->write(std::move(data));
      out->end_stream();
      return;
    }
    if (chat) {
      out->respond(json_response(200, chat_completion_json(call, *r, streamer, id, created)));
    } else {
      ojson body = text_chunk((echo ? prompt : "") + streamer.content(), finish);
      body["usage"] = usage_json(*r);
      out->respond(json_response(200, body));
    }
  }
};

void generate(Services& s, ChatCall call, bool chat, bool echo, std::shared_ptr<Responder> out) {
  if (!admit(s, *out)) return;
  if (call.model.empty()) call.model = s.config.model_name;
  agent::TurnRequest turn = std::move(call.turn);
  auto run = std::make_shared<Run>(std::move(call), chat, out, s.metrics);
  run->echo = echo;
  run->id = random_id(chat ? "chatcmpl-" : "cmpl-");
  run->created = unix_now();
  if (turn.raw_prompt) run->prompt = *turn.raw_prompt;
  turn.cancel = out->gone();
  // Both run on the engine thread: nothing may escape into it.
  turn.on_token = [run](std::string_view bytes, bool special) {
    try {
      return run->on_token(bytes, special);
    } catch (...) {
      return false;
    }
  };
  s.engine->generate(std::move(turn), [run](Result<agent::TurnResult> r) {
    try {
      run->done(std::move(r));
    } catch (const std::exception& e) {
      run->out->respond(error_response(ApiError{500, std::string("internal error: ") + e.what(), "server_error", "", ""}));
      run->out->end_stream();
    }
  });
}

void agent_run(const HttpRequest& req, Services& s, const std::string& name, std::shared_ptr<Responder> out) {
  auto it = s.agents.agents.find(name);
  if (it == s.agents.agents.end())
    return reply_error(*out, *s.metrics, ApiError{404, "no agent named '" + name + "'", "invalid_request_error", "name", "not_found"});
  ojson j = ojson::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return reply_error(*out, *s.metrics, ApiError{400, "the request body must be a JSON object", "invalid_request_error", "", "invalid_json"});
  if (!j.contains("task") || !j["task"].is_string() || j["task"].get<std::string>().empty())
    return reply_error(*out, *s.metrics, ApiError{400, "'task' must be a non-empty string", "invalid_request_error", "task", ""});
  bool stream = false;
  if (j.contains("stream") && !j["stream"].is_null()) {
    if (!j["stream"].is_boolean()) return reply_error(*out, *s.metrics, ApiError{400, "'stream' must be a boolean", "invalid_request_error", "stream", ""});
    stream = j["stream"].get<bool>();
  }
  std::string format = req.header("accept").find("application/x-ndjson") != std::string::npos ? "ndjson" : "sse";
  if (j.contains("format") && !j["format"].is_null()) {
    if (!j["format"].is_string() || (j["format"] != "sse" && j["format"] != "ndjson"))
      return reply_error(*out, *s.metrics, ApiError{400, "'format' must be \"sse\" or \"ndjson\"", "invalid_request_error", "format", ""});
    format = j["format"].get<std::string>();
  }
  if (!s.ioc) return reply_error(*out, *s.metrics, ApiError{500, "agent runs need the server's io_context", "server_error", "", ""});
  const config::AgentConfig& cfg = it->second;
  auto toolset = agent::build_toolset(cfg);
  if (!toolset)
    return reply_error(*out, *s.metrics, ApiError{500, "agent '" + name + "' cannot start: " + toolset.error().to_string(), "server_error", "", ""});
  if (!admit(s, *out)) return;
  static std::atomic<int64_t> n_runs{0};
  auto transcript = std::make_shared<agent::Transcript>(
      "run-" + std::to_string(unix_now()) + "-" + std::to_string(n_runs++), cfg.secrets);
  if (stream) {
    out->begin_stream(200, format == "ndjson" ? "application/x-ndjson" : "text/event-stream");
    bool nd = format == "ndjson";
    transcript->add_sink([out, nd](const std::string& line) { out->write(nd ? line + "\n" : "data: " + line + "\n\n"); });
  }
  auto session = agent::AgentSession::create(*s.ioc, cfg, toolset->registry, s.engine, transcript);
  auto holder = std::make_shared<std::shared_ptr<agent::AgentSession>>(session);
  std::weak_ptr<agent::AgentSession> weak = session;
  out->on_gone([weak] {
    if (auto ss = weak.lock()) ss->cancel();
  });
  auto metrics = s.metrics;
  auto post = s.post;
  session->start(j["task"].get<std::string>(), [out, holder, toolset = *toolset, metrics, stream, format, post](agent::RunResult r) {
    --metrics->in_flight;
    ++metrics->agent_runs;
    metrics->prompt_tokens += r.prompt_tokens;
    metrics->cached_tokens += r.cached_tokens;
    metrics->completion_tokens += r.completion_tokens;
    if (stream) {
      if (format == "sse") out->write("data: [DONE]\n\n");
      out->end_stream();
    } else {
      out->respond(json_response(200, r.to_json()));
    }
    post([holder] { holder->reset(); });  // not from inside the session's own callback
  });
}

}  // namespace

AgentCatalog load_agents(const std::string& dir) {
  namespace fs = std::filesystem;
  AgentCatalog cat;
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator itr(dir, ec), end; !ec && itr != end; itr.increment(ec))
    if (itr->path().extension() == ".json") files.push_back(itr->path());
  if (ec) {
    cat.invalid.emplace_back(dir, "cannot list the folder: " + ec.message());
    return cat;
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    config::Diagnostics diags;
    auto cfg = config::load_agent_config(f.string(), &diags);
    if (!cfg) {
      std::string all;
      for (const auto& d : diags) all += (all.empty() ? "" : "\n") + d.to_string();
      cat.invalid.emplace_back(f.string(), all.empty() ? cfg.error().message : all);
      continue;
    }
    if (cat.agents.count(cfg->name)) {
      cat.invalid.emplace_back(f.string(), "duplicate agent name '" + cfg->name + "'");
      continue;
    }
    std::string name = cfg->name;
    cat.agents.emplace(name, std::move(cfg).value());
  }
  return cat;
}

std::string metrics_text(const Services& s) {
  const Metrics& m = *s.metrics;
  agent::EngineStats st = s.engine ? s.engine->stats() : agent::EngineStats{};
  std::ostringstream o;
  auto metric = [&](const char* name, const char* type, const char* help, double v, const char* labels = "") {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n' << name << labels << ' ' << v << '\n';
  };
  double gen_s = static_cast<double>(m.generation_us.load()) / 1e6;
  double up_s = std::chrono::duration<double>(Clock::now() - m.started).count();
  metric("glm_http_requests_total", "counter", "HTTP requests received.", static_cast<double>(m.http_requests.load()));
  o << "# HELP glm_http_errors_total HTTP error responses by class.\n# TYPE glm_http_errors_total counter\n"
    << "glm_http_errors_total{class=\"4xx\"} " << m.http_4xx.load() << "\nglm_http_errors_total{class=\"5xx\"} "
    << m.http_5xx.load() << '\n';
  metric("glm_generations_total", "counter", "Finished chat and text completions.", static_cast<double>(m.generations.load()));
  metric("glm_agent_runs_total", "counter", "Finished agent runs.", static_cast<double>(m.agent_runs.load()));
  metric("glm_cancelled_total", "counter", "Generations cancelled because the client went away.", static_cast<double>(m.cancelled.load()));
  metric("glm_prompt_tokens_total", "counter", "Prompt tokens of finished requests.", static_cast<double>(m.prompt_tokens.load()));
  metric("glm_cached_prompt_tokens_total", "counter", "Prompt tokens served from the KV prefix cache.", static_cast<double>(m.cached_tokens.load()));
  metric("glm_completion_tokens_total", "counter", "Generated tokens of finished requests.", static_cast<double>(m.completion_tokens.load()));
  metric("glm_request_tokens_per_second", "gauge", "Generated tokens per second of request wall time (finished generations).",
         gen_s > 0 ? static_cast<double>(m.completion_tokens.load()) / gen_s : 0.0);
  metric("glm_throughput_tokens_per_second", "gauge", "Generated tokens per second since the server started.",
         up_s > 0 ? static_cast<double>(m.completion_tokens.load()) / up_s : 0.0);
  metric("glm_in_flight_requests", "gauge", "Generations and agent runs not yet finished.", static_cast<double>(m.in_flight.load()));
  metric("glm_engine_queue_depth", "gauge", "Requests waiting for the engine thread.", static_cast<double>(st.queued));
  metric("glm_engine_active_sequences", "gauge", "Sequences being decoded.", static_cast<double>(st.active));
  metric("glm_engine_requests_total", "counter", "Turns the engine started.", static_cast<double>(st.requests));
  metric("glm_engine_generated_tokens_total", "counter", "Tokens the engine generated.", static_cast<double>(st.generated_tokens));
  metric("glm_prefix_cache_hit_ratio", "gauge", "Cached prompt tokens / prompt tokens (engine lifetime).",
         st.prompt_tokens > 0 ? static_cast<double>(st.cached_tokens) / static_cast<double>(st.prompt_tokens) : 0.0);
  metric("glm_kv_cache_sequences", "gauge", "Sequences holding KV (decoding or kept for prefix reuse).", static_cast<double>(st.kv_sequences));
  metric("glm_kv_cache_tokens", "gauge", "Tokens held in the KV cache.", static_cast<double>(st.kv_tokens));
  metric("glm_kv_cache_bytes", "gauge", "Memory of the KV cache.", static_cast<double>(st.kv_bytes));
  metric("glm_uptime_seconds", "gauge", "Seconds since the server started.", up_s);
  return o.str();
}

void route(const HttpRequest& req, Services& s, std::shared_ptr<Responder> out) {
  ++s.metrics->http_requests;
  std::string path = req.path();
  if (path.size() > 1 && path.back() == '/') path.pop_back();
  if (!s.config.api_key.empty() && path != "/health") {
    std::string auth = req.header("authorization");
    if (auth != "Bearer " + s.config.api_key)
      return reply_error(*out, *s.metrics,
                         ApiError{401, auth.empty() ? "missing API key: send 'Authorization: Bearer <key>'" : "incorrect API key",
                                  "invalid_request_error", "", "invalid_api_key"});
  }
  auto method_is = [&](const char* m) {
    if (req.method == m) return true;
    reply_error(*out, *s.metrics, ApiError{405, req.method + " is not allowed on " + path + " (use " + m + ")",
                                           "invalid_request_error", "", "method_not_allowed"});
    return false;
  };
  if (path == "/health") {
    if (!method_is("GET")) return;
    return reply(*out, *s.metrics, json_response(200, ojson{{"status", "ok"}, {"model", s.config.model_name}}));
  }
  if (path == "/metrics") {
    if (!method_is("GET")) return;
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics_text(s);
    return reply(*out, *s.metrics, std::move(r));
  }
  ojson model{{"id", s.config.model_name}, {"object", "model"},
              {"created", unix_now() - static_cast<int64_t>(std::chrono::duration<double>(Clock::now() - s.metrics->started).count())},
              {"owned_by", "glm-agent"}};
  if (path == "/v1/models") {
    if (!method_is("GET")) return;
    return reply(*out, *s.metrics, json_response(200, ojson{{"object", "list"}, {"data", ojson::array({model})}}));
  }
  if (path.rfind("/v1/models/", 0) == 0) {
    if (!method_is("GET")) return;
    if (path.substr(11) != s.config.model_name)
      return reply_error(*out, *s.metrics, ApiError{404, "the model '" + path.substr(11) + "' does not exist", "invalid_request_error", "model", "model_not_found"});
    return reply(*out, *s.metrics, json_response(200, model));
  }
  if (path == "/v1/chat/completions" || path == "/v1/completions") {
    if (!method_is("POST")) return;
    bool chat = path == "/v1/chat/completions";
    auto parsed = chat ? parse_chat_request(req.body, s.config.limits) : parse_completion_request(req.body, s.config.limits);
    if (auto* e = std::get_if<ApiError>(&parsed)) return reply_error(*out, *s.metrics, *e);
    bool echo = false;
    if (!chat) {
      ojson j = ojson::parse(req.body, nullptr, false);
      echo = j.value("echo", false);
    }
    return generate(s, std::move(std::get<ChatCall>(parsed)), chat, echo, out);
  }
  if (path == "/v1/agents") {
    if (!method_is("GET")) return;
    ojson data = ojson::array();
    for (const auto& [name, cfg] : s.agents.agents) {
      ojson tools = ojson::array();
      for (const auto& t : cfg.tools) tools.push_back(t.name);
      data.push_back({{"name", name}, {"object", "agent"}, {"description", cfg.description}, {"tools", tools}});
    }
    ojson invalid = ojson::array();
    for (const auto& [file, why] : s.agents.invalid) invalid.push_back({{"file", file}, {"error", why}});
    return reply(*out, *s.metrics, json_response(200, ojson{{"object", "list"}, {"data", data}, {"invalid", invalid}}));
  }
  constexpr std::string_view kAgents = "/v1/agents/";
  if (path.rfind(kAgents, 0) == 0 && path.size() > kAgents.size() + 5 && path.ends_with("/runs")) {
    if (!method_is("POST")) return;
    return agent_run(req, s, path.substr(kAgents.size(), path.size() - kAgents.size() - 5), out);
  }
  reply_error(*out, *s.metrics, ApiError{404, "no route for " + req.method + " " + path, "invalid_request_error", "", "not_found"});
}

}  // namespace glm::server
