// bench/bench_contractivity.cpp — chapter 10 workloads: one training epoch (a fixed number of
// batches: forward, loss, backward, Adam update) of the chapter's convolutional neural ODE classifier
// (layers/stable/contractivity.h with the program's default sizes, printed below) on random
// MNIST-sized images (uniform in [0, 1], random labels; the data does not change the work), float32:
//   contractivity_epoch_none      cross-entropy only
//   contractivity_epoch_jacobian  + the Jacobian-based penalty on every 2nd batch (as the chapter
//                                 program): 2 · mean ReLU(μ₂ + ρ) over the first 16 images of the
//                                 batch at Euler state k = (batch / 2) % N, μ₂ by 8 Lanczos steps (2
//                                 vector-Jacobian products each) and the recorded Rayleigh quotient
//                                 at the top Ritz vector
//   contractivity_epoch_weight    + the weight-based penalty Σ_c ReLU(γ_c + ρ) on the kernel
// The same weights start every repetition. Prints "BENCH <workload> stablenn <seconds>" (median epoch
// time after a warm-up epoch). Twin: bench_contractivity.py (the same model and penalties in PyTorch).
// Usage: build/bench/bench_contractivity [--quick] [--threads N] [--only none|jacobian|weight]
#include <cstdio>
#include <string>
#include <vector>

#include "autodiff/backward.h"
#include "bench/bench_util.h"
#include "layers/losses.h"
#include "layers/stable/contractivity.h"
#include "train/optim.h"

using namespace stablenn;
using namespace stablenn::bench;

namespace {

// The chapter program's default model (notebooks_cpp/ch10_contractivity.cpp, Setup::net).
ConvNodeConfig bench_config() {
  ConvNodeConfig c;
  c.channels = 16;
  c.steps = 2;
  c.pool = 1;
  return c;
}

constexpr int64_t kBatch = 128, kRegSamples = 16;
constexpr int kLanczosSteps = 8;
constexpr int64_t kJacobianEvery = 2;
constexpr double kRho = 0.5, kLr = 3e-3;

enum class Reg { kNone, kJacobian, kWeight };

Var loss_of(ConvNodeClassifier& net, Reg reg, const Tensor& x, const Tensor& y, int64_t batch_index) {
  Var loss = cross_entropy(net(Var(x)), y);
  if (reg == Reg::kJacobian && batch_index % kJacobianEvery == 0) {
    const int64_t k = (batch_index / kJacobianEvery) % net.config.steps;
    const Tensor xs = net.last_states[k].narrow(0, 0, kRegSamples);
    const Var us(net.last_states[0].narrow(0, 0, kRegSamples));
    LogNormOptions o;
    o.iterations = kLanczosSteps;
    o.seed = static_cast<uint64_t>(batch_index);
    const auto f = [&](const Var& v) { return net.field->drive(v, us); };
    loss = loss + log_norm_penalty(log_norm2_estimate(f, xs, o), kRho) * static_cast<double>(kJacobianEvery);
  } else if (reg == Reg::kWeight) {
    loss = loss + weight_penalty(weight_condition(conv_dominance(net.field->weight), net.field->sigma.slopes()), kRho);
  }
  return loss;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = parse_bench_args(argc, argv, "[--quick] [--threads N] [--only none|jacobian|weight]",
                                     {"none", "jacobian", "weight"});
  const int64_t batches = args.quick ? 10 : 50;
  const int warmup = 1, reps = args.quick ? 3 : 5;
  const ConvNodeConfig config = bench_config();
  std::printf("# model: C %lld, kernel %lld, %lld Euler steps, pool %lld, batch %lld, %lld batches per epoch\n",
              static_cast<long long>(config.channels), static_cast<long long>(config.kernel),
              static_cast<long long>(config.steps), static_cast<long long>(config.pool),
              static_cast<long long>(kBatch), static_cast<long long>(batches));
  Generator data_gen(0);
  std::vector<Tensor> images, labels;
  for (int64_t b = 0; b < batches; ++b) {
    images.push_back(data_gen.uniform({kBatch, 1, 28, 28}));
    std::vector<int64_t> l(kBatch);
    for (auto& v : l) v = data_gen.randint(0, 10);
    labels.push_back(Tensor::from_int64(l, {kBatch}));
  }
  const std::vector<std::pair<std::string, Reg>> workloads = {
      {"contractivity_epoch_none", Reg::kNone},
      {"contractivity_epoch_jacobian", Reg::kJacobian},
      {"contractivity_epoch_weight", Reg::kWeight}};
  for (const auto& [name, reg] : workloads) {
    if (!args.only.empty() && name != "contractivity_epoch_" + args.only) continue;  // e.g. for a profiler
    Generator init(1);
    ConvNodeClassifier net(config, init);
    net.keep_states = reg == Reg::kJacobian;
    std::vector<Tensor> initial;
    for (const Var& p : net.parameters()) initial.push_back(p.value().clone());
    const double seconds = median_seconds(
        [&] {
          {
            NoGrad no_grad;
            std::vector<Var> params = net.parameters();
            for (size_t i = 0; i < params.size(); ++i) params[i].copy_(initial[i]);
          }
          Adam adam(net.parameters(), kLr);
          for (int64_t b = 0; b < batches; ++b) {
            adam.zero_grad();
            backward(loss_of(net, reg, images[b], labels[b], b));
            adam.step();
          }
        },
        warmup, reps);
    std::printf("BENCH %s stablenn %.6f\n", name.c_str(), seconds);
    std::fflush(stdout);
  }
  return 0;
}
