// runtime/server/routes.h — the OpenAI-compatible API as a function: request -> Responder.
//
//   GET  /health, /metrics (Prometheus text), /v1/models, /v1/models/{id}, /v1/agents
//   POST /v1/chat/completions, /v1/completions, /v1/agents/{name}/runs
//
// route() never touches a socket: it answers through the Responder (http.h), now or later from the engine
// thread. Every failure is an OpenAI error object with its status: 400 (bad JSON, wrong types, prompt
// past the context), 401 (API key), 404, 405, 429 (max_in_flight generations already running), 500 (a bug;
// the message says where), 503 (the engine is shutting down). A client that goes away cancels its
// generation (TurnRequest::cancel is Responder::gone) or its agent run.
// Owns: Services owns the agent configs and metrics; shares the engine. Threads: route() runs on the
// io_context (agent runs start there); completions arrive on the engine thread. Services must outlive
// every route() call; Metrics is shared by the callbacks and may outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/agent/engine_generator.h"
#include "runtime/config/agent_config.h"
#include "runtime/server/http.h"
#include "runtime/server/openai.h"

namespace boost::asio {
class io_context;
}

namespace glm::server {

struct Metrics {
  std::atomic<int64_t> http_requests{0};
  std::atomic<int64_t> http_4xx{0};
  std::atomic<int64_t> http_5xx{0};
  std::atomic<int64_t> generations{0};         // finished chat / text completions
  std::atomic<int64_t> agent_runs{0};
  std::atomic<int64_t> prompt_tokens{0};
  std::atomic<int64_t> cached_tokens{0};
  std::atomic<int64_t> completion_tokens{0};
  std::atomic<int64_t> generation_us{0};       // summed wall time of finished generations
  std::atomic<int64_t> in_flight{0};           // generations and agent runs not yet finished
  std::atomic<int64_t> cancelled{0};           // generations cancelled by a client disconnect
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

struct ServiceConfig {
  std::string model_name = "glm-4";           // the id /v1/models lists and responses echo by default
  std::string api_key;                         // empty: no authentication
  RequestLimits limits;
  int64_t max_in_flight = 64;                  // more concurrent generations -> 429
};

struct AgentCatalog {
  std::map<std::string, config::AgentConfig> agents;  // by name
  std::vector<std::pair<std::string, std::string>> invalid;  // (file, diagnostics) skipped at startup
};
// Loads every *.json in dir (sorted); invalid configs and duplicate names go to `invalid`.
AgentCatalog load_agents(const std::string& dir);

struct Services {
  ServiceConfig config;
  std::shared_ptr<agent::EngineGenerator> engine;
  AgentCatalog agents;
  boost::asio::io_context* ioc = nullptr;                    // agent sessions run here
  std::function<void(std::function<void()>)> post;           // posts to ioc
  std::shared_ptr<Metrics> metrics = std::make_shared<Metrics>();
};

void route(const HttpRequest& req, Services& services, std::shared_ptr<Responder> out);

// The /metrics text (Prometheus exposition format 0.0.4).
std::string metrics_text(const Services& services);

}  // namespace glm::server
