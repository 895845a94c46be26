// bench/bench_conv.cpp — chapter 1 workload: float32 conv2d, batch 128, 16 -> 16 channels, 28x28,
// 3x3 kernel, padding 1. Times the forward pass alone (with bias) and the forward pass followed by both
// adjoints (input and weight, no bias), the same work as one conv layer's forward + backward.
// PyTorch twin: bench/bench_conv.py. Target: ratio <= 1.0 against PyTorch's best thread setting.
// Usage: build/bench/bench_conv [--quick] [--threads N]; prints "BENCH <workload> <impl> <seconds>".
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "core/stablenn_core.h"
#include "bench/bench_util.h"

using namespace stablenn::bench;

namespace {


// max |a - b| / max |b|.
double relative_error(const stablenn::Tensor& a, const stablenn::Tensor& b) {
  const std::vector<double> av = a.to_vector(), bv = b.to_vector();
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < av.size(); ++i) {
    diff = std::max(diff, std::abs(av[i] - bv[i]));
    scale = std::max(scale, std::abs(bv[i]));
  }
  return diff / std::max(scale, 1e-30);
}

}  // namespace

int main(int argc, char** argv) {
  using stablenn::Tensor;
  const auto args = stablenn::bench::parse_bench_args(argc, argv, "[--quick] [--threads N]");
  const bool quick = args.quick;
  const int warmup = quick ? 2 : 5, reps = quick ? 5 : 30;

  // x: [128, 16, 28, 28], w: [16, 16, 3, 3], bias: [16], gy: [128, 16, 28, 28]
  const int64_t batch = 128, channels = 16, size = 28, kernel = 3, stride = 1, padding = 1;
  stablenn::Generator gen(0);
  const Tensor x = gen.normal({batch, channels, size, size});
  const Tensor w = gen.normal({channels, channels, kernel, kernel}, 0.0, 0.1);
  const Tensor bias = gen.normal({channels});
  const Tensor gy = gen.normal({batch, channels, size, size});

  // Guard against timing a wrong answer: the first samples against the naive oracle.
  const int64_t checked = 2;
  const Tensor x_few = x.narrow(0, 0, checked), gy_few = gy.narrow(0, 0, checked);
  const double errors[3] = {
      relative_error(stablenn::conv2d(x, w, bias, stride, padding).narrow(0, 0, checked),
                     stablenn::conv2d_naive(x_few, w, bias, stride, padding)),
      relative_error(
          stablenn::conv2d_input_adjoint(gy, w, {size, size}, stride, padding).narrow(0, 0, checked),
          stablenn::conv2d_input_adjoint_naive(gy_few, w, {size, size}, stride, padding)),
      relative_error(
          stablenn::conv2d_weight_adjoint(x_few, gy_few, {kernel, kernel}, stride, padding),
          stablenn::conv2d_weight_adjoint_naive(x_few, gy_few, {kernel, kernel}, stride, padding))};
  for (double e : errors) {
    if (!(e < 1e-4)) {
      std::fprintf(stderr, "bench_conv: fast conv2d disagrees with the naive oracle (error %g)\n", e);
      return 1;
    }
  }

  Tensor y, gx, gw;
  const double t_forward =
      median_seconds([&] { y = stablenn::conv2d(x, w, bias, stride, padding); }, warmup, reps);
  std::printf("BENCH conv2d_fwd_b128_c16_28x28 stablenn %.6f\n", t_forward);
  std::fflush(stdout);
  const double t_all = median_seconds(
      [&] {
        y = stablenn::conv2d(x, w, Tensor(), stride, padding);
        gx = stablenn::conv2d_input_adjoint(gy, w, {size, size}, stride, padding);
        gw = stablenn::conv2d_weight_adjoint(x, gy, {kernel, kernel}, stride, padding);
      },
      warmup, reps);
  std::printf("BENCH conv2d_fwd_adjoints_b128_c16_28x28 stablenn %.6f\n", t_all);
  return 0;
}
