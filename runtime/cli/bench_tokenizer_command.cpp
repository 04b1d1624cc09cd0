// `glm-agent bench tokenizer --tokenizer FILE --corpus FILE.jsonl [--repeat N]`
//
// Encodes every document ({"text": ...} per line) on one thread, N times, and prints one JSON object:
// {"bench":"tokenizer","docs","bytes","tokens","seconds":{"p50","min"},"mb_per_s"} (median run).
// bench/tokenizer_vs_hf.py runs this beside Hugging Face `tokenizers` on the same corpus.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "model/tokenizer.h"
#include "runtime/cli/args.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/model_paths.h"

namespace glm::cli {

int cmd_bench_tokenizer(const Argv& argv) {
  auto args = Args::parse(argv, {"model", "tokenizer", "corpus", "repeat"}, {"no-special"});
  if (!args) return fail(kExitUsage, args.error().message);
  auto path = tokenizer_path(*args);
  if (!path) return fail(kExitUsage, path.error().message);
  auto corpus_path = args->get("corpus");
  if (!corpus_path) return fail(kExitUsage, "bench tokenizer needs --corpus FILE.jsonl");
  auto repeat = args->get_int("repeat", 5);
  if (!repeat || *repeat < 1) return fail(kExitUsage, "--repeat must be a positive integer");

  auto tok = Tokenizer::load(*path);
  if (!tok) return fail(kExitFailed, tok.error().to_string());
  std::ifstream in(*corpus_path);
  if (!in) return fail(kExitFailed, "cannot open " + *corpus_path);
  std::vector<std::string> docs;
  size_t bytes = 0;
  std::string line;
  for (long n = 1; std::getline(in, line); ++n) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("text") || !j["text"].is_string())
      return fail(kExitFailed, *corpus_path + ":" + std::to_string(n) + ": expected {\"text\": string}");
    docs.push_back(j["text"].get<std::string>());
    bytes += docs.back().size();
  }
  const Specials specials = args->switches.count("no-special") ? Specials::as_text : Specials::match;
  std::vector<double> seconds;
  size_t tokens = 0;
  std::vector<int32_t> ids;
  for (long r = 0; r < *repeat; ++r) {
    tokens = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& d : docs) {
      ids.clear();
      auto st = tok->encode_append(d, specials, &ids);
      if (!st) return fail(kExitFailed, st.error().to_string());
      tokens += ids.size();
    }
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  double p50 = sorted[sorted.size() / 2];
  nlohmann::ordered_json out;
  out["bench"] = "tokenizer";
  out["impl"] = "glm-agent";
  out["threads"] = 1;
  out["docs"] = docs.size();
  out["bytes"] = bytes;
  out["tokens"] = tokens;
  out["seconds"] = {{"p50", p50}, {"min", sorted.front()}};
  out["mb_per_s"] = static_cast<double>(bytes) / 1e6 / p50;
  std::printf("%s\n", out.dump().c_str());
  return kExitOk;
}

}  // namespace glm::cli
