#include "runtime/agent/transcript.h"

namespace glm::agent {

namespace {

std::string percent_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else { out += '%'; out += hex[c >> 4]; out += hex[c & 15]; }
  }
  return out;
}

std::string base64(const std::string& s) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8) | uint8_t(s[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += tbl[(v >> k) & 63];
  }
  if (i + 1 == s.size()) {
    uint32_t v = uint8_t(s[i]) << 16;
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == s.size()) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8);
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

void replace_all(std::string& text, const std::string& needle) {
  if (needle.size() < 4) return;  // too short to redact without destroying ordinary text
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 10))
    text.replace(at, needle.size(), "[redacted]");
}

}  // namespace

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    replace_all(text, s);
    replace_all(text, percent_encode(s));
    std::string b = base64(s);
    while (!b.empty() && b.back() == '=') b.pop_back();
    replace_all(text, b);
  }
  return text;
}

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
