// bench/bench_matmul.cpp — chapter 1 workload: float32 matmul of [n, n] x [n, n] for n = 256, 512,
// 1024, through the tensor API (stablenn::matmul, which allocates its result) against raw cblas_sgemm
// on preallocated buffers (the best OpenBLAS can do). Target: tensor API >= 0.9x OpenBLAS throughput.
// Usage: build/bench/bench_matmul [--quick] [--threads N]; prints "BENCH <workload> <impl> <seconds>".
#include <cblas.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/stablenn_core.h"
#include "bench/bench_util.h"

namespace {

double seconds_of(const std::function<void()>& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median times of `reps` calls of each function, after at least `warmup` untimed calls and
// `warmup_seconds` of them (the first calls pay for BLAS buffers, thread start-up and page faults).
// The two are timed in alternation, so a burst of load on the machine slows both alike instead of
// biasing the ratio.
std::pair<double, double> median_seconds_interleaved(const std::function<void()>& first,
                                                     const std::function<void()>& second,
                                                     int warmup, double warmup_seconds, int reps) {
  const auto warmup_start = std::chrono::steady_clock::now();
  for (int i = 0; i < warmup || std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                              warmup_start).count() < warmup_seconds;
       ++i) {
    first();
    second();
  }
  std::vector<double> t_first, t_second;
  for (int i = 0; i < reps; ++i) {
    t_first.push_back(seconds_of(first));
    t_second.push_back(seconds_of(second));
  }
  return {median(t_first), median(t_second)};
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = stablenn::bench::parse_bench_args(argc, argv, "[--quick] [--threads N]");
  const bool quick = args.quick;

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
    const float* pa = a.data<float>();
    const float* pb = b.data<float>();
    float* pc = c.data<float>();
    const int dim = static_cast<int>(n);
    const auto [t_tensor, t_blas] = median_seconds_interleaved(
        [&] { result = stablenn::matmul(a, b); },
        [&] {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, dim, dim, dim, 1.0f, pa, dim, pb,
                      dim, 0.0f, pc, dim);
        },
        warmup, quick ? 0.05 : 0.25, reps);
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
  // The sgemm peak at the shapes the toy networks of chapters 7 and 8 multiply (width 256; batches
  // of 128 in training, 250 in the attacks; the weight gradient's 256 x 256 x batch), to compare
  // with the GFLOP/s bench_robustness achieves: "GFLOPS <m>x<k>x<n> <beta 0> <zeroed, beta 1>
  // <stablenn::matmul>". OpenBLAS with beta = 0 zeroes C in its own slow pass (core/blas_gemm.h);
  // zeroing C with memset and calling it with beta = 1 is what stablenn does, and the faster peak.
  const std::vector<std::array<int, 3>> shapes = {
      {128, 256, 256}, {250, 256, 256}, {256, 128, 256}, {256, 250, 256}, {1024, 1024, 1024}};
  for (const auto& [m, k, n] : shapes) {
    stablenn::Tensor a = gen.normal({m, k}), b = gen.normal({k, n}), c = stablenn::Tensor::empty({m, n});
    const float *pa = a.data<float>(), *pb = b.data<float>();
    float* pc = c.data<float>();
    const auto product = [&](float beta) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, pa, k, pb, n, beta, pc, n);
    };
    const auto beta0 = [&] { product(0.0f); };
    const auto zeroed = [&] {
      std::fill(pc, pc + static_cast<size_t>(m) * n, 0.0f);
      product(1.0f);
    };
    const auto tensor_api = [&] { stablenn::Tensor r = stablenn::matmul(a, b); };
    const int warm = quick ? 2 : 10, reps = quick ? 5 : 51;
    const double floor = quick ? 0.05 : 0.25;
    const auto [t_beta0, t_zeroed] = median_seconds_interleaved(beta0, zeroed, warm, floor, reps);
    const double t_tensor = median_seconds_interleaved(tensor_api, zeroed, warm, floor, reps).first;
    const double flops = 2.0 * m * k * n * 1e-9;
    std::printf("GFLOPS %dx%dx%d %.1f %.1f %.1f\n", m, k, n, flops / t_beta0, flops / t_zeroed, flops / t_tensor);
  }
  return 0;
}
