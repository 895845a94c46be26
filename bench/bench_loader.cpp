// bench/bench_loader.cpp — chapter 3 workload: one epoch of the data loader at batch 128.
//   loader_epoch_fashion_b128           Fashion-MNIST train (60,000), shuffle + normalisation
//   loader_epoch_cifar10_aug_b128       CIFAR-10 train (50,000), shuffle + crop (pad 4) + flip +
//                                       normalisation (the CIFAR recipe of book/A-references.md §A.5)
//   loader_epoch_cifar10_aug_erase_b128 the same plus random erasing (p = 0.5)
// and, to decide whether the prefetching worker thread pays, the GEMMs of a 784-256-256-10 MLP
// training step (forward + backward, 8 matmuls) over one Fashion-MNIST epoch:
//   mlp_gemms_epoch_fashion_b128_nodata    the GEMMs on one fixed batch (no loader)
//   mlp_gemms_epoch_fashion_b128_serial    loader batches built on the calling thread
//   mlp_gemms_epoch_fashion_b128_prefetch  the next batch built on a worker thread meanwhile
// Measured on the 2-core development machine (busy with other builds, 1 thread): serial 1.61 s,
// prefetch 1.75 s, GEMMs alone 1.56 s per epoch. The loader costs about 3 % of the step and a
// second thread has no idle core to run on, so LoaderOptions::prefetch stays off by default.
// PyTorch twin: bench/bench_loader.py (the same loader work with torch tensor ops, and the real
// PyTorch MLP training epoch that the "< 5 % of a training epoch" target is measured against).
// Usage: build/bench/bench_loader [--quick] [--threads N] [--data-dir DIR]
// Without the real data it times synthetic data of the same size (and says so on stderr).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "core/stablenn_core.h"
#include "datasets/datasets.h"
#include "bench/bench_util.h"

namespace {

using namespace stablenn;
using namespace stablenn::bench;


// The real dataset, or uniform noise of the same shape when it is absent.
Dataset load_or_synthesise(const char* what, const std::function<Dataset()>& load, Shape shape) {
  try {
    return load();
  } catch (const DatasetMissing& error) {  // absent; present but broken is an error
    std::fprintf(stderr, "# %s not found, timing synthetic data of the same size:\n# %s\n", what,
                 error.what());
  } catch (const Error& broken) {
    stablenn::bench::exit_on_broken_data(broken);
  }
  Generator gen(0);
  Dataset data;
  data.name = what;
  data.inputs = gen.uniform(shape);
  std::vector<int64_t> labels(shape[0]);
  for (int64_t i = 0; i < shape[0]; ++i) labels[i] = i % 10;
  data.labels = Tensor::from_int64(labels, {shape[0]});
  data.class_names = mnist_class_names();
  return data;
}

// Consumes every batch of `epoch`; returns a checksum so the work cannot be optimised away.
double run_epoch(const DataLoader& loader, int64_t epoch,
                 const std::function<void(const Batch&)>& use = nullptr) {
  EpochReader reader = loader.epoch(epoch);
  Batch batch;
  double checksum = 0;
  while (reader.next(batch)) {
    checksum += batch.inputs.data<float>()[0];
    if (use) use(batch);
  }
  return checksum;
}

// The 8 GEMMs of one training step of a 784-256-256-10 MLP, batch x: [B, 784].
struct MlpGemms {
  Tensor w1, w2, w3, g3;
  explicit MlpGemms(Generator& gen)
      : w1(gen.normal({784, 256}, 0, 0.05)), w2(gen.normal({256, 256}, 0, 0.06)),
        w3(gen.normal({256, 10}, 0, 0.06)), g3(gen.normal({128, 10})) {}
  double step(const Tensor& x) const {
    const Tensor h1 = relu(matmul(x, w1)), h2 = relu(matmul(h1, w2));
    const Tensor out = matmul(h2, w3);
    const Tensor g = g3.narrow(0, 0, x.size(0));
    const Tensor gw3 = matmul(h2.t(), g), g2 = matmul(g, w3.t());
    const Tensor gw2 = matmul(h1.t(), g2), g1 = matmul(g2, w2.t());
    const Tensor gw1 = matmul(x.t(), g1);
    return gw1.data<float>()[0] + gw2.data<float>()[0] + gw3.data<float>()[0] +
           out.data<float>()[0];
  }
};

}  // namespace

int main(int argc, char** argv) {
  const auto args =
      stablenn::bench::parse_bench_args(argc, argv, "[--quick] [--threads N] [--data-dir DIR]");
  const bool quick = args.quick;
  const std::string& data_dir = args.data_dir;
  const int warmup = quick ? 1 : 2, reps = quick ? 3 : 9;
  volatile double sink = 0;

  const Dataset fashion = load_or_synthesise(
      "fashion-mnist", [&] { return load_fashion_mnist(Split::Train, data_dir); }, {60000, 1, 28, 28});
  const Dataset cifar = load_or_synthesise(
      "cifar-10", [&] { return load_cifar10(Split::Train, data_dir); }, {50000, 3, 32, 32});

  LoaderOptions fashion_options;
  fashion_options.batch_size = 128;
  fashion_options.seed = 1;
  channel_mean_std(fashion.inputs, fashion_options.mean, fashion_options.std);
  const DataLoader fashion_loader(fashion, fashion_options);
  int64_t epoch = 0;
  std::printf("BENCH loader_epoch_fashion_b128 stablenn %.6f\n",
              median_seconds([&] { sink = sink + run_epoch(fashion_loader, epoch++); }, warmup, reps));
  std::fflush(stdout);

  LoaderOptions cifar_options;
  cifar_options.batch_size = 128;
  cifar_options.seed = 2;
  cifar_options.augmentation.crop_padding = 4;
  cifar_options.augmentation.horizontal_flip = true;
  channel_mean_std(cifar.inputs, cifar_options.mean, cifar_options.std);
  const DataLoader cifar_loader(cifar, cifar_options);
  std::printf("BENCH loader_epoch_cifar10_aug_b128 stablenn %.6f\n",
              median_seconds([&] { sink = sink + run_epoch(cifar_loader, epoch++); }, warmup, reps));
  std::fflush(stdout);
  cifar_options.augmentation.erasing_probability = 0.5;
  const DataLoader erasing_loader(cifar, cifar_options);
  std::printf("BENCH loader_epoch_cifar10_aug_erase_b128 stablenn %.6f\n",
              median_seconds([&] { sink = sink + run_epoch(erasing_loader, epoch++); }, warmup, reps));
  std::fflush(stdout);

  // Does a worker thread pay? Time the MLP's GEMMs with batches from the loader, built serially or
  // prefetched, against the GEMMs alone.
  Generator gen(3);
  const MlpGemms mlp(gen);
  const Tensor fixed_batch = fashion_loader.batch(0, 0).inputs.reshape({128, 784});
  const int64_t batches = fashion_loader.num_batches();
  std::printf("BENCH mlp_gemms_epoch_fashion_b128_nodata stablenn %.6f\n",
              median_seconds(
                  [&] {
                    for (int64_t b = 0; b < batches; ++b) sink = sink + mlp.step(fixed_batch);
                  },
                  warmup, reps));
  const auto use = [&](const Batch& batch) {
    sink = sink + mlp.step(batch.inputs.reshape({batch.inputs.size(0), 784}));
  };
  std::printf("BENCH mlp_gemms_epoch_fashion_b128_serial stablenn %.6f\n",
              median_seconds([&] { sink = sink + run_epoch(fashion_loader, epoch++, use); }, warmup,
                             reps));
  fashion_options.prefetch = true;
  const DataLoader prefetching(fashion, fashion_options);
  std::printf("BENCH mlp_gemms_epoch_fashion_b128_prefetch stablenn %.6f\n",
              median_seconds([&] { sink = sink + run_epoch(prefetching, epoch++, use); }, warmup,
                             reps));
  return 0;
}
