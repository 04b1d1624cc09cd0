// runtime/agent/scripted_generator.h — a TurnGenerator that replays fixed completions (tests, dry runs).
//
// Each generate() takes the next completion text (special tokens spelled out, e.g.
// "calc\n{\"expression\":\"1+1\"}<|observation|>") and parses it with chat::parse_text; when the script is
// exhausted it answers "\n(script exhausted)<|user|>". A completion may start with "!sleep MS\n" to
// complete after MS milliseconds (on a helper thread), for timing and concurrency tests; destroying the
// generator cuts such waits short (the completion still runs, exactly once).
// Threads: generate() from any thread; completions are taken in call order.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "runtime/agent/turn_generator.h"

namespace glm::agent {

class ScriptedGenerator : public TurnGenerator {
 public:
  explicit ScriptedGenerator(std::vector<std::string> completions, int64_t context = 4096)
      : completions_(std::move(completions)), context_(context) {}
  ~ScriptedGenerator() override;  // waits for delayed completions (each ends early, still completing)

  void generate(TurnRequest request, TurnDone done) override;
  int64_t context_tokens() const override { return context_; }
  std::string describe() const override { return "scripted"; }

  // The requests seen so far (tests inspect the prompts an agent built).
  std::vector<TurnRequest> requests() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> completions_;
  size_t next_ = 0;
  int64_t context_;
  std::vector<TurnRequest> seen_;
  std::vector<std::thread> delayed_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace glm::agent
