#include "runtime/server/openai.h"

#include <algorithm>
#include <random>

#include "model/chat.h"

namespace glm::server {

namespace {

using ojson = nlohmann::ordered_json;

ApiError bad(std::string param, std::string message, std::string code = "") {
  return ApiError{400, std::move(message), "invalid_request_error", std::move(param), std::move(code)};
}

bool present(const ojson& j, const char* key) { return j.contains(key) && !j[key].is_null(); }

// Size of an incomplete UTF-8 sequence at the end of s (0 when s ends on a character boundary).
size_t utf8_incomplete_tail(std::string_view s) {
  size_t n = s.size();
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    unsigned char c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    return back < need ? back : 0;
  }
  return 0;
}

// Sampling, token budget, stop and seed: shared by chat and text completions.
std::optional<ApiError> parse_common(const ojson& j, const RequestLimits& limits, int64_t default_max_tokens,
                                     ChatCall* call) {
  if (present(j, "model")) {
    if (!j["model"].is_string()) return bad("model", "'model' must be a string");
    call->model = j["model"].get<std::string>();
  }
  auto& s = call->turn.sampling;
  s.temperature = 1.0;  // OpenAI's defaults
  s.top_p = 1.0;
  if (present(j, "temperature")) {
    if (!j["temperature"].is_number()) return bad("temperature", "'temperature' must be a number");
    s.temperature = j["temperature"].get<double>();
    if (s.temperature < 0 || s.temperature > 2) return bad("temperature", "'temperature' must be between 0 and 2");
  }
  if (present(j, "top_p")) {
    if (!j["top_p"].is_number()) return bad("top_p", "'top_p' must be a number");
    s.top_p = j["top_p"].get<double>();
    if (s.top_p <= 0 || s.top_p > 1) return bad("top_p", "'top_p' must be in (0, 1]");
  }
  if (present(j, "presence_penalty")) {
    if (!j["presence_penalty"].is_number()) return bad("presence_penalty", "'presence_penalty' must be a number");
    s.presence_penalty = j["presence_penalty"].get<double>();
    if (s.presence_penalty < -2 || s.presence_penalty > 2)
      return bad("presence_penalty", "'presence_penalty' must be between -2 and 2");
  }
  if (present(j, "frequency_penalty")) {
    if (!j["frequency_penalty"].is_number()) return bad("frequency_penalty", "'frequency_penalty' must be a number");
    if (j["frequency_penalty"].get<double>() != 0)
      return bad("frequency_penalty", "'frequency_penalty' other than 0 is not supported by this server");
  }
  if (present(j, "seed")) {
    if (!j["seed"].is_number_integer()) return bad("seed", "'seed' must be an integer");
    s.seed = static_cast<uint64_t>(j["seed"].get<int64_t>());
  } else {
    std::random_device rd;
    s.seed = (static_cast<uint64_t>(rd()) << 32) | rd();
  }
  if (present(j, "n")) {
    if (!j["n"].is_number_integer()) return bad("n", "'n' must be an integer");
    if (j["n"].get<int64_t>() != 1) return bad("n", "only n = 1 is supported");
  }
  call->turn.max_tokens = default_max_tokens;
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (!present(j, key)) continue;
    if (!j[key].is_number_integer()) return bad(key, std::string("'") + key + "' must be an integer");
    int64_t v = j[key].get<int64_t>();
    if (v < 1) return bad(key, std::string("'") + key + "' must be at least 1");
    if (v > limits.max_tokens)
      return bad(key, std::string("'") + key + "' is " + std::to_string(v) + "; this server allows at most " +
                          std::to_string(limits.max_tokens));
    call->turn.max_tokens = v;
  }
  if (present(j, "stop")) {
    const ojson& st = j["stop"];
    if (st.is_string()) {
      call->stop.push_back(st.get<std::string>());
    } else if (st.is_array()) {
      if (st.size() > 4) return bad("stop", "'stop' holds at most 4 strings");
      for (const auto& x : st) {
        if (!x.is_string()) return bad("stop", "'stop' must be a string or an array of strings");
        call->stop.push_back(x.get<std::string>());
      }
    } else {
      return bad("stop", "'stop' must be a string or an array of strings");
    }
    for (const auto& x : call->stop)
      if (x.empty()) return bad("stop", "'stop' strings must not be empty");
  }
  if (present(j, "stream")) {
    if (!j["stream"].is_boolean()) return bad("stream", "'stream' must be a boolean");
    call->stream = j["stream"].get<bool>();
  }
  if (present(j, "stream_options")) {
    const ojson& so = j["stream_options"];
    if (!so.is_object()) return bad("stream_options", "'stream_options' must be an object");
    if (present(so, "include_usage")) {
      if (!so["include_usage"].is_boolean()) return bad("stream_options.include_usage", "'include_usage' must be a boolean");
      call->include_usage = so["include_usage"].get<bool>();
    }
  }
  if (present(j, "logprobs") && !(j["logprobs"].is_boolean() && !j["logprobs"].get<bool>()))
    return bad("logprobs", "'logprobs' is not supported by this server");
  return std::nullopt;
}

std::optional<ojson> parse_body(std::string_view body, ApiError* err) {
  ojson j = ojson::parse(body, nullptr, false);
  if (j.is_discarded()) {
    *err = bad("", "the request body is not valid JSON (or not valid UTF-8)", "invalid_json");
    return std::nullopt;
  }
  if (!j.is_object()) {
    *err = bad("", "the request body must be a JSON object", "invalid_json");
    return std::nullopt;
  }
  return j;
}

}  // namespace

nlohmann::ordered_json error_json(const ApiError& e) {
  ojson err;
  err["message"] = e.message;
  err["type"] = e.type;
  err["param"] = e.param.empty() ? ojson() : ojson(e.param);
  err["code"] = e.code.empty() ? ojson() : ojson(e.code);
  return ojson{{"error", err}};
}

std::string dump_json(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

HttpResponse error_response(const ApiError& e) {
  HttpResponse r;
  r.status = e.status;
  r.body = dump_json(error_json(e));
  return r;
}

HttpResponse json_response(int status, const nlohmann::ordered_json& body) {
  HttpResponse r;
  r.status = status;
  r.body = dump_json(body);
  return r;
}

std::string random_id(std::string_view prefix, size_t n_chars) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id(prefix);
  for (size_t i = 0; i < n_chars; ++i) id += kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
  return id;
}

namespace {
std::variant<ChatCall, ApiError> parse_chat_request_impl(std::string_view body, const RequestLimits& limits);
std::variant<ChatCall, ApiError> parse_completion_request_impl(std::string_view body, const RequestLimits& limits);
}  // namespace

// A JSON type error deep in a field (e.g. a number where a string belongs) is the client's: 400, not 500.
std::variant<ChatCall, ApiError> parse_chat_request(std::string_view body, const RequestLimits& limits) {
  try {
    return parse_chat_request_impl(body, limits);
  } catch (const nlohmann::json::exception& e) {
    return bad("", std::string("malformed request: ") + e.what());
  }
}

std::variant<ChatCall, ApiError> parse_completion_request(std::string_view body, const RequestLimits& limits) {
  try {
    return parse_completion_request_impl(body, limits);
  } catch (const nlohmann::json::exception& e) {
    return bad("", std::string("malformed request: ") + e.what());
  }
}

namespace {

std::variant<ChatCall, ApiError> parse_chat_request_impl(std::string_view body, const RequestLimits& limits) {
  ApiError err;
  auto jo = parse_body(body, &err);
  if (!jo) return err;
  const ojson& j = *jo;
  ChatCall call;
  if (!j.contains("messages")) return bad("messages", "'messages' is required");
  if (!j["messages"].is_array()) return bad("messages", "'messages' must be an array");
  if (j["messages"].empty()) return bad("messages", "'messages' must not be empty");
  auto msgs = chat::messages_from_openai(j["messages"].dump());
  if (!msgs) return bad("messages", msgs.error().message);
  call.turn.messages = std::move(msgs).value();
  if (present(j, "tools")) {
    if (!j["tools"].is_array()) return bad("tools", "'tools' must be an array");
    for (size_t i = 0; i < j["tools"].size(); ++i) {
      const ojson& t = j["tools"][i];
      if (t.is_object() && t.contains("function") && t["function"].is_object() && t["function"].contains("parameters") &&
          !t["function"]["parameters"].is_object())
        return bad("tools[" + std::to_string(i) + "].function.parameters", "'parameters' must be a JSON Schema object");
    }
    auto tools = chat::tools_from_openai(j["tools"].dump());
    if (!tools) return bad("tools", tools.error().message);
    call.turn.tools = std::move(tools).value();
  }
  call.turn.tool_choice = "auto";
  if (present(j, "tool_choice")) {
    const ojson& tc = j["tool_choice"];
    if (tc.is_string()) {
      std::string v = tc.get<std::string>();
      if (v != "auto" && v != "none" && v != "required")
        return bad("tool_choice", "'tool_choice' must be \"auto\", \"none\", \"required\" or a named function");
      call.turn.tool_choice = v;
    } else if (tc.is_object() && tc.contains("type") && tc["type"] == "function" && tc.contains("function") &&
               tc["function"].is_object() && tc["function"].contains("name") && tc["function"]["name"].is_string()) {
      std::string name = tc["function"]["name"].get<std::string>();
      auto it = std::find_if(call.turn.tools.begin(), call.turn.tools.end(),
                             [&](const chat::ToolSpec& t) { return t.name == name; });
      if (it == call.turn.tools.end())
        return bad("tool_choice", "tool_choice names function '" + name + "', which is not in 'tools'");
      call.turn.tools = {*it};
      call.turn.tool_choice = "required";
    } else {
      return bad("tool_choice", "'tool_choice' must be a string or {\"type\":\"function\",\"function\":{\"name\":...}}");
    }
    if (call.turn.tool_choice == "required" && call.turn.tools.empty())
      return bad("tool_choice", "tool_choice \"required\" needs at least one tool in 'tools'");
  }
  if (present(j, "parallel_tool_calls")) {
    if (!j["parallel_tool_calls"].is_boolean()) return bad("parallel_tool_calls", "'parallel_tool_calls' must be a boolean");
    call.turn.parallel_tool_calls = j["parallel_tool_calls"].get<bool>();
  }
  if (present(j, "response_format")) {
    const ojson& rf = j["response_format"];
    std::string type = rf.is_object() && rf.contains("type") && rf["type"].is_string() ? rf["type"].get<std::string>() : "";
    if (type == "json_object") {
      call.turn.output_schema = R"({"type":"object"})";
    } else if (type == "json_schema") {
      if (!rf.contains("json_schema") || !rf["json_schema"].is_object())
        return bad("response_format.json_schema", "'response_format.json_schema' must be an object");
      const ojson& js = rf["json_schema"];
      if (!js.contains("schema") || !js["schema"].is_object())
        return bad("response_format.json_schema.schema", "'json_schema.schema' must be a JSON Schema object");
      call.turn.output_schema = js["schema"].dump();
    } else if (type != "text") {
      return bad("response_format", "'response_format.type' must be \"text\", \"json_object\" or \"json_schema\"");
    }
  }
  if (auto e = parse_common(j, limits, limits.max_tokens, &call)) return *e;
  return call;
}

std::variant<ChatCall, ApiError> parse_completion_request_impl(std::string_view body, const RequestLimits& limits) {
  ApiError err;
  auto jo = parse_body(body, &err);
  if (!jo) return err;
  const ojson& j = *jo;
  ChatCall call;
  if (!j.contains("prompt")) return bad("prompt", "'prompt' is required");
  const ojson& p = j["prompt"];
  std::string prompt;
  if (p.is_string()) prompt = p.get<std::string>();
  else if (p.is_array() && p.size() == 1 && p[0].is_string()) prompt = p[0].get<std::string>();
  else return bad("prompt", "'prompt' must be a string (or an array of one string)");
  if (prompt.empty()) return bad("prompt", "'prompt' must not be empty");
  call.turn.raw_prompt = std::move(prompt);
  if (present(j, "suffix")) return bad("suffix", "'suffix' is not supported by this server");
  if (present(j, "echo") && !j["echo"].is_boolean()) return bad("echo", "'echo' must be a boolean");
  if (present(j, "best_of") && !(j["best_of"].is_number_integer() && j["best_of"].get<int64_t>() == 1))
    return bad("best_of", "only best_of = 1 is supported");
  // OpenAI's legacy default is 16 tokens.
  if (auto e = parse_common(j, limits, std::min<int64_t>(16, limits.max_tokens), &call)) return *e;
  return call;
}

}  // namespace

TurnStreamer::TurnStreamer(std::vector<std::string> stop, bool raw) : stop_(std::move(stop)), raw_(raw) {
  if (raw_) mode_ = Mode::text;
}

bool TurnStreamer::feed(std::string_view bytes, bool special, std::vector<Delta>* out) {
  if (mode_ == Mode::done) return !stopped_;
  if (special) {
    bool is_end = bytes == "<|observation|>" || bytes == "<|user|>" || bytes == "<|endoftext|>";
    if (raw_) {
      if (is_end) {
        finish(out);
        return true;
      }
      pending_ += bytes;  // other special tokens are part of a raw completion's text
      emit_text(false, out);
      return !stopped_;
    }
    if (bytes == "<|assistant|>") {  // the next call (or text) chunk
      if (mode_ == Mode::text) emit_text(true, out);
      if (mode_ == Mode::args) emit_args(true, out);
      if (mode_ != Mode::done) mode_ = Mode::start;
      name_.clear();
    } else if (is_end) {
      finish(out);
    }
    return !stopped_;
  }
  for (char c : bytes) {
    switch (mode_) {
      case Mode::start:
        if (c == '\n') {
          mode_ = Mode::text;
          if (n_text_chunks_++ > 0) pending_ += '\n';
        } else {
          mode_ = Mode::name;
          name_ += c;
        }
        break;
      case Mode::name:
        if (c == '\n') {
          calls_.push_back(Call{random_id("call_"), name_, ""});
          Delta d;
          d.kind = Delta::call_start;
          d.index = static_cast<int>(calls_.size()) - 1;
          d.id = calls_.back().id;
          d.name = name_;
          out->push_back(std::move(d));
          mode_ = Mode::args;
        } else {
          name_ += c;
        }
        break;
      case Mode::text:
      case Mode::args:
        pending_ += c;
        break;
      case Mode::done:
        break;
    }
  }
  if (mode_ == Mode::text) emit_text(false, out);
  if (mode_ == Mode::args) emit_args(false, out);
  return !stopped_;
}

void TurnStreamer::finish(std::vector<Delta>* out) {
  if (mode_ == Mode::text) emit_text(true, out);
  if (mode_ == Mode::args) emit_args(true, out);
  mode_ = Mode::done;
}

void TurnStreamer::emit_text(bool final, std::vector<Delta>* out) {
  size_t n = pending_.size();
  size_t cut = std::string::npos;
  for (const auto& s : stop_) cut = std::min(cut, pending_.find(s));
  if (cut != std::string::npos) {
    n = cut;
    stopped_ = true;
    final = true;
  }
  if (!final) {
    size_t hold = utf8_incomplete_tail(pending_);
    for (const auto& s : stop_)  // the longest tail that may begin a stop string
      for (size_t k = std::min(s.size() - 1, pending_.size()); k > hold; --k)
        if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) {
          hold = k;
          break;
        }
    n = pending_.size() - hold;
  }
  if (n > 0) {
    Delta d;
    d.kind = Delta::content;
    d.text = pending_.substr(0, n);
    content_ += d.text;
    out->push_back(std::move(d));
  }
  pending_.erase(0, stopped_ ? std::string::npos : n);
  if (stopped_) mode_ = Mode::done;
}

void TurnStreamer::emit_args(bool final, std::vector<Delta>* out) {
  size_t n = final ? pending_.size() : pending_.size() - utf8_incomplete_tail(pending_);
  if (n == 0 || calls_.empty()) return;
  Delta d;
  d.kind = Delta::call_arguments;
  d.index = static_cast<int>(calls_.size()) - 1;
  d.text = pending_.substr(0, n);
  calls_.back().arguments += d.text;
  pending_.erase(0, n);
  out->push_back(std::move(d));
}

std::string finish_reason_of(const agent::TurnResult& result, const TurnStreamer& streamer) {
  if (streamer.stopped_by_string()) return "stop";
  if (result.parse_error) return "length";
  if (result.turn.finish_reason.empty()) return "stop";
  return result.turn.finish_reason;
}

nlohmann::ordered_json usage_json(const agent::TurnResult& result) {
  ojson u;
  u["prompt_tokens"] = result.prompt_tokens;
  u["completion_tokens"] = result.completion_tokens;
  u["total_tokens"] = result.prompt_tokens + result.completion_tokens;
  u["prompt_tokens_details"] = {{"cached_tokens", result.cached_tokens}};
  return u;
}

nlohmann::ordered_json chat_completion_json(const ChatCall& call, const agent::TurnResult& result,
                                            const TurnStreamer& streamer, const std::string& id, int64_t created) {
  ojson msg;
  msg["role"] = "assistant";
  const auto& calls = streamer.calls();
  msg["content"] = calls.empty() || !streamer.content().empty() ? ojson(streamer.content()) : ojson();
  msg["refusal"] = nullptr;
  if (!calls.empty()) {
    ojson tc = ojson::array();
    for (const auto& c : calls)
      tc.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    msg["tool_calls"] = tc;
  }
  ojson choice;
  choice["index"] = 0;
  choice["message"] = msg;
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = finish_reason_of(result, streamer);
  ojson out;
  out["id"] = id;
  out["object"] = "chat.completion";
  out["created"] = created;
  out["model"] = call.model;
  out["choices"] = ojson::array({choice});
  out["usage"] = usage_json(result);
  out["system_fingerprint"] = nullptr;
  return out;
}

nlohmann::ordered_json chat_chunk_json(const std::string& id, int64_t created, const std::string& model,
                                       nlohmann::ordered_json delta, const std::string& finish_reason) {
  ojson choice;
  choice["index"] = 0;
  choice["delta"] = std::move(delta);
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = finish_reason.empty() ? ojson() : ojson(finish_reason);
  ojson out;
  out["id"] = id;
  out["object"] = "chat.completion.chunk";
  out["created"] = created;
  out["model"] = model;
  out["system_fingerprint"] = nullptr;
  out["choices"] = ojson::array({choice});
  return out;
}

nlohmann::ordered_json delta_json(const TurnStreamer::Delta& d) {
  if (d.kind == TurnStreamer::Delta::content) return ojson{{"content", d.text}};
  ojson tc;
  tc["index"] = d.index;
  if (d.kind == TurnStreamer::Delta::call_start) {
    tc["id"] = d.id;
    tc["type"] = "function";
    tc["function"] = {{"name", d.name}, {"arguments", ""}};
  } else {
    tc["function"] = {{"arguments", d.text}};
  }
  return ojson{{"tool_calls", ojson::array({tc})}};
}

std::string sse_event(const nlohmann::ordered_json& j) { return "data: " + dump_json(j) + "\n\n"; }

}  // namespace glm::server
