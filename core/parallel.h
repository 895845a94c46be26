// core/parallel.h — OpenMP loops with a grain size (chapter 1).
// Small loops stay on one thread: starting a parallel region costs a few microseconds, more than
// adding a few thousand floats.
#pragma once
#include <algorithm>
#include <cstdint>
#include <omp.h>

namespace stablenn {

// Chapter 1: number of threads used by our loops and by OpenBLAS (one shared OpenMP pool).
int num_threads();
// Chapter 1: set both our thread count and OpenBLAS's. n <= 0 restores OMP_NUM_THREADS / all cores.
void set_num_threads(int n);
// Chapter 1: name of the BLAS library in use and its threading model, for the start-up banner.
const char* blas_info();

// Default grain: about this many cheap element operations per thread before going parallel.
constexpr int64_t kDefaultGrain = 32768;

// Chapter 1: run fn(lo, hi) over [begin, end) in contiguous chunks, in parallel only when the range
// holds at least two grains. Chunks are split statically, so results never depend on scheduling.
template <class F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& fn) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  const int64_t max_chunks = std::max<int64_t>(1, n / std::max<int64_t>(1, grain));
  const int threads = static_cast<int>(std::min<int64_t>(num_threads(), max_chunks));
  if (threads <= 1 || omp_in_parallel()) {
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

}  // namespace stablenn
