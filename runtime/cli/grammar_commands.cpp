// `glm-agent grammar test (--json-schema FILE | --grammar FILE) (--input FILE | --cases FILE.jsonl)`
// `glm-agent grammar bench --tokenizer FILE --cases FILE.jsonl [--cold]`
//
// test: one input -> {"compiled","accepted","error"} (exit 0 when accepted, 1 otherwise). Cases: one JSON
// object per line, {"schema": {...} | "grammar": "GBNF", "input": "raw text" | "data": <JSON value>,
// "valid": bool}; a line without schema/grammar uses the file given by --json-schema/--grammar. Prints one
// {"line","compiled","accepted","valid","error"} per line, then a summary object (exit 1 on any mismatch).
// bench: the cases file holds {"schema": ..., "tests": [{"data": ..., "valid": bool}]} (or the flat form
// above); each valid instance is serialised compactly, tokenized (model/tokenizer.h, specials as text),
// and fed token by token: fill_mask timed, the token checked against the mask, advance timed; invalid
// instances count as false accepts when every token passes and the grammar ends complete. Prints one
// JSON object (ARCHITECTURE.md): schemas, compiled, tokens, rejected_valid, compile_us, mask_us, ...
// --cold turns off the process-wide token-cache store (grammars/compiler.h), so every schema pays for its own
// lexer states: the first-use cost a process sees before it has met any similar schema.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "grammars/compiler.h"
#include "grammars/gbnf_parser.h"
#include "grammars/json_schema.h"
#include "grammars/matcher.h"
#include "model/tokenizer.h"
#include "runtime/agent/grammar_vocab.h"
#include "runtime/cli/args.h"
#include "runtime/cli/commands.h"

namespace glm::cli {

namespace {

using ojson = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::not_found, path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double us_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

// CPU time of this thread in microseconds: the bench's figures are per-thread CPU cost, unaffected by
// other processes preempting it on a shared machine (wall-clock figures are printed beside them).
double thread_cpu_us() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

nlohmann::json percentiles(std::vector<double> v, bool with_mean) {
  nlohmann::json out;
  if (v.empty()) return nlohmann::json{{"p50", 0}, {"p99", 0}, {"max", 0}};
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5))]; };
  auto r = [](double x) { return std::round(x * 100) / 100; };
  if (with_mean) {
    double sum = 0;
    for (double x : v) sum += x;
    out["mean"] = r(sum / v.size());
  }
  out["p50"] = r(at(0.50));
  out["p90"] = r(at(0.90));
  out["p99"] = r(at(0.99));
  out["p999"] = r(at(0.999));
  out["max"] = r(v.back());
  return out;
}

// A grammar from a schema (JSON text or value) or GBNF text.
Result<grammar::Grammar> grammar_from(const ojson& line, const std::optional<std::string>& schema_text,
                                      const std::optional<std::string>& gbnf_text) {
  if (line.contains("schema")) return grammar::json_schema_to_grammar(line["schema"]);
  if (line.contains("grammar") && line["grammar"].is_string())
    return grammar::parse_gbnf(line["grammar"].get<std::string>());
  if (schema_text) return grammar::json_schema_text_to_grammar(*schema_text);
  if (gbnf_text) return grammar::parse_gbnf(*gbnf_text);
  return make_error(ErrorCode::invalid_argument, "no schema or grammar for this case");
}

std::string instance_text(const ojson& line) {
  if (line.contains("input") && line["input"].is_string()) return line["input"].get<std::string>();
  if (line.contains("data")) return line["data"].dump();
  return "";
}

int cmd_grammar_test(const Argv& argv) {
  auto args = Args::parse(argv, {"json-schema", "grammar", "input", "cases"}, {});
  if (!args) return fail(kExitUsage, args.error().message);
  std::optional<std::string> schema_text, gbnf_text;
  if (auto f = args->get("json-schema")) {
    auto t = read_file(*f);
    if (!t) return fail(kExitFailed, t.error().message);
    schema_text = *t;
  }
  if (auto f = args->get("grammar")) {
    auto t = read_file(*f);
    if (!t) return fail(kExitFailed, t.error().message);
    gbnf_text = *t;
  }
  if (schema_text && gbnf_text) return fail(kExitUsage, "give --json-schema or --grammar, not both");
  auto vocab = grammar::Vocab::build(grammar::VocabView{{"a"}, {}, {}});
  auto check = [&](const ojson& line, const std::string& text, nlohmann::json* out) -> bool {
    auto g = grammar_from(line, schema_text, gbnf_text);
    if (!g) {
      (*out)["compiled"] = false;
      (*out)["accepted"] = false;
      (*out)["error"] = g.error().to_string();
      return false;
    }
    auto cg = grammar::compile(*g, vocab);
    if (!cg) {
      (*out)["compiled"] = false;
      (*out)["accepted"] = false;
      (*out)["error"] = cg.error().to_string();
      return false;
    }
    grammar::Matcher m(*cg);
    bool accepted = m.advance_bytes(text) && m.is_accepting();
    (*out)["compiled"] = true;
    (*out)["accepted"] = accepted;
    (*out)["error"] = nullptr;
    return accepted;
  };
  if (auto input = args->get("input")) {
    if (!schema_text && !gbnf_text) return fail(kExitUsage, "--input needs --json-schema FILE or --grammar FILE");
    auto text = read_file(*input);
    if (!text) return fail(kExitFailed, text.error().message);
    nlohmann::json out;
    bool ok = check(ojson::object(), *text, &out);
    std::printf("%s\n", out.dump().c_str());
    return ok ? kExitOk : kExitFailed;
  }
  auto cases = args->get("cases");
  if (!cases) return fail(kExitUsage, "grammar test needs --input FILE or --cases FILE.jsonl");
  std::ifstream in(*cases);
  if (!in) return fail(kExitFailed, *cases + ": cannot open");
  int n = 0, compiled = 0, passed = 0, false_accepts = 0, false_rejects = 0;
  std::string line;
  for (long line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty()) continue;
    ojson j = ojson::parse(line, nullptr, false);
    nlohmann::json out;
    out["line"] = line_no;
    if (j.is_discarded() || !j.is_object()) {
      out["compiled"] = false;
      out["accepted"] = false;
      out["error"] = "line " + std::to_string(line_no) + ": not a JSON object";
    } else {
      bool accepted = check(j, instance_text(j), &out);
      if (j.contains("valid")) {
        bool valid = j["valid"].get<bool>();
        out["valid"] = valid;
        if (out["compiled"].get<bool>()) {
          ++compiled;
          if (accepted == valid) ++passed;
          else if (accepted) ++false_accepts;
          else ++false_rejects;
        }
      } else if (out["compiled"].get<bool>()) {
        ++compiled;
      }
    }
    ++n;
    std::printf("%s\n", out.dump().c_str());
  }
  nlohmann::json summary{{"cases", n}, {"compiled", compiled}, {"passed", passed},
                         {"false_accepts", false_accepts}, {"false_rejects", false_rejects}};
  std::printf("%s\n", summary.dump().c_str());
  return (false_accepts || false_rejects || compiled < n) ? kExitFailed : kExitOk;
}

int cmd_grammar_bench(const Argv& argv) {
  auto args = Args::parse(argv, {"tokenizer", "cases", "limit"}, {"cold"});
  if (!args) return fail(kExitUsage, args.error().message);
  const bool cold = args->has("cold");
  grammar::set_shared_token_caches(!cold);
  auto tok_path = args->get("tokenizer");
  auto cases_path = args->get("cases");
  if (!tok_path || !cases_path) return fail(kExitUsage, "grammar bench needs --tokenizer FILE --cases FILE.jsonl");
  auto limit = args->get_int("limit", 1 << 30);
  if (!limit) return fail(kExitUsage, limit.error().message);
  auto tok = Tokenizer::load(*tok_path);
  if (!tok) return fail(kExitFailed, tok.error().to_string());
  std::vector<uint32_t> stops;
  for (const char* eos : {"<|endoftext|>", "<|im_end|>", "</s>"})
    if (auto id = tok->token_id(eos); id && tok->is_special(*id)) stops.push_back(static_cast<uint32_t>(*id));
  grammar::VocabView view = agent::vocab_view(*tok, std::move(stops));
  auto t_vocab = Clock::now();
  auto vocab = grammar::Vocab::build(std::move(view));
  double vocab_ms = us_since(t_vocab) / 1000;
  if (vocab->stop_ids().empty()) return fail(kExitFailed, "the tokenizer has no end-of-text special token");
  const uint32_t stop = vocab->stop_ids()[0];

  // Cases grouped by schema.
  struct Case { ojson schema; std::vector<std::pair<std::string, bool>> instances; };
  std::vector<Case> cases;
  std::ifstream in(*cases_path);
  if (!in) return fail(kExitFailed, *cases_path + ": cannot open");
  std::string line;
  for (long line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty()) continue;
    ojson j = ojson::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("schema"))
      return fail(kExitFailed, *cases_path + ":" + std::to_string(line_no) + ": expected {\"schema\", \"tests\"}");
    Case c;
    c.schema = j["schema"];
    if (j.contains("tests"))
      for (auto& t : j["tests"]) c.instances.push_back({t["data"].dump(), t.value("valid", true)});
    else
      c.instances.push_back({instance_text(j), j.value("valid", true)});
    if (!cases.empty() && cases.back().schema == c.schema) {
      cases.back().instances.insert(cases.back().instances.end(), c.instances.begin(), c.instances.end());
    } else {
      cases.push_back(std::move(c));
    }
    if (static_cast<long long>(cases.size()) >= *limit) break;
  }

  std::vector<double> compile_us, mask_us, advance_us, compile_wall_us, mask_wall_us;
  int skipped = 0, instances = 0, passed = 0;
  int compiled = 0, tokens = 0, rejected_valid = 0, accepted_invalid = 0, valid_instances = 0, forced = 0;
  std::vector<uint32_t> bits(vocab->n_words());
  const bool trace = std::getenv("GLM_GRAMMAR_BENCH_TRACE") != nullptr;
  for (const Case& c : cases) {
    auto t0 = Clock::now();
    double c0 = thread_cpu_us();
    auto g = grammar::json_schema_to_grammar(c.schema);
    auto cg = g ? grammar::compile(std::move(*g), vocab) : Result<grammar::CompiledGrammar>(g.error());
    if (!cg) {
      for (const auto& inst : c.instances) {
        auto ids = tok->encode(inst.first, Specials::as_text);
        std::string spelled;
        if (ids)
          for (int32_t id : *ids) spelled += tok->token_bytes(id);
        if (ids && spelled == inst.first) ++instances;
      }
      continue;
    }
    compile_us.push_back(thread_cpu_us() - c0);
    compile_wall_us.push_back(us_since(t0));
    ++compiled;
    for (const auto& [text, valid] : c.instances) {
      auto ids = tok->encode(text, Specials::as_text);
      if (!ids) { ++skipped; continue; }
      // The tokenizer may normalise (NFC): only instances whose tokens spell them exactly are fed.
      std::string spelled;
      for (int32_t id : *ids) spelled += tok->token_bytes(id);
      if (spelled != text) { ++skipped; continue; }
      ++instances;
      grammar::Matcher m(*cg);
      bool ok = true;
      if (valid) ++valid_instances;
      std::vector<int32_t> seq = *ids;
      seq.push_back(static_cast<int32_t>(stop));
      for (int32_t id : seq) {
        if (valid) {
          auto tm = Clock::now();
          double m0 = thread_cpu_us();
          m.fill_mask(bits.data());
          mask_us.push_back(thread_cpu_us() - m0);
          mask_wall_us.push_back(us_since(tm));
          if (trace && mask_us.back() > 1000)
            std::fprintf(stderr, "slow mask %.0f us: schema %zu, token %d %s\n", mask_us.back(), &c - cases.data(),
                         id, nlohmann::json(tok->token_bytes(id)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
          ++tokens;
          if (!((bits[id >> 5] >> (id & 31)) & 1)) { ok = false; break; }
        }
        double a0 = thread_cpu_us();
        bool adv = m.advance(id);
        if (valid) advance_us.push_back(thread_cpu_us() - a0);
        if (trace && valid && advance_us.back() > 1000)
          std::fprintf(stderr, "slow advance %.0f us: schema %zu, token %d\n", advance_us.back(), &c - cases.data(), id);
        if (!adv) { ok = false; break; }
      }
      if (ok == valid) ++passed;
      if (valid && !ok) ++rejected_valid;
      if (!valid && ok) {
        ++accepted_invalid;
        if (trace) std::fprintf(stderr, "accepted invalid: schema %zu: %s\n", &c - cases.data(), text.c_str());
      }
      if (valid && ok) {
        // Jump-forward share: tokens forced at each position of a fresh replay.
        grammar::Matcher f(*cg);
        for (int32_t id : *ids) {
          if (!f.forced_bytes().empty()) ++forced;
          f.advance(id);
        }
      }
    }
  }
  nlohmann::json out{{"bench", "grammar"},
                     {"vocab", vocab->n_vocab()},
                     {"threads", 1},
                     {"shared_token_caches", !cold},
                     {"schemas", cases.size()},
                     {"compiled", compiled},
                     {"instances_valid", valid_instances},
                     {"instances", instances},
                     {"passed", passed},
                     {"tokens", tokens},
                     {"rejected_valid", rejected_valid},
                     {"accepted_invalid", accepted_invalid},
                     {"forced_token_positions", forced},
                     {"instances_skipped_not_roundtrip", skipped},
                     {"vocab_build_ms", std::round(vocab_ms * 10) / 10},
                     {"compile_us", percentiles(compile_us, false)},
                     {"mask_us", percentiles(mask_us, true)},
                     {"advance_us", percentiles(advance_us, true)},
                     {"clock", "thread_cpu"},
                     {"compile_wall_us", percentiles(compile_wall_us, false)},
                     {"mask_wall_us", percentiles(mask_wall_us, true)}};
  std::printf("%s\n", out.dump().c_str());
  return kExitOk;
}

}  // namespace

int cmd_grammar(const Argv& argv) {
  if (argv.empty()) return fail(kExitUsage, "grammar needs a subcommand: test | bench");
  Argv rest(argv.begin() + 1, argv.end());
  if (argv[0] == "test") return cmd_grammar_test(rest);
  if (argv[0] == "bench") return cmd_grammar_bench(rest);
  return fail(kExitUsage, "unknown grammar subcommand '" + argv[0] + "'");
}

}  // namespace glm::cli
