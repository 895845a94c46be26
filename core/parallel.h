// core/parallel.h — OpenMP loops with a grain size, and a thread count that yields to other
// programs (chapter 1).
// Small loops stay on one thread: starting a parallel region costs a few microseconds, more than
// adding a few thousand floats. And a laptop is shared: when another program keeps a core busy, a
// second thread only waits at every barrier for the core it cannot get, so the count drops to the
// cores that are actually free (measured from /proc every 0.2 s) and comes back when they are.
#pragma once
#include <algorithm>
#include <cstdint>
#include <exception>
#include <omp.h>
#include <vector>

namespace stablenn {

// Chapter 1: number of threads our loops and OpenBLAS use now: the requested count, lowered while
// other programs keep cores busy (see set_adaptive_threads). Also tells OpenBLAS on this thread.
int num_threads();
// Chapter 1: the requested count (set_num_threads, or OMP_NUM_THREADS / all cores).
int requested_threads();
// Chapter 1: set both our thread count and OpenBLAS's. n <= 0 restores OMP_NUM_THREADS / all cores.
void set_num_threads(int n);
// Chapter 1: lower the thread count while other programs load the machine (on by default; off with
// STABLENN_ADAPTIVE_THREADS=0 or set_adaptive_threads(false), e.g. to time a fixed count).
void set_adaptive_threads(bool on);
bool adaptive_threads();
// Chapter 1: cores kept busy by other programs over the last measurement (0 where /proc is absent).
double other_load();
// Chapter 1: how many times the adaptation has changed the count in use since the program started.
// OpenBLAS splits some products by thread count, so a run during which it changed can differ in
// the last bits from a run with a steady count (the programs say so at their end).
int64_t thread_count_changes();
// Chapter 1: a fixed thread count for one scope (adaptation off), restored at its end: for tests and
// benchmarks that compare thread counts.
class FixedThreads {
 public:
  explicit FixedThreads(int n);
  ~FixedThreads();
  FixedThreads(const FixedThreads&) = delete;
  FixedThreads& operator=(const FixedThreads&) = delete;

 private:
  int saved_threads_;
  bool saved_adaptive_;
};
// Chapter 1: BLAS and LAPACK calls in this scope, on this thread, run on one thread: for work that
// measured slower on two (e.g. LAPACK's SVD of small matrices). The shared thread count and its
// adaptation are left alone.
class OneBlasThread {
 public:
  OneBlasThread();
  ~OneBlasThread();
  OneBlasThread(const OneBlasThread&) = delete;
  OneBlasThread& operator=(const OneBlasThread&) = delete;
};
// Chapter 1: name of the BLAS library in use and its threading model, for the start-up banner.
const char* blas_info();

// Default grain: about this many cheap element operations per thread before going parallel.
// Measured by bench_parallel (chapter 1): on the 2-core machine a fork/join costs about 3 µs, the
// time of ~30,000 float additions; two threads first beat one at 131,072 additions (0.82x the
// time; 1.26x at 65,536), so a region needs at least two grains of 65,536.
constexpr int64_t kDefaultGrain = 65536;

// Chapter 1: run fn(lo, hi) over [begin, end) in contiguous chunks, in parallel only when the range
// holds at least two grains. Chunks are split statically, so results never depend on scheduling.
template <class F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& fn) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  const int64_t max_chunks = std::max<int64_t>(1, n / std::max<int64_t>(1, grain));
  if (max_chunks <= 1 || omp_in_parallel()) {
    fn(begin, end);
    return;
  }
  const int threads = static_cast<int>(std::min<int64_t>(num_threads(), max_chunks));
  if (threads <= 1) {
    fn(begin, end);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t lo = begin + n * t / nt, hi = begin + n * (t + 1) / nt;
    if (lo < hi) fn(lo, hi);
  }
}

// Chapter 3: fn(k) for every k in [0, count), each task whole on one thread, on up to `threads`
// threads (dynamic schedule, so tasks of unequal size balance); the ops inside a task run on one
// thread. The first exception a task threw is rethrown once all have finished. For independent
// units of work (parameters, batches) that each write only their own result.
// With one thread or one task it is a plain loop (an exception stops it at once), not a region with
// an `if` clause: libgomp starts fresh threads for every parallel region nested in an inactive one
// (20,000 empty two-thread regions took 1.9 s there against 0.07 s outside), and the ops inside the
// task still split over all threads.
template <class F>
void parallel_tasks(int64_t count, int threads, const F& fn) {
  if (threads <= 1 || count <= 1) {
    for (int64_t k = 0; k < count; ++k) fn(k);
    return;
  }
  std::vector<std::exception_ptr> failure(static_cast<size_t>(count));
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (int64_t k = 0; k < count; ++k) {
    try {
      fn(k);
    } catch (...) {
      failure[static_cast<size_t>(k)] = std::current_exception();
    }
  }
  for (const auto& f : failure)
    if (f) std::rethrow_exception(f);
}

}  // namespace stablenn
