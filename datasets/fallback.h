// datasets/fallback.h — the real dataset when its files are present, the synthetic shapes set when
// they are absent (chapter 3). Every chapter program runs on a fresh clone with no data this way, and
// says so. Files that are present but broken are never taken for absent: they throw.
#pragma once
#include <string>

#include "datasets/dataset.h"

namespace stablenn {

// Chapter 3: a training and a test set, and where they came from.
struct TrainTestData {
  Dataset train, test;
  bool synthetic = false;  // true: the shapes set stands in for the real data
  std::string note;        // one paragraph for the user: which data, and how to get the real one
};

// Chapter 3: Fashion-MNIST, stratified seeded subsets of `train_count` and `test_count` examples
// (0 = all), found in the search order of data_dir.h. Throws DatasetMissing when the files are
// absent, and a plain Error naming the file when one is present but cannot be read.
TrainTestData load_fashion_mnist_subsets(const std::string& data_dir, int64_t train_count,
                                         int64_t test_count, uint64_t seed);

// Chapter 3: the synthetic shapes set standing in for Fashion-MNIST with the same sizes (10
// classes, 28x28; 0 becomes 60,000 / 10,000), drawn from Generator(seed); marked synthetic.
TrainTestData shapes_stand_in(int64_t train_count, int64_t test_count, uint64_t seed);

// Chapter 3: load_fashion_mnist_subsets, or shapes_stand_in with a note naming the folders searched
// and scripts/download_data.sh when the files are absent. Files present but broken still throw.
TrainTestData fashion_mnist_or_shapes(const std::string& data_dir, int64_t train_count,
                                      int64_t test_count, uint64_t seed);

}  // namespace stablenn
