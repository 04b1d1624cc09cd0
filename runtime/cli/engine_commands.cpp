// Engine commands: `logits`, `generate`, `bench engine` (ARCHITECTURE.md, command line).
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/membw.h"
#include "base/mapped_file.h"
#include "grammars/compiler.h"
#include "grammars/gbnf_parser.h"
#include "grammars/json_schema.h"
#include "grammars/matcher.h"
#include "grammars/vocab.h"
#include "model/cpu/cpu_engine.h"
#include "model/gguf.h"
#include "model/sampler.h"
#include "model/tokenizer.h"
#include "runtime/agent/grammar_vocab.h"
#include "runtime/cli/args.h"
#include "runtime/cli/commands.h"

namespace glm::cli {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

Result<std::vector<int32_t>> parse_ids(const std::string& csv) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i <= csv.size()) {
    size_t j = csv.find(',', i);
    if (j == std::string::npos) j = csv.size();
    std::string item = csv.substr(i, j - i);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    long long v = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || p != item.data() + item.size() || v < INT32_MIN || v > INT32_MAX)
      return make_error(ErrorCode::invalid_argument, "--ids: '" + item + "' is not a token id");
    ids.push_back(int32_t(v));
    i = j + 1;
  }
  if (ids.empty()) return make_error(ErrorCode::invalid_argument, "--ids is empty");
  return ids;
}

// Shortest round-trip text of a float; JSON has no inf/NaN, so those become null.
void append_float(std::string& out, float v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_row(std::string& out, const float* row, int64_t n) {
  out += '[';
  for (int64_t i = 0; i < n; ++i) {
    if (i) out += ',';
    append_float(out, row[i]);
  }
  out += ']';
}

// --model DIR [--threads N] [--quantize TYPE] [--ctx N] [--exact] → an engine.
Result<std::unique_ptr<Engine>> open_engine(const Args& args) {
  auto model = args.get("model");
  if (!model)
    return make_error(ErrorCode::invalid_argument,
                      "--model DIR is required (no demo checkpoint ships with this build yet)");
  EngineOptions opt;
  auto threads = args.get_int("threads", 0);
  if (!threads) return threads.take_error();
  opt.n_threads = int(*threads);
  auto ctx = args.get_int("ctx", 0);
  if (!ctx) return ctx.take_error();
  opt.max_seq_len = *ctx;
  opt.exact_matmul = args.switches.count("exact") > 0;
  std::optional<kernels::DType> q;
  if (auto qs = args.get("quantize")) {
    kernels::DType t;
    if (!kernels::dtype_from_name(*qs, &t))
      return make_error(ErrorCode::invalid_argument, "--quantize: unknown type '" + *qs + "' (f32, f16, bf16, q8_0, q4_0, q4_k, q6_k)");
    q = t;
  }
  return open_cpu_engine(*model, opt, q);
}

int fail_error(const Error& e) {
  return fail(e.code == ErrorCode::invalid_argument && e.message.rfind("--", 0) == 0 ? kExitUsage : kExitFailed,
              e.to_string());
}

}  // namespace

int cmd_logits(const Argv& argv) {
  auto args = Args::parse(argv, {"model", "ids", "threads", "quantize", "ctx"}, {"all", "exact"});
  if (!args) return fail(kExitUsage, args.error().message);
  auto csv = args->get("ids");
  if (!csv) return fail(kExitUsage, "logits needs --ids CSV");
  auto ids = parse_ids(*csv);
  if (!ids) return fail(kExitUsage, ids.error().message);
  auto eng = open_engine(*args);
  if (!eng) return fail_error(eng.error());
  Engine& e = **eng;
  const bool all = args->switches.count("all") > 0;
  const int64_t nv = e.caps().n_vocab;
  std::vector<float> logits(static_cast<size_t>(all ? int64_t(ids->size()) * nv : nv));
  auto seq = e.create_sequence();
  if (!seq) return fail_error(seq.error());
  Status st = e.prefill(*seq, *ids, all ? LogitsMode::all : LogitsMode::last, logits);
  if (!st) return fail_error(st.error());
  std::string out = "{\"logits\":";
  if (all) {
    out += '[';
    for (size_t p = 0; p < ids->size(); ++p) {
      if (p) out += ',';
      append_row(out, &logits[p * size_t(nv)], nv);
    }
    out += ']';
  } else {
    append_row(out, logits.data(), nv);
  }
  out += "}\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

int cmd_generate(const Argv& argv) {
  auto args = Args::parse(argv,
                          {"model", "ids", "prompt", "max-tokens", "temperature", "seed", "top-k", "top-p", "min-p",
                           "repetition-penalty", "presence-penalty", "frequency-penalty", "output-format", "threads",
                           "quantize", "ctx", "json-schema", "grammar"},
                          {"exact"});
  if (!args) return fail(kExitUsage, args.error().message);
  if (args->has("json-schema") && args->has("grammar"))
    return fail(kExitUsage, "give at most one of --json-schema FILE and --grammar FILE");
  const std::string format = args->get_or("output-format", "text");
  if (format != "text" && format != "json") return fail(kExitUsage, "--output-format must be text or json");
  if (args->has("ids") == args->has("prompt")) return fail(kExitUsage, "generate needs exactly one of --ids or --prompt");

  SamplerParams sp;
  auto num = [&](const char* flag, double fallback, double* out) -> bool {
    auto v = args->get_double(flag, fallback);
    if (!v) return false;
    *out = *v;
    return true;
  };
  double t, tp, mp, rp, pp, fp;
  if (!num("temperature", 0.0, &t) || !num("top-p", 1.0, &tp) || !num("min-p", 0.0, &mp) ||
      !num("repetition-penalty", 1.0, &rp) || !num("presence-penalty", 0.0, &pp) || !num("frequency-penalty", 0.0, &fp))
    return fail(kExitUsage, "a sampling flag expects a number");
  sp.temperature = float(t);
  sp.top_p = float(tp);
  sp.min_p = float(mp);
  sp.repetition_penalty = float(rp);
  sp.presence_penalty = float(pp);
  sp.frequency_penalty = float(fp);
  auto seed = args->get_int("seed", 0);
  auto top_k = args->get_int("top-k", 0);
  auto max_tokens = args->get_int("max-tokens", 64);
  if (!seed || !top_k || !max_tokens) return fail(kExitUsage, "--seed, --top-k and --max-tokens expect integers");
  if (*max_tokens < 0) return fail(kExitUsage, "--max-tokens must be >= 0");
  sp.seed = uint64_t(*seed);
  sp.top_k = int(*top_k);
  if (Status v = sp.validate(); !v) return fail(kExitUsage, v.error().message);

  std::optional<Tokenizer> tok;
  std::vector<int32_t> prompt;
  if (auto p = args->get("prompt")) {
    auto model = args->get("model");
    if (!model) return fail(kExitUsage, "--prompt needs --model DIR with a tokenizer.json");
    auto loaded = Tokenizer::load(*model + "/tokenizer.json");
    if (!loaded) return fail(kExitFailed, "--prompt needs a tokenizer: " + loaded.error().to_string());
    tok = std::move(loaded).value();
    auto ids = tok->encode(*p, Specials::as_text);
    if (!ids) return fail(kExitFailed, ids.error().to_string());
    prompt = std::move(ids).value();
    if (prompt.empty()) return fail(kExitUsage, "--prompt is empty");
  } else {
    auto ids = parse_ids(*args->get("ids"));
    if (!ids) return fail(kExitUsage, ids.error().message);
    prompt = std::move(ids).value();
    if (auto model = args->get("model"); model && std::filesystem::exists(*model + "/tokenizer.json")) {
      auto loaded = Tokenizer::load(*model + "/tokenizer.json");
      if (loaded) tok = std::move(loaded).value();
    }
  }

  // Grammar-constrained output: the matcher's mask is applied before sampling, every token is advanced
  // through it, and a stop id is allowed exactly where the grammar is complete.
  std::optional<grammar::Matcher> matcher;
  std::string constraint_file = args->get_or("json-schema", args->get_or("grammar", ""));
  if (!constraint_file.empty()) {
    if (!tok) return fail(kExitUsage, "--json-schema / --grammar need --model DIR with a tokenizer.json");
    auto text = read_text_file(constraint_file);
    if (!text) return fail(kExitFailed, text.error().to_string());
    auto g = args->has("json-schema") ? grammar::json_schema_text_to_grammar(*text) : grammar::parse_gbnf(*text);
    if (!g) return fail(kExitFailed, constraint_file + ": " + g.error().message);
    auto cfg = Glm4Config::load(*args->get("model"));
    std::vector<uint32_t> stops;
    if (cfg)
      for (int32_t id : cfg->eos_token_ids)
        if (id >= 0 && id < tok->n_vocab()) stops.push_back(uint32_t(id));
    auto cg = grammar::compile(std::move(g).value(), grammar::Vocab::build(agent::vocab_view(*tok, std::move(stops))));
    if (!cg) return fail(kExitFailed, constraint_file + ": " + cg.error().message);
    matcher.emplace(*cg);
  }

  auto eng = open_engine(*args);
  if (!eng) return fail_error(eng.error());
  Engine& e = **eng;
  const std::set<int32_t> stop(e.config().eos_token_ids.begin(), e.config().eos_token_ids.end());
  auto seq = e.create_sequence();
  if (!seq) return fail_error(seq.error());
  std::vector<float> row(static_cast<size_t>(e.caps().n_vocab));
  auto t0 = Clock::now();
  if (Status st = e.prefill(*seq, prompt, LogitsMode::last, row); !st) return fail_error(st.error());
  const double prefill_s = seconds_since(t0);

  // Rows past the tokenizer's vocabulary are padding (GLM-4: ids >= 151343 of 151552): never sample them.
  std::vector<uint32_t> mask;
  if (tok && tok->n_vocab() < e.caps().n_vocab) {
    mask.assign(size_t((e.caps().n_vocab + 31) / 32), 0u);
    for (int32_t i = 0; i < tok->n_vocab(); ++i) mask[size_t(i >> 5)] |= 1u << (i & 31);
  }
  Sampler sampler(sp);
  std::vector<int32_t> history = prompt, generated;
  std::string finish = "length";
  auto t1 = Clock::now();
  int n_decoded = 0;
  std::vector<uint32_t> grammar_mask;
  if (matcher) grammar_mask.assign(size_t((e.caps().n_vocab + 31) / 32), 0u);
  while (int64_t(generated.size()) < *max_tokens) {
    const uint32_t* m = mask.empty() ? nullptr : mask.data();
    if (matcher) {
      if (matcher->is_terminated()) break;
      std::fill(grammar_mask.begin(), grammar_mask.end(), 0u);
      matcher->fill_mask(grammar_mask.data());
      m = grammar_mask.data();
    }
    auto next = sampler.sample(row, history, m);
    if (!next) return fail_error(next.error());
    if (matcher && !matcher->advance(*next)) return fail(kExitFailed, "internal: the grammar refused a token it allowed");
    generated.push_back(*next);
    history.push_back(*next);
    if (stop.count(*next)) {
      finish = "stop";
      break;
    }
    if (int64_t(generated.size()) >= *max_tokens) break;
    if (*e.sequence_length(*seq) >= e.caps().max_seq_len) {
      finish = "context";
      break;
    }
    DecodeInput in{*seq, *next};
    if (Status st = e.decode({&in, 1}, row); !st) return fail_error(st.error());
    ++n_decoded;
  }
  const double decode_s = seconds_since(t1);

  std::vector<int32_t> content = generated;
  if (finish == "stop" && !content.empty()) content.pop_back();
  std::optional<std::string> text;
  if (tok) {
    auto d = tok->decode(content);
    if (d) text = std::move(d).value();
  }
  if (format == "json") {
    nlohmann::json j;
    j["ids"] = generated;
    if (text) j["text"] = *text;
    j["finish_reason"] = finish;
    j["prompt_tokens"] = prompt.size();
    j["completion_tokens"] = generated.size();
    j["prefill_tok_s"] = prefill_s > 0 ? double(prompt.size()) / prefill_s : 0.0;
    j["decode_tok_s"] = decode_s > 0 && n_decoded ? double(n_decoded) / decode_s : 0.0;
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else if (text) {
    std::printf("%s\n", text->c_str());
  } else {
    std::string s;
    for (size_t i = 0; i < generated.size(); ++i) s += (i ? "," : "") + std::to_string(generated[i]);
    std::printf("%s\n", s.c_str());
  }
  return kExitOk;
}

namespace {
struct BenchShape {
  const char* name;
  int64_t n_embd, n_ff;
  int n_layer, n_head, n_head_kv;
};
constexpr BenchShape kBenchShapes[] = {
    {"tiny", 256, 512, 2, 4, 2},
    {"0.5b", 1024, 2816, 16, 8, 2},
    {"1b", 2048, 5632, 16, 16, 2},
    {"3b", 3072, 8192, 24, 24, 2},
};
}  // namespace

int cmd_bench_engine(const Argv& argv) {
  auto args = Args::parse(argv,
                          {"model", "size", "dtype", "quantize", "threads", "prompt-tokens", "decode-tokens", "vocab",
                           "ctx", "bandwidth-mib", "repeat"},
                          {"exact"});
  if (!args) return fail(kExitUsage, args.error().message);
  auto threads = args->get_int("threads", 0);
  auto n_prompt = args->get_int("prompt-tokens", 128);
  auto n_decode = args->get_int("decode-tokens", 32);
  auto vocab = args->get_int("vocab", 151552);
  auto bw_mib = args->get_int("bandwidth-mib", 1024);
  auto repeat = args->get_int("repeat", 3);
  if (!threads || !n_prompt || !n_decode || !vocab || !bw_mib || !repeat || *repeat < 1)
    return fail(kExitUsage, "--threads, --prompt-tokens, --decode-tokens, --vocab, --bandwidth-mib expect integers");
  if (*n_prompt < 1 || *n_decode < 1) return fail(kExitUsage, "--prompt-tokens and --decode-tokens must be >= 1");

  std::unique_ptr<Engine> eng;
  size_t weight_bytes = 0;
  std::string source;
  auto pool = std::make_unique<kernels::ThreadPool>(int(*threads));
  kernels::ThreadPool* pool_ptr = pool.get();
  const double bw_before = kernels::measure_read_bandwidth(*pool, size_t(*bw_mib) << 20);
  // The engine takes the pool; the bandwidth is measured again on a pool of the same size afterwards.
  auto bw_pool = std::make_unique<kernels::ThreadPool>(pool->n_threads());
  auto t_load = Clock::now();
  EngineOptions opt;
  opt.n_threads = int(*threads);
  opt.max_seq_len = *n_prompt + *n_decode + 1;
  opt.exact_matmul = args->switches.count("exact") > 0;
  if (auto model = args->get("model")) {
    std::optional<kernels::DType> q;
    if (auto qs = args->get("quantize")) {
      kernels::DType t;
      if (!kernels::dtype_from_name(*qs, &t)) return fail(kExitUsage, "--quantize: unknown type '" + *qs + "'");
      q = t;
    }
    auto w = Glm4Weights::load(*model, cpu_weight_options(opt, q, pool.get()));
    if (!w) return fail_error(w.error());
    weight_bytes = w->decode_bytes();
    auto e = make_cpu_engine(std::move(w).value(), opt, std::move(pool));
    if (!e) return fail_error(e.error());
    eng = std::move(e).value();
    source = *model;
  } else {
    const std::string size = args->get_or("size", "1b");
    const BenchShape* shape = nullptr;
    for (const auto& s : kBenchShapes)
      if (size == s.name) shape = &s;
    if (!shape) return fail(kExitUsage, "--size must be tiny, 0.5b, 1b or 3b");
    kernels::DType dt = kernels::DType::bf16;
    if (auto ds = args->get("dtype"); ds && !kernels::dtype_from_name(*ds, &dt))
      return fail(kExitUsage, "--dtype: unknown type '" + *ds + "'");
    Glm4Config c;
    c.n_vocab = *vocab;
    c.n_embd = shape->n_embd;
    c.n_ff = shape->n_ff;
    c.n_layer = shape->n_layer;
    c.n_head = shape->n_head;
    c.n_head_kv = shape->n_head_kv;
    c.head_dim = int(shape->n_embd / shape->n_head);
    c.n_rot = c.head_dim / 2;
    c.attention_bias = true;
    c.max_position_embeddings = 32768;
    c.eos_token_ids = {};
    if (Status v = c.validate(); !v) return fail_error(v.error());
    const WeightOptions wopt = cpu_weight_options(opt, std::nullopt, pool.get());
    Glm4Weights w = Glm4Weights::random(c, dt, 1, wopt.pool, wopt.pack_matrices);
    weight_bytes = w.decode_bytes();
    auto e = make_cpu_engine(std::move(w), opt, std::move(pool));
    if (!e) return fail_error(e.error());
    eng = std::move(e).value();
    source = std::string("random ") + shape->name + " (in memory)";
  }
  (void)pool_ptr;
  const double load_s = seconds_since(t_load);
  Engine& e = *eng;
  const Glm4Config& c = e.config();
  std::vector<int32_t> prompt(static_cast<size_t>(*n_prompt));
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = int32_t((i * 7919 + 13) % size_t(c.n_vocab));
  std::vector<float> row(static_cast<size_t>(c.n_vocab));

  // Warm-up: touch every weight once (page-in of a mapped file, caches) with one short prefill.
  {
    SeqId w = *e.create_sequence();
    std::vector<int32_t> one = {1};
    (void)e.prefill(w, one, LogitsMode::last, row);
    (void)e.release_sequence(w);
  }
  SeqId s = *e.create_sequence();
  double prefill_s = 1e30;
  for (int64_t rep = 0; rep < *repeat; ++rep) {
    if (Status st = e.truncate_sequence(s, 0); !st) return fail_error(st.error());
    auto t0 = Clock::now();
    if (Status st = e.prefill(s, prompt, LogitsMode::last, row); !st) return fail_error(st.error());
    prefill_s = std::min(prefill_s, seconds_since(t0));
  }
  // Decode rounds of n_decode tokens each (the sequence is truncated back to the prompt between rounds);
  // the best round is reported, since other processes on a shared machine only ever slow a round down.
  int32_t tok = 1;
  double decode_s = 1e30;
  std::vector<double> rounds;
  std::vector<double> paired;  // each round's decode GB/s over the bandwidth measured just before it
  for (int64_t rep = 0; rep < *repeat; ++rep) {
    if (Status st = e.truncate_sequence(s, *n_prompt); !st) return fail_error(st.error());
    const double bw_round = kernels::measure_read_bandwidth(*bw_pool, size_t(*bw_mib) << 20, 1);
    auto t1 = Clock::now();
    for (int64_t i = 0; i < *n_decode; ++i) {
      DecodeInput in{s, tok};
      if (Status st = e.decode({&in, 1}, row); !st) return fail_error(st.error());
      tok = int32_t((tok * 31 + 7) % c.n_vocab);
    }
    rounds.push_back(seconds_since(t1));
    paired.push_back(double(weight_bytes) * double(*n_decode) / rounds.back() / 1e9 / bw_round);
    decode_s = std::min(decode_s, rounds.back());
  }
  std::sort(rounds.begin(), rounds.end());
  const double decode_median_tok_s = double(*n_decode) / rounds[rounds.size() / 2];
  // Bandwidth again after the run (best of both): the machine's load changes while the bench runs.
  const double bw_after = kernels::measure_read_bandwidth(*bw_pool, size_t(*bw_mib) << 20);
  const double bw = std::max(bw_before, bw_after);
  const double decode_tok_s = double(*n_decode) / decode_s;
  const double decode_gb_s = double(weight_bytes) * decode_tok_s / 1e9;

  nlohmann::json j;
  j["bench"] = "engine";
  j["backend"] = e.caps().backend;
  j["isa"] = std::string(kernels::isa_name(kernels::isa()));
  j["matmul_acts"] = opt.exact_matmul ? "f32" : "compact";
  j["threads"] = e.caps().n_threads;
  j["model"] = {{"source", source},
                {"params", c.n_params()},
                {"n_layer", c.n_layer},
                {"n_embd", c.n_embd},
                {"n_ff", c.n_ff},
                {"n_head", c.n_head},
                {"n_head_kv", c.n_head_kv},
                {"n_vocab", c.n_vocab},
                {"weight_dtype", e.caps().weight_dtype},
                {"bytes_per_token", weight_bytes},
                {"load_s", load_s}};
  j["prefill"] = {{"tokens", *n_prompt}, {"seconds", prefill_s}, {"tok_s", double(*n_prompt) / prefill_s}};
  j["decode"] = {{"tokens", *n_decode},
                 {"seconds", decode_s},
                 {"tok_s", decode_tok_s},
                 {"ms_per_token", 1e3 / decode_tok_s},
                 {"rounds", *repeat},
                 {"median_tok_s", decode_median_tok_s},
                 {"gb_s", decode_gb_s}};
  j["mem_bw_gb_s"] = bw;
  j["mem_bw_gb_s_before_after"] = {bw_before, bw_after};
  j["bw_fraction"] = bw > 0 ? decode_gb_s / bw : 0.0;  // best decode round / best bandwidth seen
  std::sort(paired.begin(), paired.end());
  j["bw_fraction_paired_median"] = paired[paired.size() / 2];  // robust to load that shifts during the run
  std::printf("%s\n", j.dump().c_str());
  return kExitOk;
}

// `glm-agent convert --model DIR --out FILE.gguf [--type q8_0|q4_0|f16|bf16|f32]`: safetensors → GGUF.
int cmd_convert(const Argv& argv) {
  auto args = Args::parse(argv, {"model", "out", "type"}, {});
  if (!args) return fail(kExitUsage, args.error().message);
  auto model = args->get("model");
  auto out = args->get("out");
  if (!model || !out) return fail(kExitUsage, "convert needs --model DIR and --out FILE.gguf");
  std::optional<kernels::DType> type;
  if (auto t = args->get("type")) {
    kernels::DType d;
    if (!kernels::dtype_from_name(*t, &d)) return fail(kExitUsage, "--type: unknown type '" + *t + "'");
    type = d;
  }
  if (Status st = convert_to_gguf(*model, *out, type); !st) return fail_error(st.error());
  return kExitOk;
}

}  // namespace glm::cli
