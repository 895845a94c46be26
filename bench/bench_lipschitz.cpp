// bench/bench_lipschitz.cpp — chapter 7 workload: one training epoch of the dense non-expansive
// network (notebooks_cpp/ch07_model.h: Flatten, lift Linear 784->256 normalised to ||W|| <= 1,
// 5 gradient-step blocks 256x256 with T = 1 and adaptive Euler sub-steps, LeakyReLU 0.1, head
// Linear 256->10 normalised to <= 1) on the first 30,000 Fashion-MNIST training images (pixels in
// [0, 1], no normalisation; uniform random images of the same shape when the data is absent),
// batch 128, shuffled, cross-entropy on 16 x logits, Adam lr 1e-3; one warm-started power iteration
// per layer and training step, 1000 at initialisation. Every repetition starts from a freshly
// initialised model (same seed), so every repetition does the same work.
// Prints "BENCH lipschitz_epoch_nonexpansive_784_256x5_b128 stablenn <seconds>" (median after a
// warm-up of 20 batches) and a comment line with the sub-steps taken. Twin: bench_lipschitz.py.
// Usage: build/bench/bench_lipschitz [--quick] [--threads N] [--data-dir DIR]
// --quick trains on the first 6,000 images with fewer repetitions (the twin does the same).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "datasets/datasets.h"
#include "train/optim.h"
#include "bench/bench_util.h"
#include "notebooks_cpp/ch07_model.h"

using namespace stablenn;

namespace {

Dataset training_set(const std::string& data_dir, int64_t count) {
  try {
    return load_fashion_mnist(Split::Train, data_dir, Subset::first(count));
  } catch (const DatasetMissing&) {  // absent; present but broken is an error (exit_on_broken_data)
    std::fprintf(stderr, "# fashion-mnist not found: timing synthetic images of the same shape\n");
    Generator g(0);
    Dataset d;
    d.name = "uniform";
    d.inputs = g.uniform({count, 1, 28, 28});
    std::vector<int64_t> labels(static_cast<size_t>(count));
    for (auto& l : labels) l = g.randint(0, 10);
    d.labels = Tensor::from_int64(labels, {count});
    d.class_names.assign(10, "c");
    return d;
  } catch (const Error& broken) {
    stablenn::bench::exit_on_broken_data(broken);
  }
}

struct EpochStats {
  double seconds = 0;
  int64_t substeps = 0;  // sub-steps of the blocks summed over the epoch's forward passes
  double last_loss = 0;
};

// Trains a fresh model for max_batches batches (all when < 0) of the loader's epoch 0.
EpochStats train_epoch(const DataLoader& loader, int64_t max_batches) {
  Generator g(7);
  auto model = ch07::make_nonexpansive_mlp({}, g);
  Adam adam(model->parameters(), 1e-3);
  EpochStats stats;
  const auto start = std::chrono::steady_clock::now();
  EpochReader reader = loader.epoch(0);
  Batch batch;
  int64_t b = 0;
  while ((max_batches < 0 || b < max_batches) && reader.next(batch)) {
    adam.zero_grad();
    const Var logits = (*model)(Var(batch.inputs));
    const Var loss = ch07::temperature_cross_entropy(logits, batch.labels, 16.0);
    backward(loss);
    adam.step();
    stats.last_loss = loss.item();  // read back every batch, as a progress bar does
    stats.substeps += ch07::total_substeps(*model);
    ++b;
  }
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args =
      stablenn::bench::parse_bench_args(argc, argv, "[--quick] [--threads N] [--data-dir DIR]");
  const bool quick = args.quick;
  const std::string& data_dir = args.data_dir;
  LoaderOptions options;
  options.batch_size = 128;
  options.seed = 1;
  const DataLoader loader(training_set(data_dir, quick ? 6000 : 30000), options);
  train_epoch(loader, 20);  // warm-up: allocator, BLAS threads, caches
  const int reps = quick ? 2 : 3;
  std::vector<double> times;
  EpochStats stats;
  for (int r = 0; r < reps; ++r) {
    stats = train_epoch(loader, -1);
    times.push_back(stats.seconds);
  }
  std::sort(times.begin(), times.end());
  std::printf("BENCH lipschitz_epoch_nonexpansive_784_256x5_b128 stablenn %.6f\n", times[times.size() / 2]);
  std::printf("# sub-steps per epoch %lld (5 blocks, %.2f per batch), last loss %.4f\n",
              static_cast<long long>(stats.substeps), double(stats.substeps) / double(loader.num_batches()),
              stats.last_loss);
  return 0;
}
