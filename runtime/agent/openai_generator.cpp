#include "runtime/agent/openai_generator.h"

#include <curl/curl.h>

#include <nlohmann/json.hpp>

#include <chrono>

#include "tools/lua/worker_pool.h"

namespace glm::agent {

using ojson = nlohmann::ordered_json;

struct OpenAIGenerator::Pool {
  tools::lua::WorkerPool workers{tools::lua::WorkerPool::Options{1, 64}};
};

OpenAIGenerator::OpenAIGenerator(OpenAIOptions opt) : opt_(std::move(opt)), pool_(std::make_unique<Pool>()) {
  static const bool curl_ready = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)curl_ready;
}

OpenAIGenerator::~OpenAIGenerator() = default;

std::string OpenAIGenerator::request_body(const TurnRequest& r, const std::string& model_name) {
  ojson body;
  body["model"] = model_name.empty() ? "default" : model_name;
  ojson msgs = ojson::array();
  std::vector<std::string> pending_ids;  // calls not yet answered, in order
  size_t next_pending = 0;
  for (size_t i = 0; i < r.messages.size(); ++i) {
    const chat::Message& m = r.messages[i];
    switch (m.role) {
      case chat::Role::system: msgs.push_back({{"role", "system"}, {"content", m.content}}); break;
      case chat::Role::user: msgs.push_back({{"role", "user"}, {"content", m.content}}); break;
      case chat::Role::assistant: {
        ojson a = {{"role", "assistant"}, {"content", m.content.empty() && !m.tool_calls.empty() ? ojson() : ojson(m.content)}};
        if (!m.tool_calls.empty()) {
          a["tool_calls"] = ojson::array();
          pending_ids.clear();
          next_pending = 0;
          for (size_t k = 0; k < m.tool_calls.size(); ++k) {
            std::string id = "call_" + std::to_string(i) + "_" + std::to_string(k);
            pending_ids.push_back(id);
            a["tool_calls"].push_back({{"id", id},
                                       {"type", "function"},
                                       {"function", {{"name", m.tool_calls[k].name}, {"arguments", m.tool_calls[k].arguments}}}});
          }
        }
        msgs.push_back(std::move(a));
        break;
      }
      case chat::Role::observation: {
        std::string id = next_pending < pending_ids.size() ? pending_ids[next_pending++] : "call_orphan_" + std::to_string(i);
        msgs.push_back({{"role", "tool"}, {"tool_call_id", id}, {"content", m.content}});
        break;
      }
    }
  }
  body["messages"] = msgs;
  if (!r.tools.empty() && r.tool_choice != "none") {
    ojson tools = ojson::array();
    for (const auto& t : r.tools) tools.push_back({{"type", "function"}, {"function", ojson::parse(t.function_json)}});
    body["tools"] = tools;
    body["tool_choice"] = r.tool_choice;
    body["parallel_tool_calls"] = r.parallel_tool_calls;
  }
  if (r.output_schema)
    body["response_format"] = {{"type", "json_schema"},
                               {"json_schema", {{"name", "answer"}, {"strict", true}, {"schema", ojson::parse(*r.output_schema)}}}};
  body["max_tokens"] = r.max_tokens;
  body["temperature"] = r.sampling.temperature;
  if (r.sampling.top_p < 1.0) body["top_p"] = r.sampling.top_p;
  if (r.sampling.seed) body["seed"] = r.sampling.seed;
  return body.dump();
}

Result<TurnResult> OpenAIGenerator::parse_reply(const std::string& body) {
  auto j = ojson::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("choices") || !j["choices"].is_array() || j["choices"].empty() ||
      !j["choices"][0].contains("message"))
    return make_error(ErrorCode::invalid_argument, "the server's reply is not a chat.completion: " + body.substr(0, 200));
  const ojson& msg = j["choices"][0]["message"];
  TurnResult r;
  r.turn.finish_reason = j["choices"][0].value("finish_reason", "stop");
  if (msg.contains("content") && msg["content"].is_string()) r.turn.content = msg["content"].get<std::string>();
  if (msg.contains("tool_calls") && msg["tool_calls"].is_array()) {
    for (size_t k = 0; k < msg["tool_calls"].size(); ++k) {
      const ojson& c = msg["tool_calls"][k];
      if (!c.contains("function") || !c["function"].contains("name") || !c["function"]["name"].is_string()) {
        r.parse_error = make_error(ErrorCode::invalid_argument, "tool call " + std::to_string(k + 1) + " has no function name");
        break;
      }
      const ojson& a = c["function"].contains("arguments") ? c["function"]["arguments"] : ojson("{}");
      std::string args = a.is_string() ? a.get<std::string>() : a.dump();  // some servers send an object
      auto parsed = ojson::parse(args, nullptr, false);
      if (parsed.is_discarded() || !parsed.is_object()) {
        r.parse_error = make_error(ErrorCode::invalid_argument, "tool call " + std::to_string(k + 1) + ": arguments of '" +
                                                                    c["function"]["name"].get<std::string>() + "' are not a JSON object");
        break;
      }
      r.turn.tool_calls.push_back({c["function"]["name"].get<std::string>(), args});
    }
  }
  r.raw = msg.dump();
  if (j.contains("usage") && j["usage"].is_object()) {
    const ojson& u = j["usage"];
    r.prompt_tokens = u.value("prompt_tokens", 0);
    r.completion_tokens = u.value("completion_tokens", 0);
    if (u.contains("prompt_tokens_details") && u["prompt_tokens_details"].is_object())
      r.cached_tokens = u["prompt_tokens_details"].value("cached_tokens", 0);
  }
  return r;
}

namespace {

size_t on_body(char* data, size_t size, size_t n, void* out) {
  auto* s = static_cast<std::string*>(out);
  if (s->size() + size * n > (64u << 20)) return 0;  // a 64 MiB reply is not a chat turn
  s->append(data, size * n);
  return size * n;
}

int on_progress(void* flag, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* cancel = static_cast<const std::atomic<bool>*>(flag);
  return cancel && cancel->load() ? 1 : 0;
}

}  // namespace

void OpenAIGenerator::generate(TurnRequest request, TurnDone done) {
  pool_->workers.submit([this, request = std::move(request), done = std::move(done)] {
    auto t0 = std::chrono::steady_clock::now();
    std::string body = request_body(request, opt_.model_name), reply;
    CURL* h = curl_easy_init();
    if (!h) return done(make_error(ErrorCode::internal, "curl_easy_init failed"));
    std::string url = opt_.url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    url += "/chat/completions";
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    if (!opt_.api_key.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + opt_.api_key).c_str());
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(opt_.request_timeout_s * 1000));
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, static_cast<const void*>(request.cancel.get()));
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    if (rc == CURLE_ABORTED_BY_CALLBACK) return done(make_error(ErrorCode::cancelled, "generation cancelled"));
    if (rc == CURLE_OPERATION_TIMEDOUT) return done(make_error(ErrorCode::timeout, url + ": no reply in time"));
    if (rc != CURLE_OK) return done(make_error(ErrorCode::unavailable, url + ": " + curl_easy_strerror(rc)));
    if (status >= 400) {
      ErrorCode code = (status >= 500 || status == 429) ? ErrorCode::unavailable : ErrorCode::invalid_argument;
      return done(make_error(code, url + ": HTTP " + std::to_string(status) + ": " + reply.substr(0, 300)));
    }
    auto r = parse_reply(reply);
    if (r) r->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    done(std::move(r));
  });
}

}  // namespace glm::agent
