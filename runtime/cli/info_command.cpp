// `glm-agent info [--json]`: version, compiled backends and the devices found.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <thread>

#include "base/build_info.h"
#include "runtime/cli/args.h"
#include "runtime/cli/commands.h"

namespace glm::cli {

namespace {
nlohmann::ordered_json cpu_device() {
  nlohmann::ordered_json d;
  d["type"] = "cpu";
  d["threads"] = std::thread::hardware_concurrency();
  nlohmann::ordered_json features = nlohmann::ordered_json::array();
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) features.push_back("avx2");
  if (__builtin_cpu_supports("fma")) features.push_back("fma");
  if (__builtin_cpu_supports("avx512f")) features.push_back("avx512f");
  if (__builtin_cpu_supports("avx512bw")) features.push_back("avx512bw");
  if (__builtin_cpu_supports("avx512vnni")) features.push_back("avx512vnni");
  if (__builtin_cpu_supports("avx512bf16")) features.push_back("avx512bf16");
  d["features"] = features;
  return d;
}
}  // namespace

int cmd_info(const Argv& argv) {
  auto args = Args::parse(argv, {}, {"json"});
  if (!args) return fail(kExitUsage, args.error().message);
  nlohmann::ordered_json info;
  info["name"] = "glm-agent";
  info["version"] = GLM_VERSION;
  // The CUDA backend is not part of this build yet; the toolkit's presence is reported for diagnosis.
  info["backends"] = nlohmann::ordered_json::array({"cpu"});
  info["cuda_toolkit_at_build"] = static_cast<bool>(GLM_HAVE_CUDA);
  info["devices"] = nlohmann::ordered_json::array({cpu_device()});
  if (args->switches.count("json")) {
    std::printf("%s\n", info.dump().c_str());
  } else {
    std::printf("glm-agent %s\nbackends: cpu\ncpu: %u threads,", GLM_VERSION, std::thread::hardware_concurrency());
    for (const auto& f : info["devices"][0]["features"]) std::printf(" %s", f.get<std::string>().c_str());
    std::printf("\n");
  }
  return kExitOk;
}

}  // namespace glm::cli
