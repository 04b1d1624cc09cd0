#include "runtime/agent/openai_generator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <future>
#include <thread>

namespace glm::agent {
namespace {

// A one-connection-at-a-time HTTP server on loopback that answers every request with `reply` (status 200
// unless given) and records the request bodies.
class FakeServer {
 public:
  FakeServer(std::vector<std::pair<int, std::string>> replies) : replies_(std::move(replies)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  std::vector<std::string> bodies;
  std::vector<std::string> heads;

 private:
  void serve() {
    for (size_t i = 0; i < replies_.size(); ++i) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      size_t need = std::string::npos;
      while (true) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
        auto he = req.find("\r\n\r\n");
        if (he != std::string::npos && need == std::string::npos) {
          auto cl = req.find("Content-Length: ");
          need = he + 4 + (cl == std::string::npos ? 0 : std::stoul(req.substr(cl + 16)));
        }
        if (need != std::string::npos && req.size() >= need) break;
      }
      auto he = req.find("\r\n\r\n");
      heads.push_back(req.substr(0, he));
      bodies.push_back(he == std::string::npos ? "" : req.substr(he + 4));
      std::string body = replies_[i].second;
      std::string resp = "HTTP/1.1 " + std::to_string(replies_[i].first) + " X\r\nContent-Type: application/json\r\n"
                         "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      (void)::write(c, resp.data(), resp.size());
      ::close(c);
    }
  }
  int fd_ = -1;
  int port_ = 0;
  std::vector<std::pair<int, std::string>> replies_;
  std::thread thread_;
};

Result<TurnResult> generate(OpenAIGenerator& g, TurnRequest r) {
  std::promise<Result<TurnResult>> p;
  auto f = p.get_future();
  g.generate(std::move(r), [&p](Result<TurnResult> x) { p.set_value(std::move(x)); });
  return f.get();
}

TurnRequest history() {
  TurnRequest r;
  r.messages = {chat::Message::system("sys"), chat::Message::user("q"),
                chat::Message::assistant("", {{"calc", "{\"expression\": \"1+1\"}"}, {"calc", "{\"expression\": \"2+2\"}"}}),
                chat::Message::observation("2"), chat::Message::observation("4")};
  r.tools = {{"calc", R"({"name":"calc","description":"d","parameters":{"type":"object"}})"}};
  r.max_tokens = 100;
  return r;
}

TEST(OpenAIGenerator, RequestUsesOpenAIShapesAndPairsResultsWithCallIds) {
  auto body = nlohmann::json::parse(OpenAIGenerator::request_body(history(), "glm-4"));
  EXPECT_EQ(body["model"], "glm-4");
  const auto& m = body["messages"];
  ASSERT_EQ(m.size(), 5u);
  EXPECT_TRUE(m[2]["content"].is_null());
  EXPECT_EQ(m[2]["tool_calls"][1]["function"]["arguments"], "{\"expression\": \"2+2\"}");
  EXPECT_EQ(m[3]["role"], "tool");
  EXPECT_EQ(m[3]["tool_call_id"], m[2]["tool_calls"][0]["id"]);
  EXPECT_EQ(m[4]["tool_call_id"], m[2]["tool_calls"][1]["id"]);
  EXPECT_EQ(body["tools"][0]["function"]["name"], "calc");
  EXPECT_EQ(body["tool_choice"], "auto");
}

TEST(OpenAIGenerator, RoundTripAgainstALocalServer) {
  FakeServer s({{200, R"({"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant",)"
                      R"("content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"calc",)"
                      R"("arguments":"{\"expression\":\"3*3\"}"}}]},"finish_reason":"tool_calls"}],)"
                      R"("usage":{"prompt_tokens":50,"completion_tokens":9,"total_tokens":59,)"
                      R"("prompt_tokens_details":{"cached_tokens":40}}})"},
                {500, R"({"error":{"message":"boom"}})"},
                {200, R"({"choices":[{"message":{"tool_calls":[{"function":{"name":"calc","arguments":"[1]"}}]}}]})"}});
  OpenAIGenerator g({s.url(), "sk-test", "m", 4096, 10});
  auto r = generate(g, history());
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->turn.tool_calls.size(), 1u);
  EXPECT_EQ(r->turn.tool_calls[0].arguments, "{\"expression\":\"3*3\"}");
  EXPECT_EQ(r->prompt_tokens, 50);
  EXPECT_EQ(r->cached_tokens, 40);
  EXPECT_NE(s.heads[0].find("Authorization: Bearer sk-test"), std::string::npos);
  EXPECT_NE(s.heads[0].find("POST /v1/chat/completions"), std::string::npos);

  auto err = generate(g, history());
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.error().code, ErrorCode::unavailable);
  EXPECT_NE(err.error().message.find("HTTP 500"), std::string::npos);

  auto bad = generate(g, history());
  ASSERT_TRUE(bad.ok());
  ASSERT_TRUE(bad->parse_error.has_value());
  EXPECT_NE(bad->parse_error->message.find("not a JSON object"), std::string::npos);
}

TEST(OpenAIGenerator, ConnectionRefusedIsUnavailable) {
  OpenAIGenerator g({"http://127.0.0.1:1/v1", "", "m", 0, 5});
  auto r = generate(g, history());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::unavailable);
}

}  // namespace
}  // namespace glm::agent
