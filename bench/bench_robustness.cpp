// bench/bench_robustness.cpp — chapter 8's whole toy experiment, timed: train the ResNet and the
// non-expansive network (notebooks_cpp/ch08_models.h, the chapter program's own models), then attack
// both with l2-PGD over the eps grid. No plots, no checkpoints. Twin: bench_robustness.py.
// Prints "BENCH robustness_<part> stablenn <seconds>" for train/attack of each model and the total,
// and "PEAKMEM robustness_total stablenn <MiB>" (VmHWM of the process).
// Usage: build/bench/bench_robustness [--quick] [--threads N] [--data-dir DIR]
// --quick: 5,000 training images, 2 epochs, 200 attacked images, 20 PGD iterations (the twin too).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "core/linalg.h"
#include "datasets/fallback.h"
#include "notebooks_cpp/ch08_models.h"
#include "bench/bench_util.h"

using namespace stablenn;
using namespace stablenn::bench;
using namespace stablenn::ch08;

namespace {
// "# part: X GFLOP in GEMM at Y GFLOP/s" (the GEMM share of the work, from core's counter).
void print_gemm_rate(const std::string& part, double flops_before, double seconds) {
  const double gflop = (stablenn::gemm_flops() - flops_before) * 1e-9;
  std::printf("# %s: %.0f GFLOP in GEMM, %.1f GFLOP/s\n", part.c_str(), gflop, gflop / seconds);
}
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

int main(int argc, char** argv) {
  Setup s;
  const auto args =
      stablenn::bench::parse_bench_args(argc, argv, "[--quick] [--threads N] [--data-dir DIR]");
  if (args.quick) {
    s.train_count = 5000; s.epochs = 2; s.attack_count = 200; s.pgd_iterations = 20;
  }
  const auto total_start = std::chrono::steady_clock::now();
  TrainTestData data;
  try {
    data = fashion_mnist_or_shapes(args.data_dir, s.train_count, 0, 0);
  } catch (const Error& broken) {  // present but unreadable; absent files give the shapes set
    exit_on_broken_data(broken);
  }
  if (data.synthetic) std::cerr << "# " << data.note.substr(0, data.note.find('\n')) << "\n";
  const Tensor x = data.test.inputs.narrow(0, 0, s.attack_count);
  const Tensor y = data.test.labels.narrow(0, 0, s.attack_count);
  Generator g(1);
  struct Run { const char* name; Kind kind; std::shared_ptr<Sequential> net; LossFunction loss; };
  const Run runs[] = {{"resnet", Kind::kResNet, make_resnet(s, g), nullptr},
                      {"nonexpansive", Kind::kNonexpansive, make_nonexpansive(s, g), temperature_cross_entropy(s.temperature)}};
  for (const Run& r : runs) {
    TrainerOptions to;
    to.out = nullptr;  // silent: the benchmark's output is its BENCH lines
    auto start = std::chrono::steady_clock::now();
    double flops = stablenn::gemm_flops();
    const TrainResult result = train_model(*r.net, r.loss, data.train, data.test, s, 0, to);
    std::printf("BENCH robustness_train_%s stablenn %.3f\n", r.name, seconds_since(start));
    print_gemm_rate(std::string("train_") + r.name, flops, seconds_since(start));
    start = std::chrono::steady_clock::now();
    flops = stablenn::gemm_flops();
    const std::vector<double> acc = evaluate_model(*r.net, r.kind, x, y, s, AttackProtocol::kChapter).accuracy;
    std::printf("BENCH robustness_attack_%s stablenn %.3f\n", r.name, seconds_since(start));
    print_gemm_rate(std::string("attack_") + r.name, flops, seconds_since(start));
    std::printf("# %s: test accuracy %.4f, robust accuracy at eps 0.5: %.3f, at eps 1: %.3f\n", r.name,
                result.history.back().test_accuracy, acc[4], acc.back());
    if (r.loss) {  // the attack's cost depends on the trained sub-step counts: print them, as the twin does
      std::printf("# %s: Euler sub-steps per block in evaluation:", r.name);
      for (int64_t n : ch07::substeps_per_block(*r.net)) std::printf(" %lld", static_cast<long long>(n));
      std::printf("\n");
    }
    std::fflush(stdout);
  }
  std::printf("BENCH robustness_total stablenn %.3f\n", seconds_since(total_start));
  print_gemm_rate("total", 0.0, seconds_since(total_start));
  std::printf("PEAKMEM robustness_total stablenn %.1f\n", peak_rss_mib());
  return 0;
}
