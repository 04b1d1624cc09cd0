#include "kernels/cpu/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace glm::kernels {

namespace {
inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}
constexpr int kSpinIterations = 4000;
}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = int(std::max(1u, std::thread::hardware_concurrency()));
  n_threads_ = n_threads;
  shares_ = std::make_unique<Share[]>(size_t(n_threads_));
  for (int i = 1; i < n_threads_; ++i) threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  cv_start_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::split(int64_t n, int ith, int nth, int64_t align, int64_t* begin, int64_t* end) {
  int64_t units = (n + align - 1) / align;
  int64_t per = units / nth, extra = units % nth;
  int64_t b = ith * per + std::min<int64_t>(ith, extra);
  int64_t e = b + per + (ith < extra ? 1 : 0);
  *begin = std::min(n, b * align);
  *end = std::min(n, e * align);
}

void ThreadPool::publish(Job* job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = job;
    open_ = true;
    pending_.store(job->each ? n_threads_ - 1 : 0);
    generation_.fetch_add(1);
  }
  cv_start_.notify_all();
}

namespace {
// Takes part of a share (in units): from the front for its owner, from the back for a thief. The owner takes an
// eighth of what is left (contiguous with its last take, so still one stream), a thief a quarter: a thread
// holds little that another might have to wait for.
bool take(std::atomic<uint64_t>& share, bool owner, int64_t* begin, int64_t* end) {
  uint64_t v = share.load(std::memory_order_relaxed);
  for (;;) {
    const uint64_t front = v >> 32, back = v & 0xffffffffu;
    if (front >= back) return false;
    const uint64_t k = std::max<uint64_t>(1, (back - front) / (owner ? 8 : 4));
    const uint64_t next = owner ? (front + k) << 32 | back : front << 32 | (back - k);
    if (share.compare_exchange_weak(v, next, std::memory_order_relaxed)) {
      *begin = int64_t(owner ? front : back - k);
      *end = int64_t(owner ? front + k : back);
      return true;
    }
  }
}
}  // namespace

void ThreadPool::drain(Job& job, int ith) {
  int64_t b, e;
  for (int i = 0; i < n_threads_; ++i) {  // its own share first, then the others' (from their backs)
    const int victim = (ith + i) % n_threads_;
    while (take(shares_[size_t(victim)].v, i == 0, &b, &e))
      (*job.range)(b * job.unit, std::min(job.n, e * job.unit));
  }
}

void ThreadPool::run(const std::function<void(int, int)>& fn) {
  if (n_threads_ == 1) {
    fn(0, 1);
    return;
  }
  Job job;
  job.each = &fn;
  publish(&job);
  fn(0, n_threads_);
  for (int i = 0; i < kSpinIterations && pending_.load(std::memory_order_acquire) != 0; ++i) cpu_relax();
  std::unique_lock<std::mutex> lock(mu_);
  cv_done_.wait(lock, [this] { return pending_.load() == 0; });
  open_ = false;
  job_ = nullptr;
}

void ThreadPool::for_each(ThreadPool* pool, int64_t n, int64_t min_parallel, int64_t chunk,
                          const std::function<void(int64_t)>& fn) {
  if (!pool || pool->n_threads() == 1 || n < min_parallel) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  pool->parallel_for(n, chunk, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) fn(i);
  });
}

void ThreadPool::parallel_for(int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  chunk = std::max<int64_t>(1, chunk);
  if (n_threads_ == 1 || n <= chunk) {
    fn(0, n);
    return;
  }
  Job job;
  job.range = &fn;
  job.n = n;
  job.unit = chunk;
  while ((n + job.unit - 1) / job.unit > int64_t(0xffffffffu)) job.unit *= 2;  // units fit a share's 32 bits
  const int64_t units = (n + job.unit - 1) / job.unit;
  for (int i = 0; i < n_threads_; ++i) {
    int64_t b, e;
    split(units, i, n_threads_, 1, &b, &e);
    shares_[size_t(i)].v.store(uint64_t(b) << 32 | uint64_t(e), std::memory_order_relaxed);
  }
  publish(&job);  // its mutex orders the shares before any worker reads them
  drain(job, 0);
  // Close the job: workers that have not joined yet will skip it; wait only for those inside.
  std::unique_lock<std::mutex> lock(mu_);
  open_ = false;
  if (pending_.load() != 0) {
    lock.unlock();
    for (int i = 0; i < kSpinIterations && pending_.load(std::memory_order_acquire) != 0; ++i) cpu_relax();
    lock.lock();
    cv_done_.wait(lock, [this] { return pending_.load() == 0; });
  }
  job_ = nullptr;
}

void ThreadPool::worker(int ith) {
  uint64_t seen = 0;
  for (;;) {
    // Spin briefly for the next job (decode issues hundreds of short loops per token), then sleep.
    for (int i = 0; i < kSpinIterations && generation_.load(std::memory_order_acquire) == seen; ++i) cpu_relax();
    Job* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_start_.wait(lock, [&] { return generation_.load() != seen; });
      seen = generation_.load();
      if (stop_) return;
      if (job_ && job_->each) {
        job = job_;  // counted in pending_ by publish()
      } else if (job_ && open_) {
        job = job_;
        pending_.fetch_add(1);
      }
    }
    if (!job) continue;
    if (job->each) (*job->each)(ith, n_threads_);
    else drain(*job, ith);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mu_);
      cv_done_.notify_all();
    }
  }
}

}  // namespace glm::kernels
