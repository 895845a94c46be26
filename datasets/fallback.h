// datasets/fallback.h — the real dataset when its files are present, the synthetic shapes set when
// they are not (chapter 3). Every chapter program runs on a fresh clone with no data this way, and
// says so.
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

// Chapter 3: Fashion-MNIST (stratified seeded subsets of `train_count` and `test_count` examples;
// 0 = all) when its files are found (search order of data_dir.h), otherwise the synthetic shapes set
// with the same sizes (10 classes, 28x28; 0 becomes 60,000 / 10,000) and a note naming the folders
// searched and scripts/download_data.sh. Files that are present but broken still throw.
TrainTestData fashion_mnist_or_shapes(const std::string& data_dir, int64_t train_count,
                                      int64_t test_count, uint64_t seed);

}  // namespace stablenn
