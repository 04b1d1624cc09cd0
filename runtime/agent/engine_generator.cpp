#include "runtime/agent/engine_generator.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "grammars/compiler.h"
#include "grammars/matcher.h"
#include "grammars/turn_grammar.h"
#include "grammars/vocab.h"
#include "model/chat.h"
#include "model/cpu/cpu_engine.h"
#include "model/sampler.h"
#include "runtime/agent/grammar_vocab.h"

namespace glm::agent {

using Clock = std::chrono::steady_clock;

struct EngineGenerator::Impl {
  explicit Impl(Tokenizer t) : tok(std::move(t)) {}
  std::unique_ptr<Engine> engine;
  Tokenizer tok;
  chat::Specials sp{};
  std::string description;
  EngineGeneratorOptions opt;
  std::shared_ptr<const grammar::Vocab> vocab;
  int64_t max_seq_len = 0;
  int64_t n_logits = 0;
  int64_t kv_bytes_per_token = 0;
  int32_t n_tok_vocab = 0;

  struct Request {
    TurnRequest req;
    TurnDone done;
  };
  struct Active {
    TurnRequest req;
    TurnDone done;
    SeqId seq = -1;
    std::vector<int32_t> kv_tokens;   // what the sequence's KV holds
    std::vector<int32_t> generated;
    std::optional<grammar::Matcher> matcher;
    std::unique_ptr<Sampler> sampler;
    int32_t pending = -1;             // sampled, not yet fed
    int64_t prompt_tokens = 0, cached = 0, max_new = 0;
    Clock::time_point start;
  };
  struct Cached {
    SeqId seq;
    std::vector<int32_t> tokens;
  };

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<Request> queue;
  bool stopping = false;
  EngineStats stats;
  std::thread thread;

  // Engine thread only.
  std::list<Active> active;
  std::list<Cached> prefix_cache;  // most recently used first
  std::map<std::string, grammar::CompiledGrammar> grammars;
  std::vector<float> logits;
  std::vector<uint32_t> mask;

  bool is_stop(int32_t t) const { return t == sp.observation || t == sp.user || t == sp.endoftext; }

  Result<grammar::CompiledGrammar> grammar_for(const TurnRequest& r) {
    grammar::TurnGrammarOptions spec;
    spec.allow_calls = r.tool_choice != "none" && !r.tools.empty();
    spec.allow_text = r.tool_choice != "required" || r.tools.empty();
    spec.parallel = r.parallel_tool_calls;
    std::string key = std::string(spec.allow_text ? "T" : "-") + (spec.allow_calls ? "C" : "-") +
                      (spec.parallel ? "P" : "-") + (r.output_schema ? *r.output_schema : "") + "\x01";
    if (spec.allow_calls)
      for (const auto& t : r.tools) key += t.function_json + "\x01";
    auto it = grammars.find(key);
    if (it != grammars.end()) return it->second;
    if (r.output_schema) spec.answer_schema = nlohmann::ordered_json::parse(*r.output_schema);
    std::vector<grammar::ToolSpec> tools;
    if (spec.allow_calls) {
      for (const auto& t : r.tools) {
        auto f = nlohmann::ordered_json::parse(t.function_json);
        tools.push_back({t.name, f.contains("parameters") ? f["parameters"] : nlohmann::ordered_json{{"type", "object"}}});
      }
    }
    auto g = grammar::glm4_turn_grammar(tools, spec);
    if (!g) return g.take_error();
    auto cg = grammar::compile(std::move(g).value(), vocab);
    if (!cg) return cg.take_error();
    if (grammars.size() > 64) grammars.clear();
    grammars.emplace(key, *cg);
    return *cg;
  }

  // A sequence whose KV holds a prefix of `prompt` (at most prompt.size() - 1 tokens, so that at least one
  // token is prefilled and yields logits).
  Result<std::pair<SeqId, int64_t>> acquire(const std::vector<int32_t>& prompt) {
    auto best = prefix_cache.end();
    size_t best_len = 0;
    for (auto it = prefix_cache.begin(); it != prefix_cache.end(); ++it) {
      size_t n = 0, lim = std::min(it->tokens.size(), prompt.size() - 1);
      while (n < lim && it->tokens[n] == prompt[n]) ++n;
      if (n > best_len) { best_len = n; best = it; }
    }
    if (best != prefix_cache.end() && best_len >= 8) {
      if (best_len == best->tokens.size() || best_len + 64 >= best->tokens.size()) {
        // Take it: truncating is cheaper than copying the prefix.
        SeqId s = best->seq;
        prefix_cache.erase(best);
        if (auto st = engine->truncate_sequence(s, static_cast<int64_t>(best_len)); !st) return st.take_error();
        return std::make_pair(s, static_cast<int64_t>(best_len));
      }
      auto s = engine->fork_sequence(best->seq, static_cast<int64_t>(best_len));
      if (s) {
        prefix_cache.splice(prefix_cache.begin(), prefix_cache, best);
        return std::make_pair(*s, static_cast<int64_t>(best_len));
      }
    }
    auto s = engine->create_sequence();
    if (!s && !prefix_cache.empty()) {  // out of room: free cached sequences and retry
      for (auto& c : prefix_cache) (void)engine->release_sequence(c.seq);
      prefix_cache.clear();
      s = engine->create_sequence();
    }
    if (!s) return s.take_error();
    return std::make_pair(*s, int64_t{0});
  }

  // Engine thread: the KV gauges of stats().
  void update_kv_stats() {
    int64_t kv = 0;
    for (const auto& a : active) kv += static_cast<int64_t>(a.kv_tokens.size());
    for (const auto& c : prefix_cache) kv += static_cast<int64_t>(c.tokens.size());
    std::lock_guard<std::mutex> lock(mu);
    stats.active = static_cast<int64_t>(active.size());
    stats.kv_sequences = static_cast<int64_t>(active.size() + prefix_cache.size());
    stats.kv_tokens = kv;
    stats.kv_bytes = kv * kv_bytes_per_token;
  }

  void remember(SeqId seq, std::vector<int32_t> tokens) {
    prefix_cache.push_front(Cached{seq, std::move(tokens)});
    while (prefix_cache.size() > opt.prefix_cache_entries) {
      (void)engine->release_sequence(prefix_cache.back().seq);
      prefix_cache.pop_back();
    }
  }

  void fill_mask(Active& a) {
    std::fill(mask.begin(), mask.end(), 0u);
    if (a.matcher) {
      a.matcher->fill_mask(mask.data());
    } else {
      for (int32_t i = 0; i < n_tok_vocab; ++i) mask[i / 32] |= 1u << (i % 32);
    }
  }

  // Samples from `row` for a; returns false when a finished (and was handed back).
  bool sample_and_advance(Active& a, const float* row) {
    fill_mask(a);
    auto t = a.sampler->sample(std::span<const float>(row, static_cast<size_t>(n_logits)), a.kv_tokens, mask.data());
    if (!t) {
      finish(a, t.take_error());
      return false;
    }
    if (a.matcher && !a.matcher->advance(*t)) {
      finish(a, make_error(ErrorCode::internal, "the grammar refused a token it allowed"));
      return false;
    }
    a.generated.push_back(*t);
    // Server hook (TurnRequest::on_token): stream the token; false ends the turn here.
    bool hook_stop = a.req.on_token && !a.req.on_token(tok.token_bytes(*t), tok.is_special(*t));
    if (hook_stop || is_stop(*t) || static_cast<int64_t>(a.generated.size()) >= a.max_new ||
        (a.req.cancel && a.req.cancel->load())) {
      finish(a, std::nullopt);
      return false;
    }
    a.pending = *t;
    return true;
  }

  void finish(Active& a, std::optional<Error> err) {
    if (a.seq >= 0) remember(a.seq, std::move(a.kv_tokens));
    a.seq = -1;
    update_kv_stats();  // before `done`: a caller that reads stats() next sees this sequence's KV
    TurnDone done = std::move(a.done);
    {
      std::lock_guard<std::mutex> lock(mu);
      stats.generated_tokens += static_cast<int64_t>(a.generated.size());
    }
    if (err) {
      done(std::move(*err));
      return;
    }
    if (a.req.cancel && a.req.cancel->load()) {
      done(make_error(ErrorCode::cancelled, "generation cancelled"));
      return;
    }
    TurnResult r;
    for (int32_t id : a.generated) r.raw += tok.token_bytes(id);
    if (a.req.raw_prompt) {  // raw completion: the text before any stop token, unparsed
      bool stopped = !a.generated.empty() && is_stop(a.generated.back());
      auto text = tok.decode(std::span<const int32_t>(a.generated.data(), a.generated.size() - (stopped ? 1 : 0)));
      if (text) r.turn.content = std::move(text).value();
      r.turn.finish_reason = stopped ? "stop" : "length";
    } else {
      auto turn = chat::parse(tok, a.generated);
      if (turn) r.turn = std::move(turn).value();
      else r.parse_error = turn.take_error();
    }
    r.prompt_tokens = a.prompt_tokens;
    r.cached_tokens = a.cached;
    r.completion_tokens = static_cast<int64_t>(a.generated.size());
    r.seconds = std::chrono::duration<double>(Clock::now() - a.start).count();
    done(std::move(r));
  }

  void start(Request rq) {
    Active a;
    a.start = Clock::now();
    a.req = std::move(rq.req);
    a.done = std::move(rq.done);
    auto prompt = a.req.raw_prompt ? tok.encode(*a.req.raw_prompt, Specials::match)
                                   : chat::render(tok, a.req.messages, a.req.tools, true);
    if (!prompt) return finish(a, prompt.take_error());
    a.prompt_tokens = static_cast<int64_t>(prompt->size());
    if (a.prompt_tokens + 1 >= max_seq_len)
      return finish(a, make_error(ErrorCode::output, "the prompt has " + std::to_string(a.prompt_tokens) +
                                                         " tokens; the context holds " + std::to_string(max_seq_len)));
    a.max_new = std::min<int64_t>(a.req.max_tokens, max_seq_len - a.prompt_tokens - 1);
    if (opt.constrain && !a.req.raw_prompt) {
      auto g = grammar_for(a.req);
      if (!g) return finish(a, g.take_error());
      a.matcher.emplace(*g);
    }
    SamplerParams sp_params;
    sp_params.temperature = static_cast<float>(a.req.sampling.temperature);
    sp_params.top_p = static_cast<float>(a.req.sampling.top_p);
    sp_params.top_k = a.req.sampling.top_k;
    sp_params.min_p = static_cast<float>(a.req.sampling.min_p);
    sp_params.repetition_penalty = static_cast<float>(a.req.sampling.repetition_penalty);
    sp_params.presence_penalty = static_cast<float>(a.req.sampling.presence_penalty);
    sp_params.seed = a.req.sampling.seed;
    if (auto st = sp_params.validate(); !st) return finish(a, st.take_error());
    a.sampler = std::make_unique<Sampler>(sp_params);
    auto seq = acquire(*prompt);
    if (!seq) return finish(a, seq.take_error());
    a.seq = seq->first;
    a.cached = seq->second;
    a.kv_tokens.assign(prompt->begin(), prompt->begin() + a.cached);
    std::span<const int32_t> rest(prompt->data() + a.cached, prompt->size() - static_cast<size_t>(a.cached));
    {
      std::lock_guard<std::mutex> lock(mu);
      stats.requests += 1;
      stats.prompt_tokens += a.prompt_tokens;
      stats.cached_tokens += a.cached;
    }
    std::vector<float> row(static_cast<size_t>(n_logits));
    if (auto st = engine->prefill(a.seq, rest, LogitsMode::last, row); !st) {
      (void)engine->release_sequence(a.seq);
      a.seq = -1;
      return finish(a, st.take_error());
    }
    a.kv_tokens.insert(a.kv_tokens.end(), rest.begin(), rest.end());
    if (sample_and_advance(a, row.data())) active.push_back(std::move(a));
  }

  void decode_step() {
    std::vector<DecodeInput> batch;
    std::vector<std::list<Active>::iterator> who;
    for (auto it = active.begin(); it != active.end() && static_cast<int>(batch.size()) < opt.max_batch; ++it) {
      batch.push_back(DecodeInput{it->seq, it->pending});
      who.push_back(it);
    }
    logits.resize(batch.size() * static_cast<size_t>(n_logits));
    if (auto st = engine->decode(batch, logits); !st) {
      for (auto it : who) {
        finish(*it, st.error());
        active.erase(it);
      }
      return;
    }
    for (size_t i = 0; i < who.size(); ++i) {
      Active& a = *who[i];
      a.kv_tokens.push_back(a.pending);
      if (!sample_and_advance(a, logits.data() + i * static_cast<size_t>(n_logits))) active.erase(who[i]);
    }
    // Round-robin fairness when more sequences are active than fit one batch.
    if (active.size() > static_cast<size_t>(opt.max_batch)) active.splice(active.end(), active, active.begin(), std::next(active.begin(), opt.max_batch));
  }

  void loop() {
    while (true) {
      std::vector<Request> fresh;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stopping || !queue.empty() || !active.empty(); });
        if (stopping) break;
        while (!queue.empty() && active.size() + fresh.size() < static_cast<size_t>(opt.max_batch) * 4) {
          fresh.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        stats.queued = static_cast<int64_t>(queue.size());
      }
      for (auto& r : fresh) start(std::move(r));
      for (auto it = active.begin(); it != active.end();) {
        if (it->req.cancel && it->req.cancel->load()) {
          finish(*it, make_error(ErrorCode::cancelled, "generation cancelled"));
          it = active.erase(it);
        } else {
          ++it;
        }
      }
      if (!active.empty()) decode_step();
      update_kv_stats();
    }
    // Shutting down: everything still waiting or running is cancelled.
    std::deque<Request> left;
    {
      std::lock_guard<std::mutex> lock(mu);
      left.swap(queue);
    }
    for (auto& r : left) r.done(make_error(ErrorCode::cancelled, "the engine is shutting down"));
    for (auto& a : active) finish(a, make_error(ErrorCode::cancelled, "the engine is shutting down"));
    active.clear();
  }
};

Result<std::shared_ptr<EngineGenerator>> EngineGenerator::create(std::unique_ptr<Engine> engine, Tokenizer tokenizer,
                                                                 std::string description,
                                                                 const EngineGeneratorOptions& opt) {
  auto sp = chat::specials_of(tokenizer);
  if (!sp) return sp.take_error();
  std::shared_ptr<EngineGenerator> g(new EngineGenerator());
  g->impl_ = std::make_unique<Impl>(std::move(tokenizer));
  Impl& m = *g->impl_;
  m.engine = std::move(engine);
  m.sp = *sp;
  m.description = std::move(description);
  m.opt = opt;
  m.max_seq_len = m.engine->caps().max_seq_len;
  if (opt.context > 0) m.max_seq_len = std::min(m.max_seq_len, opt.context);
  m.n_logits = m.engine->caps().n_vocab;
  m.kv_bytes_per_token = 2 * int64_t(m.engine->config().n_layer) * m.engine->config().kv_dim() * int64_t(sizeof(float));
  m.n_tok_vocab = std::min<int32_t>(m.tok.n_vocab(), static_cast<int32_t>(m.n_logits));
  m.opt.max_batch = std::max(1, std::min(opt.max_batch, m.engine->caps().max_batch));
  m.mask.assign(static_cast<size_t>((m.n_logits + 31) / 32), 0u);
  m.vocab = grammar::Vocab::build(vocab_view(m.tok, {}, m.n_tok_vocab));
  m.thread = std::thread([&m] { m.loop(); });
  return g;
}

Result<std::shared_ptr<EngineGenerator>> EngineGenerator::open(const std::string& model_dir,
                                                               const EngineGeneratorOptions& opt) {
  auto tok = Tokenizer::load(model_dir + "/tokenizer.json");
  if (!tok) return tok.take_error();
  EngineOptions eo;
  eo.n_threads = opt.n_threads;
  eo.max_seq_len = opt.context;
  eo.max_batch = opt.max_batch;
  auto engine = open_cpu_engine(model_dir, eo);
  if (!engine) return engine.take_error();
  return create(std::move(engine).value(), std::move(tok).value(), "cpu:" + model_dir, opt);
}

EngineGenerator::~EngineGenerator() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void EngineGenerator::generate(TurnRequest request, TurnDone done) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping) {
      done(make_error(ErrorCode::cancelled, "the engine is shutting down"));
      return;
    }
    impl_->queue.push_back(Impl::Request{std::move(request), std::move(done)});
  }
  impl_->cv.notify_one();
}

int64_t EngineGenerator::context_tokens() const { return impl_->max_seq_len; }
std::string EngineGenerator::describe() const { return impl_->description; }
EngineStats EngineGenerator::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}
const Tokenizer& EngineGenerator::tokenizer() const { return impl_->tok; }

}  // namespace glm::agent
