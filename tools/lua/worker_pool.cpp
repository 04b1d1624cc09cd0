#include "tools/lua/worker_pool.h"

#include "base/error.h"

namespace glm::tools::lua {

WorkerPool::WorkerPool(Options options) : options_(options), st_(std::make_shared<State>()) {
  GLM_CHECK(options_.min_threads >= 0 && options_.max_threads >= 1 && options_.min_threads <= options_.max_threads);
  std::lock_guard<std::mutex> lk(st_->mu);
  for (int i = 0; i < options_.min_threads; ++i) start_thread();
}

WorkerPool::~WorkerPool() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lk(st_->mu);
    st_->stopping = true;
    threads.swap(threads_);
  }
  st_->cv.notify_all();
  for (auto& t : threads) {
    if (t.get_id() == std::this_thread::get_id()) t.detach();  // destroyed from inside one of our jobs
    else t.join();
  }
}

void WorkerPool::start_thread() {
  threads_.emplace_back(loop, st_);
}

void WorkerPool::submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lk(st_->mu);
    st_->queue.push_back(std::move(job));
    // Every queued job needs an idle thread; start one if none is free and the cap allows.
    if (static_cast<int>(st_->queue.size()) > st_->idle && static_cast<int>(threads_.size()) < options_.max_threads)
      start_thread();
  }
  st_->cv.notify_one();
}

int WorkerPool::threads() const {
  std::lock_guard<std::mutex> lk(st_->mu);
  return static_cast<int>(threads_.size());
}

void WorkerPool::loop(std::shared_ptr<State> st) {
  std::unique_lock<std::mutex> lk(st->mu);
  for (;;) {
    ++st->idle;
    st->cv.wait(lk, [&] { return st->stopping || !st->queue.empty(); });
    --st->idle;
    if (st->queue.empty()) return;  // stopping, and nothing left to run
    std::function<void()> job = std::move(st->queue.front());
    st->queue.pop_front();
    lk.unlock();
    job();
    job = nullptr;  // may destroy the pool object itself (see the header); `st` stays valid
    lk.lock();
  }
}

}  // namespace glm::tools::lua
