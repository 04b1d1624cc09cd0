// The server over real sockets with the tiny random model: OpenAI response and SSE chunk shapes field by
// field, tool calls, schema answers, raw completions, agents, concurrency, disconnects and every error path.
#include "runtime/server/server.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/runtime/tiny_model.h"
#include "tests/test_util.h"

namespace glm::server {
namespace {

using ojson = nlohmann::ordered_json;
namespace fs = std::filesystem;

// --- a tiny blocking HTTP/1.1 client ---

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

std::string raw_request(const std::string& method, const std::string& path, const std::string& body,
                        const std::string& extra_headers = "") {
  return method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;                            // de-chunked
  ojson json() const { return ojson::parse(body); }
};

std::string dechunk(const std::string& s) {
  std::string out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t eol = s.find("\r\n", pos);
    if (eol == std::string::npos) break;
    size_t n = std::stoul(s.substr(pos, eol - pos), nullptr, 16);
    if (n == 0) break;
    out += s.substr(eol + 2, n);
    pos = eol + 2 + n + 2;
  }
  return out;
}

Reply parse_reply(const std::string& raw) {
  Reply r;
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return r;
  r.status = std::atoi(raw.substr(9, 3).c_str());
  size_t pos = raw.find("\r\n") + 2;
  while (pos < end) {
    size_t eol = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, eol - pos);
    size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = line.substr(colon + 2);
    pos = eol + 2;
  }
  std::string body = raw.substr(end + 4);
  r.body = r.headers["transfer-encoding"] == "chunked" ? dechunk(body) : body;
  return r;
}

Reply send_raw(uint16_t port, const std::string& request) {
  int fd = connect_to(port);
  if (fd < 0) return {};
  send_all(fd, request);
  std::string raw;
  char buf[65536];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return parse_reply(raw);
}

Reply http(uint16_t port, const std::string& method, const std::string& path, const std::string& body = "",
           const std::string& extra_headers = "") {
  return send_raw(port, raw_request(method, path, body, extra_headers));
}

// The JSON payloads of an SSE body; "[DONE]" is returned as the string "[DONE]".
std::vector<ojson> sse_events(const std::string& body) {
  std::vector<ojson> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) end = body.size();
    std::string ev = body.substr(pos, end - pos);
    pos = end + 2;
    if (ev.rfind("data: ", 0) != 0) {
      ADD_FAILURE() << "not an SSE data line: " << ev;
      continue;
    }
    std::string data = ev.substr(6);
    out.push_back(data == "[DONE]" ? ojson("[DONE]") : ojson::parse(data));
  }
  return out;
}

void expect_error_shape(const Reply& r, int status) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.headers.count("content-type") ? r.headers.at("content-type") : "", "application/json");
  auto j = ojson::parse(r.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.body;
  ASSERT_TRUE(j.contains("error")) << r.body;
  const auto& e = j["error"];
  EXPECT_TRUE(e["message"].is_string() && !e["message"].get<std::string>().empty());
  EXPECT_TRUE(e["type"].is_string());
  EXPECT_TRUE(e.contains("param"));
  EXPECT_TRUE(e.contains("code"));
}

const char* kFlagTool =
    R"({"type":"function","function":{"name":"set_flag","description":"Sets a flag","parameters":{"type":"object",)"
    R"("properties":{"on":{"type":"boolean"},"level":{"enum":[1,2,3]}},"required":["on","level"],"additionalProperties":false}}})";
const char* kNameTool =
    R"({"type":"function","function":{"name":"set_name","parameters":{"type":"object",)"
    R"("properties":{"name":{"type":"string","maxLength":8}},"required":["name"],"additionalProperties":false}}})";

std::string chat_body(const std::string& extra) {
  return R"({"model":"tiny","messages":[{"role":"system","content":"You set flags."},{"role":"user","content":"Set the flag."}])" +
         (extra.empty() ? "" : "," + extra) + "}";
}

// --- the fixture: an io_context thread, the tiny engine, a server on a free port ---

class ServerHttp : public ::testing::Test {
 protected:
  void start(std::function<void(Services&, ServerOptions&)> tweak = nullptr) {
    auto services = std::make_shared<Services>();
    services->engine = glm::testing::tiny_generator();
    services->config.model_name = "tiny";
    services->config.limits.max_tokens = 2000;
    ServerOptions opt;
    opt.port = 0;
    opt.max_body_bytes = 1 << 20;
    if (tweak) tweak(*services, opt);
    auto s = Server::start(ioc_, opt, services);
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    server_ = std::move(s).value();
    services_ = services;
    port_ = server_->port();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    services_.reset();  // the engine goes before the io_context
  }
  double metric(const std::string& name) {
    Reply r = http(port_, "GET", "/metrics");
    size_t at = r.body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::atof(r.body.c_str() + at + name.size() + 2);
  }

  boost::asio::io_context ioc_;
  std::shared_ptr<Services> services_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

TEST_F(ServerHttp, ChatCompletionHasOpenAIShape) {
  start();
  Reply r = http(port_, "POST", "/v1/chat/completions", chat_body(R"("max_tokens":24,"seed":3)"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "application/json");
  ojson j = r.json();
  EXPECT_EQ(j["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_TRUE(j["created"].is_number_integer());
  EXPECT_EQ(j["model"], "tiny");
  ASSERT_EQ(j["choices"].size(), 1u);
  const auto& c = j["choices"][0];
  EXPECT_EQ(c["index"], 0);
  EXPECT_EQ(c["message"]["role"], "assistant");
  EXPECT_TRUE(c["message"]["content"].is_string());
  EXPECT_FALSE(c["message"].contains("tool_calls"));
  std::string fr = c["finish_reason"];
  EXPECT_TRUE(fr == "stop" || fr == "length") << fr;
  const auto& u = j["usage"];
  EXPECT_GT(u["prompt_tokens"].get<int>(), 0);
  EXPECT_GT(u["completion_tokens"].get<int>(), 0);
  EXPECT_LE(u["completion_tokens"].get<int>(), 24);
  EXPECT_EQ(u["total_tokens"], u["prompt_tokens"].get<int>() + u["completion_tokens"].get<int>());
  EXPECT_TRUE(u["prompt_tokens_details"]["cached_tokens"].is_number_integer());
}

TEST_F(ServerHttp, RequiredToolChoiceReturnsWellFormedToolCalls) {
  start();
  for (int seed = 1; seed <= 3; ++seed) {
    Reply r = http(port_, "POST", "/v1/chat/completions",
                   chat_body(std::string(R"("tools":[)") + kFlagTool + R"(],"tool_choice":"required","seed":)" + std::to_string(seed)));
    ASSERT_EQ(r.status, 200) << r.body;
    ojson j = r.json();
    const auto& c = j["choices"][0];
    EXPECT_EQ(c["finish_reason"], "tool_calls");
    EXPECT_TRUE(c["message"]["content"].is_null());
    ASSERT_GE(c["message"]["tool_calls"].size(), 1u);
    for (const auto& tc : c["message"]["tool_calls"]) {
      EXPECT_EQ(tc["id"].get<std::string>().rfind("call_", 0), 0u);
      EXPECT_EQ(tc["type"], "function");
      EXPECT_EQ(tc["function"]["name"], "set_flag");
      ASSERT_TRUE(tc["function"]["arguments"].is_string());
      auto args = ojson::parse(tc["function"]["arguments"].get<std::string>());
      EXPECT_TRUE(args["on"].is_boolean());
      EXPECT_TRUE(args["level"] == 1 || args["level"] == 2 || args["level"] == 3);
    }
  }
}

TEST_F(ServerHttp, NamedToolChoiceCallsThatToolOnly) {
  start();
  Reply r = http(port_, "POST", "/v1/chat/completions",
                 chat_body(std::string(R"("tools":[)") + kFlagTool + "," + kNameTool +
                           R"(],"tool_choice":{"type":"function","function":{"name":"set_name"}},"parallel_tool_calls":false)"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto calls = r.json()["choices"][0]["message"]["tool_calls"];
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["function"]["name"], "set_name");
  EXPECT_TRUE(ojson::parse(calls[0]["function"]["arguments"].get<std::string>())["name"].is_string());
}

TEST_F(ServerHttp, JsonSchemaResponseFormatConstrainsTheAnswer) {
  start();
  Reply r = http(port_, "POST", "/v1/chat/completions",
                 chat_body(R"("response_format":{"type":"json_schema","json_schema":{"name":"d","strict":true,"schema":)"
                           R"({"type":"object","properties":{"digit":{"type":"integer","minimum":0,"maximum":9}},)"
                           R"("required":["digit"],"additionalProperties":false}}},"max_tokens":64)"));
  ASSERT_EQ(r.status, 200) << r.body;
  ojson rj = r.json();
  const auto& c = rj["choices"][0];
  EXPECT_EQ(c["finish_reason"], "stop");
  auto answer = ojson::parse(c["message"]["content"].get<std::string>());
  ASSERT_TRUE(answer.is_object()) << r.body;
  EXPECT_GE(answer["digit"].get<int>(), 0);
  EXPECT_LE(answer["digit"].get<int>(), 9);
}

TEST_F(ServerHttp, StreamedChatFollowsTheChunkProtocol) {
  start();
  Reply r = http(port_, "POST", "/v1/chat/completions",
                 chat_body(R"("stream":true,"max_tokens":32,"stream_options":{"include_usage":true})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "text/event-stream");
  auto ev = sse_events(r.body);
  ASSERT_GE(ev.size(), 4u);
  EXPECT_EQ(ev.back(), "[DONE]");
  std::string id = ev[0]["id"];
  EXPECT_EQ(id.rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(ev[0]["choices"][0]["delta"]["role"], "assistant");
  std::string content, finish;
  for (size_t i = 0; i + 2 < ev.size(); ++i) {  // content chunks, then the finish chunk
    EXPECT_EQ(ev[i]["object"], "chat.completion.chunk");
    EXPECT_EQ(ev[i]["id"], id);
    EXPECT_EQ(ev[i]["model"], "tiny");
    ASSERT_EQ(ev[i]["choices"].size(), 1u);
    const auto& ch = ev[i]["choices"][0];
    EXPECT_EQ(ch["index"], 0);
    if (ch["delta"].contains("content")) content += ch["delta"]["content"].get<std::string>();
    EXPECT_FALSE(ch["delta"].contains("tool_calls"));
    if (!ch["finish_reason"].is_null()) {
      EXPECT_EQ(i, ev.size() - 3) << "finish_reason before the last chunk";
      finish = ch["finish_reason"];
    }
  }
  EXPECT_TRUE(finish == "stop" || finish == "length") << finish;
  const auto& usage_chunk = ev[ev.size() - 2];
  EXPECT_TRUE(usage_chunk["choices"].empty());
  EXPECT_EQ(usage_chunk["usage"]["total_tokens"],
            usage_chunk["usage"]["prompt_tokens"].get<int>() + usage_chunk["usage"]["completion_tokens"].get<int>());
}

TEST_F(ServerHttp, StreamedToolCallsAreKeyedByIndexWithTheNameFirst) {
  start();
  Reply r = http(port_, "POST", "/v1/chat/completions",
                 chat_body(std::string(R"("stream":true,"tools":[)") + kFlagTool + R"(],"tool_choice":"required","seed":5)"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto ev = sse_events(r.body);
  ASSERT_GE(ev.size(), 3u);
  EXPECT_EQ(ev.back(), "[DONE]");
  std::map<int, std::string> args;
  std::map<int, std::string> ids;
  std::string finish;
  for (size_t i = 0; i + 1 < ev.size(); ++i) {
    const auto& ch = ev[i]["choices"][0];
    if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
    if (!ch["delta"].contains("tool_calls")) continue;
    for (const auto& tc : ch["delta"]["tool_calls"]) {
      int idx = tc["index"];
      if (!ids.count(idx)) {  // the first fragment of a call: id, type and name
        ASSERT_TRUE(tc.contains("id")) << tc.dump();
        EXPECT_EQ(tc["type"], "function");
        EXPECT_EQ(tc["function"]["name"], "set_flag");
        ids[idx] = tc["id"];
      } else {
        EXPECT_FALSE(tc.contains("id"));
        EXPECT_FALSE(tc["function"].contains("name"));
      }
      if (tc["function"].contains("arguments")) args[idx] += tc["function"]["arguments"].get<std::string>();
    }
  }
  EXPECT_EQ(finish, "tool_calls");
  ASSERT_FALSE(args.empty());
  for (const auto& [idx, a] : args) {
    auto j = ojson::parse(a);
    EXPECT_TRUE(j["on"].is_boolean()) << a;
  }
}

TEST_F(ServerHttp, ToolResultRoundTripReusesThePrefixCache) {
  start();
  // kNameTool, not kFlagTool: an `enum` in a tool schema under tool_choice "auto" trips a grammars bug
  // (json_schema.cpp finish_enums checks the outer grammar's <|user|> token against its own vocabulary).
  std::string tools = std::string(R"("tools":[)") + kNameTool + "]";
  Reply first = http(port_, "POST", "/v1/chat/completions", chat_body(tools + R"(,"tool_choice":"required","parallel_tool_calls":false)"));
  ASSERT_EQ(first.status, 200) << first.body;
  ojson call = first.json()["choices"][0]["message"]["tool_calls"][0];
  ojson req = ojson::parse(chat_body(tools + R"(,"max_tokens":16)"));
  req["messages"].push_back({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", ojson::array({call})}});
  req["messages"].push_back({{"role", "tool"}, {"tool_call_id", call["id"]}, {"content", "{\"ok\":true}"}});
  Reply second = http(port_, "POST", "/v1/chat/completions", req.dump());
  ASSERT_EQ(second.status, 200) << second.body;
  ojson u = second.json()["usage"];
  EXPECT_GT(u["prompt_tokens_details"]["cached_tokens"].get<int>(), first.json()["usage"]["prompt_tokens"].get<int>() / 2);
}

TEST_F(ServerHttp, RawCompletionMatchesSpecialTokensInThePrompt) {
  start();
  // [gMASK] <sop> <|user|> \n h i <|assistant|>: 7 ids when the special strings are matched.
  Reply r = http(port_, "POST", "/v1/completions",
                 R"({"model":"tiny","prompt":"[gMASK]<sop><|user|>\nhi<|assistant|>","max_tokens":8,"echo":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  ojson j = r.json();
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  EXPECT_EQ(j["usage"]["prompt_tokens"], 7);
  EXPECT_LE(j["usage"]["completion_tokens"].get<int>(), 8);
  EXPECT_EQ(j["choices"][0]["text"].get<std::string>().rfind("[gMASK]<sop><|user|>\nhi<|assistant|>", 0), 0u);
  EXPECT_TRUE(j["choices"][0]["finish_reason"] == "stop" || j["choices"][0]["finish_reason"] == "length");
  Reply s = http(port_, "POST", "/v1/completions", R"({"prompt":"[gMASK]<sop>abc","max_tokens":6,"stream":true})");
  ASSERT_EQ(s.status, 200);
  auto ev = sse_events(s.body);
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(ev.back(), "[DONE]");
  EXPECT_EQ(ev[0]["object"], "text_completion");
  EXPECT_FALSE(ev[ev.size() - 2]["choices"][0]["finish_reason"].is_null());
}

TEST_F(ServerHttp, ModelsHealthAndMetrics) {
  start();
  Reply m = http(port_, "GET", "/v1/models");
  ASSERT_EQ(m.status, 200);
  ojson j = m.json();
  EXPECT_EQ(j["object"], "list");
  EXPECT_EQ(j["data"][0]["id"], "tiny");
  EXPECT_EQ(j["data"][0]["object"], "model");
  EXPECT_TRUE(j["data"][0]["created"].is_number_integer());
  EXPECT_EQ(j["data"][0]["owned_by"], "glm-agent");
  EXPECT_EQ(http(port_, "GET", "/v1/models/tiny").status, 200);
  expect_error_shape(http(port_, "GET", "/v1/models/other"), 404);
  Reply h = http(port_, "GET", "/health");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.json()["status"], "ok");
  ASSERT_EQ(http(port_, "POST", "/v1/chat/completions", chat_body(R"("max_tokens":4)")).status, 200);
  Reply x = http(port_, "GET", "/metrics");
  EXPECT_EQ(x.status, 200);
  EXPECT_EQ(x.headers["content-type"], "text/plain; version=0.0.4");
  for (const char* name : {"glm_http_requests_total", "glm_prompt_tokens_total", "glm_completion_tokens_total",
                           "glm_request_tokens_per_second", "glm_engine_queue_depth", "glm_prefix_cache_hit_ratio",
                           "glm_in_flight_requests", "glm_kv_cache_tokens", "glm_kv_cache_bytes"})
    EXPECT_NE(x.body.find(std::string("# TYPE ") + name + " "), std::string::npos) << name;
  EXPECT_GT(metric("glm_kv_cache_tokens"), 0);  // the finished request's KV stays for prefix reuse
  EXPECT_GT(metric("glm_kv_cache_bytes"), metric("glm_kv_cache_tokens"));
  EXPECT_GT(metric("glm_prompt_tokens_total"), 0);
  EXPECT_GT(metric("glm_completion_tokens_total"), 0);
}

TEST_F(ServerHttp, BadInputGetsOpenAIErrorsNeverADroppedConnection) {
  start([](Services&, ServerOptions& o) { o.max_body_bytes = 4096; });
  expect_error_shape(http(port_, "POST", "/v1/chat/completions", "{not json"), 400);
  expect_error_shape(http(port_, "POST", "/v1/chat/completions", R"({"messages":"hi"})"), 400);
  expect_error_shape(http(port_, "POST", "/v1/chat/completions", chat_body(R"("temperature":"hot")")), 400);
  expect_error_shape(http(port_, "POST", "/v1/chat/completions", chat_body(R"("n":3)")), 400);
  expect_error_shape(http(port_, "POST", "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"\xc3\x28\"}]}"), 400);
  Reply big = http(port_, "POST", "/v1/chat/completions", chat_body("\"pad\":\"" + std::string(10000, 'x') + "\""));
  expect_error_shape(big, 413);
  expect_error_shape(http(port_, "GET", "/v1/nothing"), 404);
  expect_error_shape(http(port_, "GET", "/v1/chat/completions"), 405);
  expect_error_shape(send_raw(port_, "BLAH\r\n\r\n"), 400);
  expect_error_shape(http(port_, "POST", "/v1/agents/none/runs", R"({"task":"x"})"), 404);
  // The server is still fine.
  EXPECT_EQ(http(port_, "GET", "/health").status, 200);
}

TEST_F(ServerHttp, PromptPastTheContextIs400ContextLengthExceeded) {
  start();
  ojson req = ojson::parse(chat_body(""));
  req["messages"][1]["content"] = std::string(3000, 'x');
  Reply r = http(port_, "POST", "/v1/chat/completions", req.dump());
  expect_error_shape(r, 400);
  EXPECT_EQ(r.json()["error"]["code"], "context_length_exceeded");
}

TEST_F(ServerHttp, ApiKeyIsRequiredWhenConfigured) {
  start([](Services& s, ServerOptions&) { s.config.api_key = "sekret"; });
  Reply none = http(port_, "GET", "/v1/models");
  expect_error_shape(none, 401);
  EXPECT_EQ(none.json()["error"]["code"], "invalid_api_key");
  expect_error_shape(http(port_, "GET", "/v1/models", "", "Authorization: Bearer wrong\r\n"), 401);
  EXPECT_EQ(http(port_, "GET", "/v1/models", "", "Authorization: Bearer sekret\r\n").status, 200);
  EXPECT_EQ(http(port_, "GET", "/health").status, 200);
}

// A call whose arguments must hold a long string: in flight for a while (about 170 ms on the CI machine, well past
// the server's 25 ms disconnect poll).
std::string long_call_body(bool stream) {
  return chat_body(std::string(R"("stream":)") + (stream ? "true" : "false") +
                   R"(,"max_tokens":1900,"tool_choice":"required","tools":[{"type":"function","function":{"name":"w",)"
                   R"("parameters":{"type":"object","properties":{"s":{"type":"string","minLength":1800}},"required":["s"]}}}])");
}

TEST_F(ServerHttp, DisconnectCancelsTheGenerationAndFullQueueIs429) {
  start([](Services& s, ServerOptions&) { s.config.max_in_flight = 1; });
  int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  send_all(fd, raw_request("POST", "/v1/chat/completions", long_call_body(true)));
  std::string got;
  char buf[4096];
  while (got.find("\"tool_calls\"") == std::string::npos) {  // the call has started streaming
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << got;
    got.append(buf, static_cast<size_t>(n));
  }
  Reply busy = http(port_, "POST", "/v1/chat/completions", chat_body(R"("max_tokens":4)"));
  expect_error_shape(busy, 429);
  ::close(fd);  // the client goes away mid-stream
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (metric("glm_cancelled_total") < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(metric("glm_cancelled_total"), 1);
  EXPECT_EQ(metric("glm_in_flight_requests"), 0);
  EXPECT_EQ(http(port_, "POST", "/v1/chat/completions", chat_body(R"("max_tokens":4)")).status, 200);
}

TEST_F(ServerHttp, NonStreamingDisconnectAlsoCancels) {
  start();
  int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  send_all(fd, raw_request("POST", "/v1/chat/completions", long_call_body(false)));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  ::close(fd);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (metric("glm_in_flight_requests") != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(metric("glm_in_flight_requests"), 0);
  EXPECT_EQ(metric("glm_cancelled_total"), 1);
}

TEST_F(ServerHttp, ConcurrentClientsAllGetWellFormedAnswers) {
  start();
  constexpr int kClients = 8;
  std::vector<Reply> replies(kClients);
  std::vector<std::thread> ts;
  for (int i = 0; i < kClients; ++i)
    ts.emplace_back([&, i] {
      std::string extra = std::string(R"("tools":[)") + kFlagTool + R"(],"tool_choice":"required","seed":)" + std::to_string(i);
      if (i % 2) extra += R"(,"stream":true)";
      replies[i] = http(port_, "POST", "/v1/chat/completions", chat_body(extra));
    });
  for (auto& t : ts) t.join();
  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(replies[i].status, 200) << replies[i].body;
    if (i % 2) {
      auto ev = sse_events(replies[i].body);
      EXPECT_EQ(ev.back(), "[DONE]");
      EXPECT_EQ(ev[ev.size() - 2]["choices"][0]["finish_reason"], "tool_calls");
    } else {
      EXPECT_EQ(replies[i].json()["choices"][0]["finish_reason"], "tool_calls");
    }
  }
}

TEST_F(ServerHttp, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  std::string req = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  send_all(fd, req + req + "GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string raw;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<size_t>(n));
  ::close(fd);
  size_t count = 0;
  for (size_t p = raw.find("HTTP/1.1 200"); p != std::string::npos; p = raw.find("HTTP/1.1 200", p + 1)) ++count;
  EXPECT_EQ(count, 3u) << raw;
}

TEST_F(ServerHttp, AgentsAreListedAndRun) {
  fs::path repo = fs::path(__FILE__).parent_path().parent_path().parent_path();
  std::string dir = glm::testing::make_temp_dir("glm-server-agents");
  {
    std::ofstream(dir + "/calc.json")
        << R"({"name":"calc","description":"d","model":{"context":2048},"system":"s","tools":[{"type":"lua","name":"calc",)"
        << R"("description":"c","parameters":{"type":"object","properties":{"expression":{"type":"string","maxLength":12}},)"
        << R"("required":["expression"],"additionalProperties":false},"script":")"
        << (repo / "examples/tools/calc.lua").string() << R"("}],"limits":{"max_steps":2,"max_tokens":200}})";
    std::ofstream(dir + "/broken.json") << R"({"name": 5})";
  }
  start([&](Services& s, ServerOptions&) { s.agents = load_agents(dir); });
  Reply list = http(port_, "GET", "/v1/agents");
  ASSERT_EQ(list.status, 200) << list.body;
  ojson l = list.json();
  ASSERT_EQ(l["data"].size(), 1u);
  EXPECT_EQ(l["data"][0]["name"], "calc");
  EXPECT_EQ(l["data"][0]["tools"][0], "calc");
  ASSERT_EQ(l["invalid"].size(), 1u);
  EXPECT_NE(l["invalid"][0]["file"].get<std::string>().find("broken.json"), std::string::npos);

  Reply run = http(port_, "POST", "/v1/agents/calc/runs", R"({"task":"What is 2+2?"})");
  ASSERT_EQ(run.status, 200) << run.body;
  ojson rj = run.json();
  EXPECT_TRUE(rj.contains("status"));
  EXPECT_TRUE(rj.contains("steps"));
  EXPECT_GE(rj["steps"].get<int>(), 1);

  Reply stream = http(port_, "POST", "/v1/agents/calc/runs", R"({"task":"What is 3+4?","stream":true})");
  ASSERT_EQ(stream.status, 200);
  EXPECT_EQ(stream.headers["content-type"], "text/event-stream");
  auto ev = sse_events(stream.body);
  ASSERT_GE(ev.size(), 3u);
  EXPECT_EQ(ev.front()["type"], "run_start");
  EXPECT_EQ(ev[ev.size() - 2]["type"], "result");
  EXPECT_EQ(ev.back(), "[DONE]");

  Reply nd = http(port_, "POST", "/v1/agents/calc/runs", R"({"task":"1+1","stream":true,"format":"ndjson"})");
  ASSERT_EQ(nd.status, 200);
  EXPECT_EQ(nd.headers["content-type"], "application/x-ndjson");
  EXPECT_EQ(ojson::parse(nd.body.substr(0, nd.body.find('\n')))["type"], "run_start");
  expect_error_shape(http(port_, "POST", "/v1/agents/calc/runs", R"({"task":5})"), 400);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace glm::server

namespace glm::server {
namespace {

// The official OpenAI Python SDK (pinned in requirements.txt, in .venv) against this server, serving the shipped
// demo checkpoint (the real GLM-4 tokenizer layout and chat format, as a user's `glm-agent serve` does).
TEST_F(ServerHttp, OfficialOpenAISdk) {
  fs::path repo = fs::path(__FILE__).parent_path().parent_path().parent_path();
  std::string python = (repo / ".venv/bin/python").string();
  if (!fs::exists(python) || std::system((python + " -c 'import openai' >/dev/null 2>&1").c_str()) != 0)
    GTEST_SKIP() << "the openai package is not installed in .venv (run scripts/install_deps.sh): SDK checks skipped";
  start([](Services& s, ServerOptions&) {
    s.engine = glm::testing::demo_generator();
    s.config.model_name = "glm-agent-demo";
  });
  std::string cmd = python + " " + (repo / "tests/runtime/openai_sdk_test.py").string() +
                    " --model glm-agent-demo --base-url http://127.0.0.1:" + std::to_string(port_) + "/v1 2>&1";
  auto r = glm::testing::run_command(cmd);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto last = r.out.substr(r.out.rfind('{') == std::string::npos ? 0 : r.out.rfind("\n{") + 1);
  auto j = ojson::parse(last, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["ok"], true) << r.out;
}

}  // namespace
}  // namespace glm::server

namespace glm::server {
namespace {

TEST_F(ServerHttp, StopStringsNeverAppearInTheText) {
  start();
  int stopped = 0;
  for (int seed = 1; seed <= 6; ++seed) {
    Reply r = http(port_, "POST", "/v1/completions",
                   R"({"prompt":"[gMASK]<sop>","max_tokens":200,"temperature":1.0,"stop":["a","e","o","t"],"seed":)" +
                       std::to_string(seed) + "}");
    ASSERT_EQ(r.status, 200) << r.body;
    ojson j = r.json();
    std::string text = j["choices"][0]["text"];
    for (char c : std::string("aeot")) EXPECT_EQ(text.find(c), std::string::npos) << text;
    if (j["choices"][0]["finish_reason"] == "stop" && j["usage"]["completion_tokens"].get<int>() < 200) ++stopped;
  }
  EXPECT_GT(stopped, 0);
}

TEST_F(ServerHttp, SameSeedSameAnswerStreamedOrNot) {
  start();
  std::string extra = std::string(R"("tools":[)") + kNameTool + R"(],"tool_choice":"required","seed":9,"temperature":1.0)";
  Reply plain = http(port_, "POST", "/v1/chat/completions", chat_body(extra));
  Reply streamed = http(port_, "POST", "/v1/chat/completions", chat_body(extra + R"(,"stream":true)"));
  ASSERT_EQ(plain.status, 200);
  ASSERT_EQ(streamed.status, 200);
  std::string args;
  for (const auto& ev : sse_events(streamed.body)) {
    if (ev == "[DONE]") continue;
    const auto& d = ev["choices"][0]["delta"];
    if (d.contains("tool_calls") && d["tool_calls"][0]["index"] == 0)
      args += d["tool_calls"][0]["function"].value("arguments", "");
  }
  EXPECT_EQ(args, plain.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"].get<std::string>());
}

TEST(ServeCommand, UsageAndStartupErrors) {
  std::string bin = glm::testing::agent_binary();
  if (!fs::exists(bin)) GTEST_SKIP() << "glm-agent binary not built: " << bin;
  EXPECT_EQ(glm::testing::run_command(bin + " serve --port nope 2>/dev/null").exit_code, 2);
  EXPECT_EQ(glm::testing::run_command(bin + " serve stray 2>/dev/null").exit_code, 2);
  EXPECT_EQ(glm::testing::run_command(bin + " serve --api-key-env GLM_SURELY_UNSET_VAR 2>/dev/null").exit_code, 2);
  auto r = glm::testing::run_command(bin + " serve --model /nonexistent/model 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("/nonexistent/model"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace glm::server

namespace glm::server {
namespace {

TEST_F(ServerHttp, ExpectContinueGetsA100BeforeTheBody) {
  start();
  int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  std::string body = chat_body(R"("max_tokens":2)");
  send_all(fd, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\n"
               "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  char buf[4096];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)).rfind("HTTP/1.1 100 Continue", 0), 0u);
  send_all(fd, body);
  std::string raw;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<size_t>(n));
  ::close(fd);
  EXPECT_EQ(parse_reply(raw).status, 200) << raw;
}

}  // namespace
}  // namespace glm::server
