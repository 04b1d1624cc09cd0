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
// Owns: its threads and queued jobs. The destructor finishes the queued and running jobs, then joins. It may
//   run on one of the pool's own threads (a job dropped the last reference): that thread is detached and
//   exits once its job returns; the queue state it still touches is shared, not owned by the pool object.
// Threads: submit() from any thread, concurrently; never blocks and never runs the job inline.
// Errors: none; a job must not throw (it is a bug: the process aborts).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
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
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> queue;
    int idle = 0;
    bool stopping = false;
  };
  static void loop(std::shared_ptr<State> st);
  void start_thread();  // with st_->mu held

  Options options_;
  std::shared_ptr<State> st_;
  std::vector<std::thread> threads_;  // guarded by st_->mu
};

}  // namespace glm::tools::lua
