// `glm-agent serve`: the OpenAI-compatible server (runtime/server) over the embedded engine.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "runtime/agent/engine_generator.h"
#include "runtime/cli/args.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/model_paths.h"
#include "runtime/server/server.h"

namespace glm::cli {

int cmd_serve(const Argv& argv) {
  auto args = Args::parse(argv,
                          {"model", "host", "port", "agents", "api-key-env", "threads", "context", "max-batch",
                           "max-in-flight", "max-tokens", "max-body-bytes", "model-name"},
                          {});
  if (!args) return fail(kExitUsage, args.error().message);
  if (!args->positional.empty())
    return fail(kExitUsage, "usage: glm-agent serve [--model DIR] [--host 127.0.0.1] [--port 8080] [--agents DIR] "
                            "[--api-key-env VAR] [--threads N] [--context N] [--max-batch N] [--max-in-flight N] "
                            "[--max-tokens N] [--max-body-bytes N] [--model-name NAME]");
  auto port = args->get_int("port", 8080);
  auto threads = args->get_int("threads", 0);
  auto context = args->get_int("context", 0);
  auto max_batch = args->get_int("max-batch", 16);
  auto in_flight = args->get_int("max-in-flight", 64);
  auto max_tokens = args->get_int("max-tokens", 4096);
  auto body = args->get_int("max-body-bytes", 8 << 20);
  for (auto* r : {&port, &threads, &context, &max_batch, &in_flight, &max_tokens, &body})
    if (!*r) return fail(kExitUsage, r->error().message);
  if (*port < 0 || *port > 65535) return fail(kExitUsage, "--port must be in 0..65535");
  if (*max_batch < 1 || *in_flight < 1 || *max_tokens < 1 || *body < 1)
    return fail(kExitUsage, "--max-batch, --max-in-flight, --max-tokens and --max-body-bytes must be positive");

  boost::asio::io_context ioc;  // first: destroyed last, after the engine whose callbacks post to it
  auto services = std::make_shared<server::Services>();
  if (auto var = args->get("api-key-env")) {
    const char* key = std::getenv(var->c_str());
    if (!key || !*key) return fail(kExitUsage, "--api-key-env " + *var + ": the variable is not set or empty");
    services->config.api_key = key;
  }
  if (auto dir = args->get("agents")) {
    services->agents = server::load_agents(*dir);
    for (const auto& [file, why] : services->agents.invalid)
      std::fprintf(stderr, "glm-agent serve: skipping agent %s:\n%s\n", file.c_str(), why.c_str());
    std::fprintf(stderr, "glm-agent serve: %zu agent(s) from %s\n", services->agents.agents.size(), dir->c_str());
  }

  std::string dir = model_dir(*args);
  agent::EngineGeneratorOptions opt;
  opt.n_threads = static_cast<int>(*threads);
  opt.context = *context;
  opt.max_batch = static_cast<int>(*max_batch);
  auto gen = agent::EngineGenerator::open(dir, opt);
  if (!gen) return fail(kExitFailed, "model " + dir + ": " + gen.error().to_string());
  services->engine = *gen;
  services->config.model_name =
      args->get_or("model-name", std::filesystem::path(dir).filename().empty()
                                     ? std::filesystem::path(dir).parent_path().filename().string()
                                     : std::filesystem::path(dir).filename().string());
  services->config.max_in_flight = *in_flight;
  services->config.limits.max_tokens = std::min<int64_t>(*max_tokens, (*gen)->context_tokens());

  server::ServerOptions so;
  so.host = args->get_or("host", "127.0.0.1");
  so.port = static_cast<uint16_t>(*port);
  so.max_body_bytes = static_cast<size_t>(*body);
  auto srv = server::Server::start(ioc, so, services);
  if (!srv) return fail(kExitFailed, srv.error().message);
  std::fprintf(stderr, "glm-agent serve: %s on http://%s:%u (model id \"%s\")\n", (*gen)->describe().c_str(),
               so.host.c_str(), static_cast<unsigned>((*srv)->port()), services->config.model_name.c_str());
  std::fflush(stderr);

  bool interrupted = false;
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    interrupted = true;
    (*srv)->stop();
    ioc.stop();
  });
  ioc.run();
  return interrupted ? kExitOk : kExitFailed;
}

}  // namespace glm::cli
