#include "tools/lua/worker_pool.h"

#include "base/error.h"

namespace glm::tools::lua {

WorkerPool::WorkerPool(Options options) : options_(options) {
  GLM_CHECK(options_.min_threads >= 0 && options_.max_threads >= 1 && options_.min_threads <= options_.max_threads);
  std::lock_guard<std::mutex> lk(mu_);
  for (int i = 0; i < options_.min_threads; ++i) start_thread();
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::start_thread() {
  threads_.emplace_back([this] { loop(); });
}

void WorkerPool::submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    queue_.push_back(std::move(job));
    // Every queued job needs an idle thread; start one if none is free and the cap allows.
    if (static_cast<int>(queue_.size()) > idle_ && static_cast<int>(threads_.size()) < options_.max_threads)
      start_thread();
  }
  cv_.notify_one();
}

int WorkerPool::threads() const {
  std::lock_guard<std::mutex> lk(mu_);
  return static_cast<int>(threads_.size());
}

void WorkerPool::loop() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    ++idle_;
    cv_.wait(lk, [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (queue_.empty()) return;  // stopping, and nothing left to run
    std::function<void()> job = std::move(queue_.front());
    queue_.pop_front();
    lk.unlock();
    job();
    job = nullptr;  // release captures outside the lock
    lk.lock();
  }
}

}  // namespace glm::tools::lua
