#include "runtime/agent/scripted_generator.h"

#include <chrono>
#include <thread>

namespace glm::agent {

void ScriptedGenerator::generate(TurnRequest request, TurnDone done) {
  std::string text;
  {
    std::lock_guard<std::mutex> lock(mu_);
    text = next_ < completions_.size() ? completions_[next_++] : "\n(script exhausted)<|user|>";
    seen_.push_back(request);
  }
  int sleep_ms = 0;
  if (text.rfind("!sleep ", 0) == 0) {
    auto nl = text.find('\n');
    sleep_ms = std::atoi(text.substr(7, nl - 7).c_str());
    text = text.substr(nl + 1);
  }
  auto finish = [text, done = std::move(done)] {
    TurnResult r;
    r.raw = text;
    // Rough token counts: scripted runs have no tokenizer.
    r.completion_tokens = static_cast<int64_t>(text.size() / 4 + 1);
    auto turn = chat::parse_text(text);
    if (turn) r.turn = std::move(turn).value();
    else r.parse_error = turn.take_error();
    done(std::move(r));
  };
  if (sleep_ms > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    delayed_.emplace_back([this, finish, sleep_ms] {
      {
        std::unique_lock<std::mutex> l(mu_);
        wake_.wait_for(l, std::chrono::milliseconds(sleep_ms), [this] { return stopping_; });
      }
      finish();
    });
  } else {
    finish();
  }
}

ScriptedGenerator::~ScriptedGenerator() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : delayed_) {
    // The last owner may be released by a completion running on one of these threads.
    if (t.get_id() == std::this_thread::get_id()) t.detach();
    else t.join();
  }
}

std::vector<TurnRequest> ScriptedGenerator::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_;
}

}  // namespace glm::agent
