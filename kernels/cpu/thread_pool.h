// kernels/cpu/thread_pool.h — a small persistent pool that runs one parallel loop at a time.
//
// Owns: n_threads - 1 worker threads (the caller is thread 0), joined on destruction.
// Threads: run() may be called by one thread at a time (the engine thread); it returns after every
// task ran. The function runs on all pool threads concurrently and must not call run() itself.
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

  // Splits [0, n) into nth contiguous ranges, each a multiple of `align` except the last.
  static void split(int64_t n, int ith, int nth, int64_t align, int64_t* begin, int64_t* end);

 private:
  void worker(int ith);

  int n_threads_ = 1;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_start_;
  std::condition_variable cv_done_;
  const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stop_ = false;
};

}  // namespace glm::kernels
