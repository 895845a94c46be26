// datasets/fallback.cpp — real data or the synthetic stand-in (chapter 3).
#include "datasets/fallback.h"

#include "datasets/data_dir.h"
#include "datasets/mnist.h"
#include "datasets/shapes.h"

namespace stablenn {

TrainTestData load_fashion_mnist_subsets(const std::string& data_dir, int64_t train_count,
                                         int64_t test_count, uint64_t seed) {
  // All four files first: a folder with the training files but not the test files is "absent",
  // before minutes go into reading the training set.
  std::vector<std::string> files = idx_file_names(Split::Train);
  for (const std::string& f : idx_file_names(Split::Test)) files.push_back(f);
  find_dataset_folder("fashion-mnist", {"fashion-mnist", "FashionMNIST/raw"}, files, data_dir);
  const auto subset = [seed](int64_t n) {
    return n > 0 ? Subset::random(n, seed, true) : Subset::all();
  };
  TrainTestData out;
  out.train = load_fashion_mnist(Split::Train, data_dir, subset(train_count));
  out.test = load_fashion_mnist(Split::Test, data_dir, subset(test_count));
  out.note = "Fashion-MNIST: " + std::to_string(out.train.size()) + " training and " +
             std::to_string(out.test.size()) + " test images.";
  return out;
}

TrainTestData shapes_stand_in(int64_t train_count, int64_t test_count, uint64_t seed) {
  TrainTestData out;
  Generator gen(seed);
  out.train = make_shapes(train_count > 0 ? train_count : 60000, gen);
  out.test = make_shapes(test_count > 0 ? test_count : 10000, gen);
  out.synthetic = true;
  return out;
}

TrainTestData fashion_mnist_or_shapes(const std::string& data_dir, int64_t train_count,
                                      int64_t test_count, uint64_t seed) {
  try {
    return load_fashion_mnist_subsets(data_dir, train_count, test_count, seed);
  } catch (const DatasetMissing& missing) {
    TrainTestData out = shapes_stand_in(train_count, test_count, seed);
    out.note = std::string("Fashion-MNIST was not found, so this run uses the SYNTHETIC shapes set "
                           "(10 classes of drawn shapes, 28x28) instead; its numbers are not the "
                           "book's.\n") + missing.what();
    return out;
  }
}

}  // namespace stablenn
