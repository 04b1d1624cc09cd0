// tests/grammars/json_schema_suite_test.cpp — the official JSON-Schema-Test-Suite, draft 2020-12
// (required files + optional/format): compile each group's schema, then accept/reject each instance
// serialised compactly. No invalid instance may be accepted by a schema that compiled.
#include "grammars/json_schema.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "grammars/compiler.h"
#include "grammars/matcher.h"
#include "tests/test_util.h"

namespace glm::grammar {
namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

struct FileStats {
  int instances = 0, pass = 0, compile_error = 0, false_accept = 0, false_reject = 0;
};

FileStats run_file(const fs::path& path, bool print_failures) {
  FileStats st;
  std::ifstream in(path);
  json groups = json::parse(in);
  auto vocab = Vocab::build(VocabView{{"a"}, {}, {}});
  for (const json& group : groups) {
    const json& tests = group["tests"];
    st.instances += static_cast<int>(tests.size());
    auto g = json_schema_to_grammar(group["schema"]);
    if (!g) { st.compile_error += static_cast<int>(tests.size()); continue; }
    auto cg = compile(*g, vocab);
    if (!cg) { st.compile_error += static_cast<int>(tests.size()); continue; }
    for (const json& t : tests) {
      Matcher m(*cg);
      std::string text = t["data"].dump();
      bool accepted = m.advance_bytes(text) && m.is_accepting();
      bool valid = t["valid"].get<bool>();
      if (accepted == valid) ++st.pass;
      else if (accepted) {
        ++st.false_accept;
        if (print_failures)
          std::cerr << "FALSE ACCEPT " << path.filename().string() << ": " << group["description"] << " / "
                    << t["description"] << "\n  schema " << group["schema"].dump() << "\n  data " << text << "\n";
      } else {
        ++st.false_reject;
      }
    }
  }
  return st;
}

TEST(JsonSchemaSuite, Draft2020_12) {
  GLM_REQUIRE_SHARED_DATA(data);
  fs::path dir = fs::path(data) / "JSON-Schema-Test-Suite/tests/draft2020-12";
  if (!fs::exists(dir)) GTEST_SKIP() << dir << " is absent";
  auto t0 = std::chrono::steady_clock::now();
  std::vector<fs::path> required, optional;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".json") required.push_back(e.path());
  for (auto& e : fs::directory_iterator(dir / "optional/format"))
    if (e.path().extension() == ".json") optional.push_back(e.path());
  std::sort(required.begin(), required.end());
  std::sort(optional.begin(), optional.end());
  FileStats total;
  int required_false_accepts = 0, optional_false_accepts = 0;
  std::ostringstream table;
  auto run = [&](const fs::path& p, const std::string& label, bool req) {
    auto f0 = std::chrono::steady_clock::now();
    FileStats s = run_file(p, true);
    double fs_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - f0).count();
    table << "  " << label << ": " << s.pass << "/" << s.instances << " pass (compile errors " << s.compile_error
          << ", false rejects " << s.false_reject << ", false accepts " << s.false_accept << ") " << fs_ << " s\n";
    total.instances += s.instances;
    total.pass += s.pass;
    total.compile_error += s.compile_error;
    total.false_reject += s.false_reject;
    total.false_accept += s.false_accept;
    (req ? required_false_accepts : optional_false_accepts) += s.false_accept;
  };
  for (auto& p : required) run(p, p.filename().string(), true);
  for (auto& p : optional) run(p, "optional/format/" + p.filename().string(), false);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << table.str() << "TOTAL: " << total.pass << "/" << total.instances << " pass, compile errors "
            << total.compile_error << ", false rejects " << total.false_reject << ", false accepts "
            << total.false_accept << " (" << secs << " s)\n";
  EXPECT_EQ(required_false_accepts, 0);
  EXPECT_EQ(optional_false_accepts, 0);
  EXPECT_GT(total.pass, 934) << "llguidance's count";
}

}  // namespace
}  // namespace glm::grammar
