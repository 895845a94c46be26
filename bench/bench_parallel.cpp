// bench/bench_parallel.cpp — what a parallel region costs, and from which size two threads pay
// (chapter 1). The grain in core/parallel.h (kDefaultGrain) comes from this measurement, as
// PyTorch's GRAIN_SIZE does from theirs. No PyTorch twin: it times our own fork/join.
//
//   bench_parallel [--quick]
//
// For n floats, y = x + 1 with parallel_for at grain n (one thread, no region) and at grain n / 2
// (two threads, one fork/join), median of many repetitions; prints both and their ratio.
#include <cstdio>
#include <vector>

#include "bench/bench_util.h"
#include "core/parallel.h"

using namespace stablenn;

int main(int argc, char** argv) {
  const bench::BenchArgs args = bench::parse_bench_args(argc, argv, "[--quick] [--threads N]");
  const int reps = args.quick ? 200 : 2000;
  std::printf("%10s %12s %12s %8s\n", "floats", "1 thread us", "2 threads us", "ratio");
  for (int64_t n = 1024; n <= (int64_t(1) << 20); n *= 2) {
    std::vector<float> x(n, 1.0f), y(n);
    const auto add = [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) y[i] = x[i] + 1.0f;
    };
    double t1 = 0, t2 = 0;
    {
      FixedThreads fixed(1);
      t1 = bench::median_seconds([&] { parallel_for(0, n, n, add); }, reps / 10, reps);
    }
    {
      FixedThreads fixed(2);
      t2 = bench::median_seconds([&] { parallel_for(0, n, n / 2, add); }, reps / 10, reps);
    }
    std::printf("%10lld %12.2f %12.2f %8.2f\n", static_cast<long long>(n), t1 * 1e6, t2 * 1e6, t2 / t1);
  }
  return 0;
}
