// bench/bench_matmul.cpp — chapter 1 workload: float32 matmul of [n, n] x [n, n] for n = 256, 512,
// 1024, through the tensor API (stablenn::matmul, which allocates its result) against raw cblas_sgemm
// on preallocated buffers (the best OpenBLAS can do). Target: tensor API >= 0.9x OpenBLAS throughput.
// Usage: build/bench/bench_matmul [--quick] [--threads N]; prints "BENCH <workload> <impl> <seconds>".
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "core/stablenn_core.h"

namespace {

// Median of `reps` timed calls after `warmup` untimed ones.
double median_seconds(const std::function<void()>& fn, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

int usage(const char* program) {
  std::fprintf(stderr, "usage: %s [--quick] [--threads N]\n", program);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
      if (threads < 1) return usage(argv[0]);
    } else {
      return usage(argv[0]);
    }
  }
  if (threads > 0) stablenn::set_num_threads(threads);

  stablenn::Generator gen(0);
  for (const int64_t n : {256, 512, 1024}) {
    // a, b: [n, n]; c: [n, n] preallocated for the raw BLAS call.
    stablenn::Tensor a = gen.normal({n, n});
    stablenn::Tensor b = gen.normal({n, n});
    stablenn::Tensor c = stablenn::Tensor::empty({n, n});
    // About 0.3 s of timed work per implementation in a full run: more repetitions for small n.
    const int reps = quick ? 5 : static_cast<int>(std::clamp<int64_t>(20 * (1024 / n), 15, 101));
    const int warmup = quick ? 2 : 5;

    stablenn::Tensor result;
    const double t_tensor =
        median_seconds([&] { result = stablenn::matmul(a, b); }, warmup, reps);
    const float* pa = a.data<float>();
    const float* pb = b.data<float>();
    float* pc = c.data<float>();
    const int dim = static_cast<int>(n);
    const double t_blas = median_seconds(
        [&] {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, dim, dim, dim, 1.0f, pa, dim, pb,
                      dim, 0.0f, pc, dim);
        },
        warmup, reps);
    // Guard against timing a wrong answer: both paths must compute the same product.
    const double diff = stablenn::max_abs_diff(result, c);
    if (!(diff < 1e-3)) {
      std::fprintf(stderr, "bench_matmul: matmul_%lld differs from cblas_sgemm by %g\n",
                   static_cast<long long>(n), diff);
      return 1;
    }
    std::printf("BENCH matmul_%lld stablenn %.6f\n", static_cast<long long>(n), t_tensor);
    std::printf("BENCH matmul_%lld openblas %.6f\n", static_cast<long long>(n), t_blas);
    std::fflush(stdout);
  }
  return 0;
}
