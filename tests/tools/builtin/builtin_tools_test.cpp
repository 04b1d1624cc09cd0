#include "tools/builtin/bm25.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "tests/test_util.h"
#include "tools/builtin/search_tool.h"
#include "tools/builtin/workspace_tools.h"

namespace glm::tools {
namespace {

ToolResult call(Tool& t, Json args) {
  std::promise<ToolResult> p;
  auto f = p.get_future();
  t.invoke(std::move(args), {}, [&p](ToolResult r) { p.set_value(std::move(r)); });
  return f.get();
}

Bm25Index small_index() {
  return Bm25Index::from_documents({{"a.txt", "Lake Vorn", "Lake Vorn is the deepest lake in Estria, 412 metres deep."},
                                    {"b.txt", "Port Salen", "Port Salen was founded in 1722 by Ada Merrow."},
                                    {"c.txt", "Estria", "Estria is a small country. Its capital is Dunmere."}});
}

TEST(Bm25, RanksTheDocumentWithTheQueryTerms) {
  auto idx = small_index();
  auto hits = idx.search("who founded Port Salen", 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(idx.documents()[hits[0].doc].title, "Port Salen");
  auto lake = idx.search("deepest lake", 1);
  ASSERT_EQ(lake.size(), 1u);
  EXPECT_EQ(idx.documents()[lake[0].doc].path, "a.txt");
  EXPECT_TRUE(idx.search("zzzz unknown", 3).empty());
  EXPECT_EQ(Bm25Index::terms("Héllo, 世界 x2"), (std::vector<std::string>{"h", "é", "llo", "世", "界", "x2"}));
}

TEST(Bm25, FolderLoadingAndErrors) {
  std::string dir = glm::testing::make_temp_dir("corpus");
  std::ofstream(dir + "/one.txt") << "Title One\nBody about apples.\n";
  std::filesystem::create_directory(dir + "/sub");
  std::ofstream(dir + "/sub/two.txt") << "Title Two\nBody about pears.\n";
  std::ofstream(dir + "/skip.md") << "not a document";
  auto idx = Bm25Index::from_folder(dir);
  ASSERT_TRUE(idx.ok()) << idx.error().to_string();
  EXPECT_EQ(idx->documents().size(), 2u);
  EXPECT_EQ(idx->documents()[1].path, "sub/two.txt");
  EXPECT_EQ(idx->documents()[1].text, "Body about pears.");
  EXPECT_EQ(Bm25Index::from_folder(dir + "/nope").error().code, ErrorCode::not_found);
  std::string empty = glm::testing::make_temp_dir("corpus-empty");
  EXPECT_EQ(Bm25Index::from_folder(empty).error().code, ErrorCode::invalid_argument);
}

TEST(SearchTool, ReturnsTitleThenTextBestFirst) {
  SearchTool t({"search", "", Json::object()}, std::make_shared<Bm25Index>(small_index()), 2);
  auto r = call(t, {{"query", "Port Salen founded"}});
  ASSERT_TRUE(r.ok);
  ASSERT_TRUE(r.content.is_string());
  std::string s = r.content.get<std::string>();
  EXPECT_EQ(s.rfind("[{\"title\":\"Port Salen\",\"text\":\"Port Salen was founded in 1722 by Ada Merrow.\"}", 0), 0u) << s;
  auto bad = call(t, {{"q", 1}});
  EXPECT_FALSE(bad.ok);
}

class WorkspaceToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = glm::testing::make_temp_dir("ws");
    std::ofstream(root_ + "/mathutil.lua") << "local M = {}\nfunction M.add(a, b) return a - b end\nreturn M\n";
    std::ofstream(root_ + "/test_mathutil.lua")
        << "local m = load(fs.read(\"mathutil.lua\"), \"=mathutil.lua\")()\n"
           "test(\"add\", function() assert_eq(m.add(2, 3), 5) end)\n"
           "test(\"zero\", function() assert_eq(m.add(0, 0), 0) end)\n";
    pool_ = std::make_shared<lua::WorkerPool>();
  }
  std::shared_ptr<Tool> tool(const std::string& op) {
    auto t = make_workspace_tool(op, ToolSpec{op, "", Json::object()}, root_, lua::LuaLimits{}, pool_);
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().to_string());
    return t.ok() ? *t : nullptr;
  }
  std::string root_;
  std::shared_ptr<lua::WorkerPool> pool_;
};

TEST_F(WorkspaceToolsTest, FindFixAndRetestABug) {
  auto list = call(*tool("list_files"), Json::object());
  ASSERT_TRUE(list.ok) << list.error.message;
  EXPECT_EQ(list.content, "[\"mathutil.lua\",\"test_mathutil.lua\"]");

  auto before = call(*tool("run_tests"), {{"path", "test_mathutil.lua"}});
  ASSERT_TRUE(before.ok) << before.error.message;
  EXPECT_EQ(before.content,
            "{\"passed\":1,\"failed\":1,\"failures\":[{\"test\":\"add\",\"message\":\"test_mathutil.lua:2: "
            "expected 5, got -1\"}]}");

  auto read = call(*tool("read_file"), {{"path", "mathutil.lua"}});
  ASSERT_TRUE(read.ok);
  EXPECT_NE(read.content.get<std::string>().find("return a - b"), std::string::npos);

  auto fix = call(*tool("replace"), {{"path", "mathutil.lua"}, {"old", "a - b"}, {"new", "a + b"}});
  ASSERT_TRUE(fix.ok) << fix.error.message;
  EXPECT_EQ(fix.content, "{\"ok\":true}");
  auto after = call(*tool("run_tests"), {{"path", "test_mathutil.lua"}});
  EXPECT_EQ(after.content, "{\"passed\":2,\"failed\":0,\"failures\":[]}");

  auto missing = call(*tool("replace"), {{"path", "mathutil.lua"}, {"old", "nope"}, {"new", "x"}});
  ASSERT_FALSE(missing.ok);
  EXPECT_NE(missing.error.message.find("not found in mathutil.lua"), std::string::npos) << missing.error.message;
}

TEST_F(WorkspaceToolsTest, EscapesAreRefused) {
  std::filesystem::create_symlink("/etc", root_ + "/etc_link");
  for (const char* p : {"../outside.txt", "/etc/passwd", "etc_link/passwd"}) {
    auto r = call(*tool("read_file"), {{"path", p}});
    EXPECT_FALSE(r.ok) << p;
    EXPECT_EQ(r.error.kind, ErrorCode::forbidden) << p << ": " << r.error.message;
  }
  auto w = call(*tool("write_file"), {{"path", "../x.txt"}, {"content", "x"}});
  EXPECT_FALSE(w.ok);
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(root_).parent_path() / "x.txt"));
  EXPECT_FALSE(make_workspace_tool("rm_rf", ToolSpec{"rm_rf", "", Json::object()}, root_, {}, pool_).ok());
}

}  // namespace
}  // namespace glm::tools

namespace glm::tools {
namespace {

TEST_F(WorkspaceToolsTest, MissingFileIsNotFound) {
  auto r = call(*tool("read_file"), {{"path", "nope.lua"}});
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.error.kind, ErrorCode::not_found);
  EXPECT_EQ(r.error.message, "no such file: nope.lua");
}

TEST_F(WorkspaceToolsTest, MissingFileNamesTheOneCloseFile) {
  // A letter dropped, doubled or swapped is within reach; the suggestion is the path list_files would give.
  for (const char* wrong : {"test_mathutl.lua", "test_matthutil.lua", "test_mahtutil.lua"}) {
    auto r = call(*tool("run_tests"), {{"path", wrong}});
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error.kind, ErrorCode::not_found);
    EXPECT_EQ(r.error.message, std::string("no such file: ") + wrong + "; did you mean test_mathutil.lua?");
  }
  auto r = call(*tool("replace"), {{"path", "mathutl.lua"}, {"old", "a"}, {"new", "b"}});
  EXPECT_EQ(r.error.message, "no such file: mathutl.lua; did you mean mathutil.lua?");
  // Far from every file: no guess.
  EXPECT_EQ(call(*tool("read_file"), {{"path", "zzzzzzzz.lua"}}).error.message, "no such file: zzzzzzzz.lua");
  // Two files equally near: no guess either.
  std::ofstream(root_ + "/mathutiL.lua") << "return {}\n";
  EXPECT_EQ(call(*tool("read_file"), {{"path", "mathuti.lua"}}).error.message, "no such file: mathuti.lua");
  // Paths in subfolders are candidates, spelled as list_files spells them.
  std::filesystem::create_directories(root_ + "/lib");
  std::ofstream(root_ + "/lib/strings.lua") << "return {}\n";
  EXPECT_EQ(call(*tool("read_file"), {{"path", "lib/string.lua"}}).error.message,
            "no such file: lib/string.lua; did you mean lib/strings.lua?");
}

TEST_F(WorkspaceToolsTest, NoGuessInAWorkspaceOfOver2000Files) {
  std::filesystem::create_directories(root_ + "/gen");
  for (int i = 0; i < 2000; ++i) std::ofstream(root_ + "/gen/f" + std::to_string(i) + ".txt") << i;
  auto r = call(*tool("read_file"), {{"path", "test_mathutl.lua"}});
  EXPECT_EQ(r.error.kind, ErrorCode::not_found);
  EXPECT_EQ(r.error.message, "no such file: test_mathutl.lua");
}

TEST_F(WorkspaceToolsTest, RunTestsReportsWhatATestFileReturns) {
  std::ofstream(root_ + "/test_own.lua")
      << "return {passed = 2, failed = 1, failures = {{test = \"sum\", message = \"sum(1, 2): expected 3, got -1\"}}}\n";
  auto r = call(*tool("run_tests"), {{"path", "test_own.lua"}});
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_EQ(r.content, "{\"passed\":2,\"failed\":1,\"failures\":[{\"test\":\"sum\",\"message\":\"sum(1, 2): expected 3, got -1\"}]}");
}

}  // namespace
}  // namespace glm::tools
