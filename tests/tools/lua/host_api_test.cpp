// tools/lua/host_api.h: json, re, log, time and the workspace fs module, including its confinement.
#include "tools/lua/host_api.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/test_util.h"
#include "tests/tools/lua/lua_test_util.h"

namespace glm::tools::lua {
namespace {

using testing::describe;
using testing::expect_alive;
using testing::fast_limits;
using testing::run;

nlohmann::json ok_result(std::string_view code, const LuaCapabilities& caps = LuaCapabilities::pure()) {
  LuaOutcome r = run(code, fast_limits(), caps);
  EXPECT_TRUE(r.ok) << describe(r);
  return r.result;
}

TEST(LuaHostApi, JsonRoundTrip) {
  EXPECT_EQ(ok_result(R"(
    local v = json.decode('{"a": [1, 2.0, "x", null, true], "b": {"c": -3}}')
    return {math.type(v.a[1]), math.type(v.a[2]), v.a[4] == json.null, json.encode(v.b), json.encode({1, 2})})"),
            nlohmann::json::parse(R"(["integer", "float", true, "{\"c\":-3}", "[1,2]"])"));
}

TEST(LuaHostApi, JsonErrors) {
  LuaOutcome bad = run("return json.decode('{')");
  EXPECT_LUA_ERROR(bad, ErrorCode::runtime);
  LuaOutcome deep = run("return json.decode(('['):rep(1000) .. (']'):rep(1000))");
  EXPECT_LUA_ERROR(deep, ErrorCode::runtime);
  EXPECT_NE(deep.error.message.find("deeper"), std::string::npos) << describe(deep);
  LuaOutcome cyc = run("local t = {} t.t = t return json.encode(t)");
  EXPECT_LUA_ERROR(cyc, ErrorCode::runtime);
  EXPECT_EQ(ok_result("local ok = pcall(json.encode, print) return ok"), false);
  expect_alive();
}

TEST(LuaHostApi, Re2FindMatchGsub) {
  EXPECT_EQ(ok_result(R"lua(
    local out = {}
    out[1] = {re.find("hello world", "o (w)")}
    out[2] = {re.match("key=value", "(\\w+)=(\\w+)")}
    out[3] = re.match("abc", "b")
    out[4] = {re.gsub("a1b22c", "\\d+", "#")}
    out[5] = {re.gsub("x=1, y=2", "(\\w)=(\\d)", "\\2=\\1")}
    out[6] = {re.gsub("a b", "\\w", function(m) return m:upper() end)}
    out[7] = {re.gsub("abc", "", "-")}
    out[8] = re.match("abc", "z") == nil
    return out)lua"),
            nlohmann::json::parse(R"([[5, 7, "w"], ["key", "value"], "b", ["a#b#c", 2], ["1=x, 2=y", 2],
                                      ["A B", 2], ["-a-b-c-", 4], true])"));
}

TEST(LuaHostApi, Re2IsLinearWherePatternsBacktrack) {
  LuaOutcome r = run("return re.find(('a'):rep(100000), '(.*)*(.*)*(.*)*b')", fast_limits(1000));
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.result, nullptr);
  EXPECT_LT(r.elapsed_ms, 300.0);
  LuaOutcome bad = run("return re.find('a', '(')");
  EXPECT_LUA_ERROR(bad, ErrorCode::runtime);
  EXPECT_NE(bad.error.message.find("invalid pattern"), std::string::npos);
}

TEST(LuaHostApi, GsubWithACFunctionIsStillBoundedByTheDeadline) {
  LuaLimits l = fast_limits(200);
  LuaOutcome r = run(R"(
    local s = ('a'):rep(4e6)
    while true do re.gsub(s, "", type) end)", l);
  EXPECT_LUA_ERROR(r, ErrorCode::timeout);
  EXPECT_WITHIN_LIMIT(r, l);
  expect_alive();
}

TEST(LuaHostApi, LogLinesAreKeptAndCapped) {
  LuaOutcome r = run("log.info('a', 1) log.warn('b') return 0");
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.logs, nlohmann::json::parse(R"([{"level": "info", "message": "a 1"}, {"level": "warn", "message": "b"}])"));
  LuaOutcome flood = run("while true do log.info(('x'):rep(1000)) end");
  EXPECT_LUA_ERROR(flood, ErrorCode::output);
  // Logs and prints share the cap; the printed text keeps what fits, never more.
  LuaOutcome mixed = run("log.info(('x'):rep(60000)) print(('y'):rep(10000))");
  EXPECT_LUA_ERROR(mixed, ErrorCode::output);
  EXPECT_EQ(mixed.output, std::string(64 * 1024 - 60000, 'y'));
  expect_alive();
}

TEST(LuaHostApi, Time) {
  nlohmann::json r = ok_result("return {time.now() > 1.7e9, time.elapsed_ms() >= 0, time.remaining_ms() <= 200}");
  EXPECT_EQ(r, nlohmann::json::parse("[true, true, true]"));
}

TEST(LuaHostApi, CapabilitiesFromJson) {
  auto c = capabilities_from_json(nlohmann::json::parse(R"(["json", "re"])"));
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->json && c->re && !c->log && !c->time);
  auto o = capabilities_from_json(nlohmann::json::parse(R"({"time": true, "workspace": "/tmp", "workspace_write": true})"));
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->time && o->workspace == "/tmp" && o->workspace_write);
  EXPECT_FALSE(capabilities_from_json(nlohmann::json::parse(R"(["net"])")).ok());
  EXPECT_FALSE(capabilities_from_json(nlohmann::json::parse(R"({"os": true})")).ok());
}

class LuaWorkspace : public ::testing::Test {
 protected:
  void SetUp() override {
    namespace fs = std::filesystem;
    base_ = glm::testing::make_temp_dir("glm-lua-ws");
    root_ = base_ + "/ws";
    fs::create_directories(root_ + "/sub");
    std::ofstream(root_ + "/a.txt") << "alpha";
    std::ofstream(root_ + "/sub/b.txt") << "beta";
    std::ofstream(base_ + "/secret.txt") << "secret";
    fs::create_symlink(base_ + "/secret.txt", root_ + "/link.txt");
    fs::create_directory_symlink(base_, root_ + "/up");
    ::mkfifo((root_ + "/fifo").c_str(), 0600);
    caps_ = LuaCapabilities::pure();
    caps_.workspace = root_;
  }
  void TearDown() override { std::filesystem::remove_all(base_); }

  LuaOutcome run_ws(std::string_view code) { return run(code, fast_limits(), caps_); }

  std::string base_, root_;
  LuaCapabilities caps_;
};

TEST_F(LuaWorkspace, ReadsListsAndChecks) {
  LuaOutcome r = run_ws(R"(
    return {fs.read("a.txt"), fs.read("sub/b.txt"), fs.read("./sub//b.txt"), fs.exists("a.txt"),
            fs.exists("nope"), fs.exists("sub"), fs.list(), fs.list("sub"), select(2, fs.read("missing"))})");
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.result, nlohmann::json::parse(R"(["alpha", "beta", "beta", true, false, true,
      ["a.txt", "fifo", "link.txt", "sub", "up"], ["b.txt"], "not found: missing"])"));
}

TEST_F(LuaWorkspace, EscapesAreForbidden) {
  for (const char* code : {"return fs.read('../secret.txt')", "return fs.read('sub/../../secret.txt')",
                           "return fs.read('/etc/passwd')", "return fs.read('link.txt')",
                           "return fs.read('up/secret.txt')", "return fs.list('up')", "return fs.read('fifo')",
                           "return fs.read('sub')", "return fs.read('a.txt\\0x')",
                           "return fs.write('new.txt', 'x')"}) {
    LuaOutcome r = run_ws(code);
    EXPECT_LUA_ERROR(r, ErrorCode::forbidden);
    EXPECT_LT(r.elapsed_ms, 100.0) << code;  // the FIFO open must not block
  }
  EXPECT_FALSE(std::filesystem::exists(root_ + "/new.txt"));
}

TEST_F(LuaWorkspace, WriteOnlyWhenGrantedAndNeverThroughSymlinks) {
  caps_.workspace_write = true;
  LuaOutcome r = run_ws("fs.write('sub/new.txt', 'made') return fs.read('sub/new.txt')");
  ASSERT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.result, "made");
  LuaOutcome link = run_ws("return fs.write('link.txt', 'overwritten')");
  EXPECT_LUA_ERROR(link, ErrorCode::forbidden);
  LuaOutcome up = run_ws("return fs.write('up/evil.txt', 'x')");
  EXPECT_LUA_ERROR(up, ErrorCode::forbidden);
  std::ifstream secret(base_ + "/secret.txt");
  std::string s((std::istreambuf_iterator<char>(secret)), std::istreambuf_iterator<char>());
  EXPECT_EQ(s, "secret");
  EXPECT_FALSE(std::filesystem::exists(base_ + "/evil.txt"));
}

TEST_F(LuaWorkspace, NoFsWithoutAWorkspace) {
  LuaOutcome r = run("return fs == nil");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.result, true);
}

}  // namespace
}  // namespace glm::tools::lua
