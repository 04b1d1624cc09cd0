// kernels/cpu/thread_pool.h — a small persistent pool for the engine's parallel loops.
//
// Owns: n_threads - 1 worker threads (the caller is thread 0), joined on destruction.
// Threads: run() and parallel_for() may be called by one thread at a time (the pool's owner, the engine
// thread); each returns after all its work is done. The functions run on pool threads concurrently and
// must not call the pool themselves.
// parallel_for() is work-sharing: chunks go to whichever threads show up, and a worker that the OS has
// descheduled is not waited for, which keeps a shared, oversubscribed machine from stalling every loop.
// run() needs every thread (static partitions) and so waits for all of them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace glm::kernels {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads <= 0: hardware concurrency
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return n_threads_; }

  // Calls fn(ith, nth) once on each of the nth = n_threads() threads; ith = 0 is the caller.
  void run(const std::function<void(int ith, int nth)>& fn);

  // Calls fn(begin, end) over [0, n) in chunks of `chunk` items, on whichever threads are available.
  void parallel_for(int64_t n, int64_t chunk, const std::function<void(int64_t begin, int64_t end)>& fn);

  // fn(i) for every i < n: on the calling thread below min_parallel items (per-token work that pays for waking the
  // pool only in prefill), else as parallel_for in chunks of `chunk`. pool may be null (the calling thread).
  static void for_each(ThreadPool* pool, int64_t n, int64_t min_parallel, int64_t chunk,
                       const std::function<void(int64_t i)>& fn);

  // Splits [0, n) into nth contiguous ranges, each a multiple of `align` except the last.
  static void split(int64_t n, int ith, int nth, int64_t align, int64_t* begin, int64_t* end);

 private:
  struct Job {
    const std::function<void(int, int)>* each = nullptr;           // run()
    const std::function<void(int64_t, int64_t)>* range = nullptr;  // parallel_for()
    int64_t n = 0, chunk = 1;
    std::atomic<int64_t> next{0};
  };
  void worker(int ith);
  void drain(Job& job);
  void publish(Job* job);

  int n_threads_ = 1;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_start_;
  std::condition_variable cv_done_;
  Job* job_ = nullptr;          // under mu_
  bool open_ = false;           // under mu_: a parallel_for job still accepts workers
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};  // workers still to finish the current job
  bool stop_ = false;
};

}  // namespace glm::kernels
