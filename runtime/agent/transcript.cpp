#include "runtime/agent/transcript.h"

namespace glm::agent {

Transcript::Transcript(std::string run_id, std::vector<std::string> secrets)
    : run_id_(std::move(run_id)), secrets_(std::move(secrets)), start_(std::chrono::steady_clock::now()) {}

int64_t Transcript::elapsed_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_).count();
}

void Transcript::emit(const std::string& type, int step, nlohmann::ordered_json fields) {
  nlohmann::ordered_json e;
  e["type"] = type;
  e["seq"] = seq_++;
  e["run_id"] = run_id_;
  e["step"] = step;
  e["t_ms"] = elapsed_ms();
  for (auto it = fields.begin(); it != fields.end(); ++it) e[it.key()] = std::move(it.value());
  std::string line = redact(e.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace), secrets_);
  for (const auto& s : sinks_) s(line);
}

}  // namespace glm::agent
