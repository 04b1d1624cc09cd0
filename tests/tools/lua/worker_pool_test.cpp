// tools/lua/worker_pool.h and tools/lua/lua_tool.h: calls run off the caller's thread, and runaway calls do not
// delay a normal one.
#include "tools/lua/worker_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "tools/lua/lua_tool.h"
#include "tools/registry.h"

namespace glm::tools::lua {
namespace {

using Ms = std::chrono::duration<double, std::milli>;

// Collects completions delivered through a Post that runs the function on the calling (worker) thread's
// behalf via a mutex-protected queue: here "the loop" is the test thread waiting on a condition variable.
struct Inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<int, ToolResult>> got;
  Post post() {
    return [this](std::function<void()> fn) { fn(); };  // results arrive from pool threads; fn locks `mu`
  }
  Completion completion(int id) {
    return [this, id](ToolResult r) {
      std::lock_guard<std::mutex> lk(mu);
      got.emplace_back(id, std::move(r));
      cv.notify_all();
    };
  }
  bool wait_for(int id, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lk(mu);
    return cv.wait_for(lk, timeout, [&] {
      for (auto& g : got)
        if (g.first == id) return true;
      return false;
    });
  }
  ToolResult take(int id) {
    std::lock_guard<std::mutex> lk(mu);
    for (auto& g : got)
      if (g.first == id) return g.second;
    return {};
  }
};

TEST(WorkerPool, RunsJobsOffTheCallerAndGrowsToTheCap) {
  WorkerPool pool({.min_threads = 1, .max_threads = 4});
  std::atomic<int> ran{0};
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::thread::id caller = std::this_thread::get_id();
  for (int i = 0; i < 6; ++i)
    pool.submit([&] {
      EXPECT_NE(std::this_thread::get_id(), caller);
      std::unique_lock<std::mutex> lk(mu);
      cv.wait(lk, [&] { return release; });
      ++ran;
    });
  EXPECT_EQ(pool.threads(), 4);
  {
    std::lock_guard<std::mutex> lk(mu);
    release = true;
  }
  cv.notify_all();
  while (ran.load() < 6) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

TEST(WorkerPool, DestructorFinishesQueuedJobs) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool({.min_threads = 1, .max_threads = 1});
    for (int i = 0; i < 10; ++i) pool.submit([&] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 10);
}

TEST(WorkerPool, MayBeDestroyedByItsOwnJob) {
  auto pool = std::make_shared<WorkerPool>(WorkerPool::Options{.min_threads = 1, .max_threads = 2});
  std::atomic<bool> done{false};
  WorkerPool* raw = pool.get();
  raw->submit([p = std::move(pool), &done]() mutable {
    p.reset();  // drops the last reference on a pool thread
    done = true;
  });
  while (!done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the detached thread exits cleanly
}

std::shared_ptr<LuaTool> make_tool(const std::string& source, std::shared_ptr<WorkerPool> pool,
                                   int64_t deadline_ms = 1000) {
  LuaLimits l;
  l.deadline_ms = deadline_ms;
  auto t = LuaTool::create(source, std::nullopt, l, LuaCapabilities::pure(), std::move(pool));
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().to_string());
  return t.ok() ? *t : nullptr;
}

TEST(LuaTool, EightRunawayCallsDoNotDelayANinth) {
  auto pool = std::make_shared<WorkerPool>(WorkerPool::Options{.min_threads = 2, .max_threads = 32});
  ToolRegistry reg;
  ASSERT_TRUE(reg.add(make_tool(R"(tool = {name = "spin"} function run(args) while true do pcall(function() while true do end end) end end)",
                                pool)).ok());
  ASSERT_TRUE(reg.add(make_tool(R"(tool = {name = "add", parameters = {type = "object"}}
                                   function run(args) return args.a + args.b end)", pool)).ok());
  Inbox inbox;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 8; ++i) reg.dispatch("spin", Json::object(), inbox.post(), inbox.completion(i));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the runaways are running now
  auto t1 = std::chrono::steady_clock::now();
  reg.dispatch("add", Json{{"a", 2}, {"b", 3}}, inbox.post(), inbox.completion(100));
  ASSERT_TRUE(inbox.wait_for(100, std::chrono::milliseconds(2000)));
  double ninth_ms = Ms(std::chrono::steady_clock::now() - t1).count();
  ToolResult r = inbox.take(100);
  ASSERT_TRUE(r.ok) << r.to_json().dump();
  EXPECT_EQ(r.content, 5);
  EXPECT_LT(ninth_ms, 150.0) << "the 9th call waited behind the runaways";
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(inbox.wait_for(i, std::chrono::milliseconds(3000)));
    ToolResult s = inbox.take(i);
    EXPECT_FALSE(s.ok);
    EXPECT_EQ(s.error.kind, ErrorCode::timeout);
  }
  // The runaways ended by their deadline (1 s) plus the overshoot, even 8 at once on a small machine.
  EXPECT_LT(Ms(std::chrono::steady_clock::now() - t0).count(), 1000.0 + 8 * 200.0);
}

TEST(LuaTool, SelfDescribingScript) {
  auto pool = std::make_shared<WorkerPool>();
  auto t = make_tool(R"(
    tool = {name = "greet", description = "Says hello",
            parameters = {type = "object", properties = {who = {type = "string"}}, required = {"who"}}}
    function run(args) print("greeting", args.who) return "hello " .. args.who end)", pool);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->spec().name, "greet");
  EXPECT_EQ(t->spec().description, "Says hello");
  EXPECT_EQ(t->spec().parameters["required"], Json::array({"who"}));
  ToolRegistry reg;
  ASSERT_TRUE(reg.add(t).ok());
  Inbox inbox;
  reg.dispatch("greet", Json{{"who", "ann"}}, inbox.post(), inbox.completion(1));
  ASSERT_TRUE(inbox.wait_for(1, std::chrono::milliseconds(2000)));
  ToolResult r = inbox.take(1);
  ASSERT_TRUE(r.ok) << r.to_json().dump();
  EXPECT_EQ(r.content, (Json{{"result", "hello ann"}, {"output", "greeting\tann\n"}}));
}

TEST(LuaTool, SpecFromConfigAndErrors) {
  auto pool = std::make_shared<WorkerPool>();
  ToolSpec spec{"calc", "adds", Json{{"type", "object"}}};
  auto ok = LuaTool::create("function run(a) return a.x * 2 end", spec, LuaLimits{}, LuaCapabilities{}, pool);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)->spec().name, "calc");

  auto syntax = LuaTool::create("function run(", spec, LuaLimits{}, LuaCapabilities{}, pool);
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.error().code, ErrorCode::syntax);
  auto no_run = LuaTool::create("x = 1", spec, LuaLimits{}, LuaCapabilities{}, pool);
  ASSERT_FALSE(no_run.ok());
  EXPECT_EQ(no_run.error().code, ErrorCode::invalid_argument);
  auto no_spec = LuaTool::create("function run() end", std::nullopt, LuaLimits{}, LuaCapabilities{}, pool);
  ASSERT_FALSE(no_spec.ok());
  EXPECT_EQ(no_spec.error().code, ErrorCode::invalid_argument);

  Inbox inbox;
  ToolRegistry reg;
  ASSERT_TRUE(reg.add(*ok).ok());
  reg.dispatch("calc", Json{{"x", "not a number"}}, inbox.post(), inbox.completion(7));
  ASSERT_TRUE(inbox.wait_for(7, std::chrono::milliseconds(2000)));
  ToolResult r = inbox.take(7);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.kind, ErrorCode::runtime);
}

TEST(LuaTool, CancelEndsARunningCall) {
  auto pool = std::make_shared<WorkerPool>();
  auto t = make_tool("tool = {name = 'spin'} function run() while true do end end", pool, 10000);
  ASSERT_TRUE(t);
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  Inbox inbox;
  auto t0 = std::chrono::steady_clock::now();
  t->invoke(Json::object(), CallContext{cancel}, inbox.completion(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  cancel->store(true);
  ASSERT_TRUE(inbox.wait_for(1, std::chrono::milliseconds(2000)));
  EXPECT_EQ(inbox.take(1).error.kind, ErrorCode::cancelled);
  EXPECT_LT(Ms(std::chrono::steady_clock::now() - t0).count(), 500.0);
}

}  // namespace
}  // namespace glm::tools::lua
