// `glm-agent validate AGENT.json`: every problem as FILE:LINE:COL: message on stderr, exit 1; on success a
// one-line summary on stdout (with --json, the resolved tool list the model would see).
#include <nlohmann/json.hpp>

#include <cstdio>

#include "runtime/cli/args.h"
#include "runtime/cli/commands.h"
#include "runtime/config/agent_config.h"

namespace glm::cli {

int cmd_validate(const Argv& argv) {
  auto args = Args::parse(argv, {}, {"json"});
  if (!args) return fail(kExitUsage, args.error().message);
  if (args->positional.size() != 1) return fail(kExitUsage, "usage: glm-agent validate AGENT.json [--json]");
  config::Diagnostics diags;
  auto cfg = config::load_agent_config(args->positional[0], &diags);
  if (!cfg) {
    for (const auto& d : diags) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    if (diags.empty()) std::fprintf(stderr, "%s\n", cfg.error().to_string().c_str());
    return kExitFailed;
  }
  if (args->switches.count("json")) {
    nlohmann::ordered_json out;
    out["name"] = cfg->name;
    out["strategy"] = cfg->strategy;
    out["tools"] = nlohmann::ordered_json::array();
    for (const auto& t : cfg->tools) out["tools"].push_back({{"type", t.type}, {"spec", t.spec}});
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("%s: ok (agent \"%s\", %zu tools)\n", args->positional[0].c_str(), cfg->name.c_str(), cfg->tools.size());
  }
  return kExitOk;
}

}  // namespace glm::cli
