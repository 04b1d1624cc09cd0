// kernels/cpu/thread_pool.h — a small persistent pool for the engine's parallel loops.
//
// Owns: n_threads - 1 worker threads (the caller is thread 0), joined on destruction.
// Threads: run() and parallel_for() may be called by one thread at a time (the pool's owner, the engine
// thread); each returns after all its work is done. The functions run on pool threads concurrently and
// must not call the pool themselves.
// parallel_for() gives each thread its own contiguous share, taken front to back, so that a memory-bound loop
// reads one stream per thread (each new stream costs the prefetchers a ramp: on this project's 2-core test
// machine, interleaved chunks read decode's small matrices 5-10% slower). A thread that runs out takes chunks
// from the back of the others' shares, so a worker that the OS has descheduled (or that has not woken yet) is
// not waited for: a shared, oversubscribed machine does not stall every loop.
// run() needs every thread (static partitions) and so waits for all of them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
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

  // Calls fn(begin, end) over [0, n) in chunks of whole multiples of `chunk` items (except at n), on whichever
  // threads are available.
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
    int64_t n = 0, unit = 1;
  };
  // One thread's share of a parallel_for, in units: [front, back) packed as front << 32 | back, so that the
  // owner (taking from the front) and thieves (from the back) agree through one compare-and-swap.
  struct alignas(64) Share {
    std::atomic<uint64_t> v{0};
  };
  void worker(int ith);
  void drain(Job& job, int ith);
  void publish(Job* job);

  int n_threads_ = 1;
  std::vector<std::thread> threads_;
  std::unique_ptr<Share[]> shares_;  // n_threads_ of them, for the current parallel_for
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
