// bench/bench_train.cpp — chapter 3 workloads: one training epoch over Fashion-MNIST (60,000 images;
// synthetic uniform images of the same shape when the data is absent), batch 128, shuffled and
// normalised by the loader, Adam lr 1e-3, cross-entropy, run by the chapter's Trainer (progress
// output off; the loss and accuracy are still read back every batch), for
//   mlp: Flatten, Linear(784, 256), ReLU, Linear(256, 256), ReLU, Linear(256, 10)   (chapter 3's MLP)
//   cnn: Conv(1->16, 3x3, pad 1), ReLU, MaxPool 2, Conv(16->32, 3x3, pad 1), ReLU, MaxPool 2,
//        Flatten, Linear(1568, 10).
// Prints "BENCH <workload> stablenn <seconds>" (median epoch time after a warm-up epoch) and
// "PEAKMEM <workload> stablenn <MiB>" (VmHWM while the workload ran, reset through
// /proc/self/clear_refs). Twin: bench_train.py.
// Usage: build/bench/bench_train [--quick] [--threads N] [--data-dir DIR] [--only mlp|cnn]
// --quick trains on the first 6,000 images with fewer repetitions (the twin does the same).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "datasets/datasets.h"
#include "layers/activations.h"
#include "layers/linear.h"
#include "train/trainer.h"
#include "bench/bench_util.h"

using namespace stablenn;
using namespace stablenn::bench;

namespace {

constexpr double kMean = 0.2860, kStd = 0.3530;  // Fashion-MNIST training set, as in chapter 3



Dataset training_set(const std::string& data_dir, bool quick) {
  Dataset data;
  try {
    data = load_fashion_mnist(Split::Train, data_dir, quick ? Subset::first(6000) : Subset::all());
  } catch (const DatasetMissing&) {  // absent; present but broken is an error (exit_on_broken_data)
    std::fprintf(stderr, "# fashion-mnist not found: timing synthetic images of the same shape\n");
    const int64_t n = quick ? 6000 : 60000;
    Generator g(0);
    data.name = "synthetic";
    data.inputs = g.uniform({n, 1, 28, 28});
    std::vector<int64_t> labels(static_cast<size_t>(n));
    for (auto& label : labels) label = g.randint(0, 10);
    data.labels = Tensor::from_int64(labels, {n});
    data.class_names = fashion_mnist_class_names();
  } catch (const Error& broken) {
    stablenn::bench::exit_on_broken_data(broken);
  }
  return data;
}

std::shared_ptr<Sequential> make_mlp(Generator& g) {
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Flatten>(), std::make_shared<Linear>(784, 256, true, g), ReLU(),
      std::make_shared<Linear>(256, 256, true, g), ReLU(), std::make_shared<Linear>(256, 10, true, g)});
}

std::shared_ptr<Sequential> make_cnn(Generator& g) {
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Conv2d>(1, 16, 3, 1, 1, true, g), ReLU(), std::make_shared<MaxPool2d>(2),
      std::make_shared<Conv2d>(16, 32, 3, 1, 1, true, g), ReLU(), std::make_shared<MaxPool2d>(2),
      std::make_shared<Flatten>(), std::make_shared<Linear>(32 * 7 * 7, 10, true, g)});
}

// Median time of the timed epochs; `accuracy` gets the training accuracy of the last one (the
// twin prints it too: the same model and optimiser should learn alike).
double median_epoch_seconds(Module& model, const DataLoader& loader, int warmup, int reps, double& accuracy) {
  Adam adam(model.parameters(), 1e-3);
  Trainer trainer(model, adam);
  trainer.options.epochs = 1;
  trainer.options.out = nullptr;
  std::vector<double> times;
  for (int r = 0; r < warmup + reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    const TrainResult result = trainer.fit(loader);
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (r >= warmup) times.push_back(t);
    accuracy = result.history.back().train_accuracy;
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = stablenn::bench::parse_bench_args(
      argc, argv, "[--quick] [--threads N] [--data-dir DIR] [--only mlp|cnn]", {"mlp", "cnn"});
  const bool quick = args.quick;
  const std::string& data_dir = args.data_dir;
  const std::string& only = args.only;  // one workload, e.g. for a profiler
  LoaderOptions options;
  options.batch_size = 128;
  options.seed = 1;
  options.mean = {kMean};
  options.std = {kStd};
  const DataLoader loader(training_set(data_dir, quick), options);
  const int warmup = 1, reps = quick ? 2 : 3;
  Generator g(0);
  const std::vector<std::pair<std::string, std::function<std::shared_ptr<Sequential>(Generator&)>>> workloads = {
      {"train_epoch_mlp_784_256_256_10_b128", make_mlp}, {"train_epoch_cnn_c16_c32_b128", make_cnn}};
  for (const auto& [name, make] : workloads) {
    if (!only.empty() && name.find("_" + only + "_") == std::string::npos) continue;
    reset_peak_rss();
    auto model = make(g);
    double accuracy = 0;
    const double seconds = median_epoch_seconds(*model, loader, warmup, reps, accuracy);
    std::printf("# %s: training accuracy of the last epoch %.4f\n", name.c_str(), accuracy);
    std::printf("BENCH %s stablenn %.6f\n", name.c_str(), seconds);
    std::printf("PEAKMEM %s stablenn %.1f\n", name.c_str(), peak_rss_mib());
    std::fflush(stdout);
  }
  return 0;
}
