// datasets/loader.h — batches for training: seeded shuffling, augmentation, normalisation
// (chapter 3).
//
// Batch b of epoch e is a pure function of (seed, e, b): the shuffle of epoch e comes from
// Generator(mix_seed(seed, e)) and the augmentation of batch b from
// Generator(mix_seed(mix_seed(seed, e), b)). So the same seed gives the same batches, in any order,
// whichever thread builds them.
//
//   LoaderOptions options;
//   options.batch_size = 128;
//   DataLoader loader(train, options);
//   for (int64_t epoch = 0; epoch < epochs; ++epoch) {
//     EpochReader reader = loader.epoch(epoch);
//     Batch batch;
//     while (reader.next(batch)) { ... batch.inputs, batch.labels ... }
//   }
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "datasets/augment.h"
#include "datasets/dataset.h"

namespace stablenn {

// Chapter 3: how the loader batches.
struct LoaderOptions {
  int64_t batch_size = 128;
  bool shuffle = true;     // a new seeded order every epoch; false: file order
  bool drop_last = false;  // drop the last batch when it is smaller than batch_size
  uint64_t seed = 0;
  Augmentation augmentation;  // image datasets only; applied before normalisation
  // Per-channel normalisation (x - mean[c]) / std[c], c along axis 1 (channels of [N, C, H, W] or
  // features of [N, D]); both empty means none.
  std::vector<double> mean, std;
  // Build the next batch on a worker thread while the caller trains on this one. Measured in
  // bench/bench_loader.cpp: see the note there before turning it on.
  bool prefetch = false;
};

// Chapter 3: one batch.
struct Batch {
  Tensor inputs;                 // [B, C, H, W] (or [B, D]) float32
  Tensor labels;                 // [B] Int64
  std::vector<int64_t> indices;  // which examples of the dataset, in batch order
  int64_t epoch = 0, index = 0;
};

class DataLoader;

// Chapter 3: walks through the batches of one epoch in order (see DataLoader::epoch).
class EpochReader {
 public:
  EpochReader(const DataLoader& loader, int64_t epoch);
  ~EpochReader();
  EpochReader(const EpochReader&) = delete;
  EpochReader& operator=(const EpochReader&) = delete;
  EpochReader(EpochReader&&) = delete;
  // Fills `batch` with the next batch and returns true, or returns false after the last one.
  // An error while building a batch (on the worker thread too) is thrown here.
  bool next(Batch& batch);

 private:
  void worker_loop();
  const DataLoader& loader_;
  int64_t epoch_;
  std::vector<int64_t> order_;
  int64_t next_index_ = 0;
  // Prefetching: the worker builds batches into a one-slot queue.
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::unique_ptr<Batch> ready_;
  int64_t ready_index_ = -1;
  bool stop_ = false;
  std::exception_ptr error_;
};

// Chapter 3: the loader.
class DataLoader {
 public:
  // Keeps `data` (tensors are shared, not copied). Checks the options against the data and throws
  // naming the option that does not fit.
  DataLoader(Dataset data, LoaderOptions options);

  const Dataset& dataset() const { return data_; }
  const LoaderOptions& options() const { return options_; }
  int64_t num_batches() const;
  // The order of the examples in epoch `epoch`: a seeded permutation, or 0..N-1 without shuffle.
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  // Batch `index` of epoch `epoch` (random access; recomputes the epoch's order).
  Batch batch(int64_t epoch, int64_t index) const;
  // Batch `index` given the epoch's order. Built on the calling thread: the gather is memory-bound
  // and a few percent of a training step, and an OpenMP region per batch cost more than it saved
  // when the cores were busy (bench/bench_loader.cpp).
  Batch make_batch(const std::vector<int64_t>& order, int64_t epoch, int64_t index) const;
  // A reader over all batches of an epoch, prefetching when options().prefetch. The loader must
  // outlive the reader. (Returned by value: C++17 guarantees no copy or move happens.)
  EpochReader epoch(int64_t epoch) const;

 private:
  Dataset data_;
  LoaderOptions options_;
  std::vector<float> scale_, shift_;  // normalisation as x * scale[c] + shift[c]
};

// Chapter 3: per-channel mean and standard deviation (population) of inputs [N, C, ...] along
// axis 1, computed in double: the usual values for LoaderOptions::mean / std.
void channel_mean_std(const Tensor& inputs, std::vector<double>& mean, std::vector<double>& std);

}  // namespace stablenn
