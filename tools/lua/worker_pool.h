// tools/lua/worker_pool.h — threads that run blocking tool calls (Lua) off the event loop.
//
//   WorkerPool pool({.min_threads = 2, .max_threads = 32});
//   pool.submit([] { ... });   // returns at once; the job runs on a pool thread
//
// The pool grows: when a job arrives and no thread is idle, it starts another thread, up to max_threads, so
// calls stuck until their deadline (runaway scripts) never hold back a new call while the pool is below its
// cap; past the cap, jobs wait in FIFO order (each running call ends within one deadline). Threads are kept
// until the pool is destroyed.
//
// Owns: its threads and queued jobs. The destructor finishes the queued and running jobs, then joins.
// Threads: submit() from any thread, concurrently; never blocks and never runs the job inline.
// Errors: none; a job must not throw (it is a bug: the process aborts).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace glm::tools::lua {

class WorkerPool {
 public:
  struct Options {
    int min_threads = 2;   // started up front
    int max_threads = 32;  // the most that run at once
  };

  explicit WorkerPool(Options options);
  WorkerPool() : WorkerPool(Options{}) {}
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void submit(std::function<void()> job);
  int threads() const;  // started so far

 private:
  void start_thread();  // with mu_ held
  void loop();

  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  int idle_ = 0;
  bool stopping_ = false;
};

}  // namespace glm::tools::lua
