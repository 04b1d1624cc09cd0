// tools/registry.h: dispatch completes exactly once, through the caller's executor, never inline.
#include "tools/registry.h"

#include <atomic>
#include <deque>
#include <functional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

namespace glm::tools {
namespace {

// A manual executor: queued functions run only when drain() is called.
struct ManualLoop {
  std::deque<std::function<void()>> q;
  Post post() {
    return [this](std::function<void()> fn) { q.push_back(std::move(fn)); };
  }
  int drain() {
    int n = 0;
    while (!q.empty()) {
      auto fn = std::move(q.front());
      q.pop_front();
      fn();
      ++n;
    }
    return n;
  }
};

// A tool whose behaviour each test sets.
class FakeTool : public Tool {
 public:
  FakeTool(std::string name, std::function<void(Json, Completion)> body, Json params = Json::object())
      : spec_{std::move(name), "fake", std::move(params)}, body_(std::move(body)) {}
  const ToolSpec& spec() const override { return spec_; }
  void invoke(Json args, CallContext, Completion done) override { body_(std::move(args), std::move(done)); }

 private:
  ToolSpec spec_;
  std::function<void(Json, Completion)> body_;
};

std::shared_ptr<Tool> echo_tool() {
  return std::make_shared<FakeTool>("echo", [](Json a, Completion done) { done(ToolResult::success(a)); });
}

TEST(ToolRegistry, AddRejectsBadAndDuplicateNames) {
  ToolRegistry reg;
  ASSERT_TRUE(reg.add(echo_tool()).ok());
  Status dup = reg.add(echo_tool());
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::invalid_argument);
  Status bad = reg.add(std::make_shared<FakeTool>("has space", [](Json, Completion) {}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(reg.size(), 1u);
  EXPECT_EQ(reg.specs()[0].name, "echo");
}

TEST(ToolRegistry, InlineAnswerIsStillDeliveredAsynchronously) {
  ToolRegistry reg;
  ASSERT_TRUE(reg.add(echo_tool()).ok());
  ManualLoop loop;
  int calls = 0;
  ToolResult got;
  reg.dispatch("echo", Json{{"x", 1}}, loop.post(), [&](ToolResult r) {
    ++calls;
    got = std::move(r);
  });
  EXPECT_EQ(calls, 0);  // never inline
  EXPECT_EQ(loop.drain(), 1);
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(got.ok);
  EXPECT_EQ(got.content, (Json{{"x", 1}}));
}

TEST(ToolRegistry, UnknownToolCompletesWithNotFound) {
  ToolRegistry reg;
  ManualLoop loop;
  int calls = 0;
  reg.dispatch("nope", Json::object(), loop.post(), [&](ToolResult r) {
    ++calls;
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error.kind, ErrorCode::not_found);
  });
  EXPECT_EQ(calls, 0);
  loop.drain();
  EXPECT_EQ(calls, 1);
}

TEST(ToolRegistry, SecondCompletionIsDropped) {
  ToolRegistry reg;
  ASSERT_TRUE(reg.add(std::make_shared<FakeTool>("twice", [](Json, Completion done) {
    done(ToolResult::success("first"));
    done(ToolResult::success("second"));
  })).ok());
  ManualLoop loop;
  std::vector<Json> got;
  reg.dispatch("twice", Json::object(), loop.post(), [&](ToolResult r) { got.push_back(r.content); });
  loop.drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "first");
}

TEST(ToolRegistry, DroppedCompletionBecomesAnInternalError) {
  ToolRegistry reg;
  ASSERT_TRUE(reg.add(std::make_shared<FakeTool>("forgetful", [](Json, Completion) {})).ok());
  ManualLoop loop;
  std::vector<ToolResult> got;
  reg.dispatch("forgetful", Json::object(), loop.post(), [&](ToolResult r) { got.push_back(std::move(r)); });
  loop.drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].ok);
  EXPECT_EQ(got[0].error.kind, ErrorCode::internal);
}

TEST(ToolRegistry, ArgumentsAreCheckedAgainstTheSchema) {
  Json schema = Json::parse(R"({"type": "object", "properties": {"q": {"type": "string", "maxLength": 5},
                                "n": {"type": "integer", "minimum": 1}},
                                "required": ["q"], "additionalProperties": false})");
  ToolRegistry reg;
  ASSERT_TRUE(reg.add(std::make_shared<FakeTool>("s", [](Json a, Completion done) { done(ToolResult::success(a)); },
                                                 schema)).ok());
  ManualLoop loop;
  auto call = [&](const char* args) {
    ToolResult out;
    reg.dispatch("s", Json::parse(args), loop.post(), [&](ToolResult r) { out = std::move(r); });
    loop.drain();
    return out;
  };
  EXPECT_TRUE(call(R"({"q": "abc", "n": 2})").ok);
  for (const char* bad : {R"({})", R"({"q": 1})", R"({"q": "abcdef"})", R"({"q": "a", "n": 0})",
                          R"({"q": "a", "n": 1.5})", R"({"q": "a", "extra": 1})", R"([1])"}) {
    ToolResult r = call(bad);
    EXPECT_FALSE(r.ok) << bad;
    EXPECT_EQ(r.error.kind, ErrorCode::invalid_argument) << bad;
  }
  EXPECT_NE(call(R"({"q": 1})").error.message.find("/q"), std::string::npos);
}

TEST(ToolRegistry, CompletesOnAnAsioIoContextFromAnotherThread) {
  ToolRegistry reg;
  ASSERT_TRUE(reg.add(std::make_shared<FakeTool>("bg", [](Json a, Completion done) {
    std::thread([a, done = std::move(done)]() mutable { done(ToolResult::success(a)); }).detach();
  })).ok());
  boost::asio::io_context ioc;
  Post post = [ex = ioc.get_executor()](std::function<void()> fn) { boost::asio::post(ex, std::move(fn)); };
  std::thread::id loop_thread = std::this_thread::get_id();
  std::atomic<int> done{0};
  for (int i = 0; i < 4; ++i)
    reg.dispatch("bg", Json{{"i", i}}, post, [&](ToolResult r) {
      EXPECT_TRUE(r.ok);
      EXPECT_EQ(std::this_thread::get_id(), loop_thread);
      ++done;
    });
  auto work = boost::asio::make_work_guard(ioc);
  std::thread stopper([&] {
    while (done.load() < 4) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    work.reset();
  });
  ioc.run();
  stopper.join();
  EXPECT_EQ(done.load(), 4);
}

TEST(ToolResult, JsonShape) {
  EXPECT_EQ(ToolResult::success(Json{{"a", 1}}).to_json(), Json::parse(R"({"ok": true, "content": {"a": 1}})"));
  EXPECT_EQ(ToolResult::failure(ErrorCode::timeout, "late").to_json(),
            Json::parse(R"({"ok": false, "error": {"kind": "timeout", "message": "late"}})"));
}

}  // namespace
}  // namespace glm::tools
