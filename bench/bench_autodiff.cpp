// bench/bench_autodiff.cpp — chapter 2 workloads: forward + backward on the tape of
//   mlp:     784-256-256-10 MLP with ReLU and cross-entropy, batch 128 (float32);
//   convnet: conv(1->8, 3x3, pad 1) - relu - maxpool 2 - conv(8->16, 3x3, pad 1) - relu - maxpool 2 -
//            linear(784->10) - cross-entropy, batch 128, 28x28 inputs (float32).
// Each repetition drops the gradients, runs the forward pass, and backpropagates into every parameter
// (the inputs need no gradient), as one training step without the update. Twin: bench_autodiff.py.
// Usage: build/bench/bench_autodiff [--quick] [--threads N]; prints "BENCH <workload> stablenn <seconds>".
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "autodiff/autodiff.h"
#include "core/stablenn_core.h"
#include "bench/bench_util.h"

using namespace stablenn;
using namespace stablenn::bench;

namespace {


// Mean cross-entropy of logits [n, classes] against one-hot rows [n, classes].
Var cross_entropy(const Var& logits, const Var& one_hot) {
  return -mean(sum(log_softmax(logits, 1) * one_hot, {1}));
}

Tensor random_one_hot(int64_t n, int64_t classes, Generator& gen) {
  Tensor out = Tensor::zeros({n, classes});
  for (int64_t i = 0; i < n; ++i) out.set({i, gen.randint(0, classes)}, 1.0);
  return out;
}

// Parameters initialised like PyTorch's defaults (uniform +-1/sqrt(fan_in)).
Var parameter(const Shape& shape, int64_t fan_in, Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  return Var(gen.uniform(shape, -bound, bound), true);
}

void zero_grads(std::vector<Var>& params) {
  for (Var& p : params) p.zero_grad();
}

double bench_mlp(bool quick) {
  Generator gen(0);
  const int64_t batch = 128;
  const Var x(gen.normal({batch, 784}));
  const Var target(random_one_hot(batch, 10, gen));
  std::vector<Var> p = {parameter({256, 784}, 784, gen), parameter({256}, 784, gen),
                        parameter({256, 256}, 256, gen), parameter({256}, 256, gen),
                        parameter({10, 256}, 256, gen),  parameter({10}, 256, gen)};
  auto step = [&] {
    zero_grads(p);
    Var h = relu(linear(x, p[0], p[1]));
    h = relu(linear(h, p[2], p[3]));
    backward(cross_entropy(linear(h, p[4], p[5]), target));
  };
  return median_seconds(step, quick ? 3 : 10, quick ? 10 : 50);
}

double bench_convnet(bool quick) {
  Generator gen(1);
  const int64_t batch = 128;
  const Var x(gen.normal({batch, 1, 28, 28}));
  const Var target(random_one_hot(batch, 10, gen));
  std::vector<Var> p = {parameter({8, 1, 3, 3}, 9, gen),  parameter({8}, 9, gen),
                        parameter({16, 8, 3, 3}, 72, gen), parameter({16}, 72, gen),
                        parameter({10, 784}, 784, gen),    parameter({10}, 784, gen)};
  auto step = [&] {
    zero_grads(p);
    Var h = max_pool2d(relu(conv2d(x, p[0], p[1], 1, 1)), 2, 2);
    h = max_pool2d(relu(conv2d(h, p[2], p[3], 1, 1)), 2, 2);
    backward(cross_entropy(linear(flatten(h, 1), p[4], p[5]), target));
  };
  return median_seconds(step, quick ? 2 : 5, quick ? 5 : 30);
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = stablenn::bench::parse_bench_args(argc, argv, "[--quick] [--threads N]");
  const bool quick = args.quick;
  std::printf("BENCH mlp_784_256_256_10_b128_fwd_bwd stablenn %.6f\n", bench_mlp(quick));
  std::fflush(stdout);
  std::printf("BENCH convnet_c8_c16_28x28_b128_fwd_bwd stablenn %.6f\n", bench_convnet(quick));
  std::fflush(stdout);
  return 0;
}
