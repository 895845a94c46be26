// datasets/fallback.cpp — real data or the synthetic stand-in (chapter 3).
#include "datasets/fallback.h"

#include "datasets/data_dir.h"
#include "datasets/mnist.h"
#include "datasets/shapes.h"

namespace stablenn {

TrainTestData fashion_mnist_or_shapes(const std::string& data_dir, int64_t train_count,
                                      int64_t test_count, uint64_t seed) {
  TrainTestData out;
  std::vector<std::string> files = idx_file_names(Split::Train);
  for (const std::string& f : idx_file_names(Split::Test)) files.push_back(f);
  try {
    find_dataset_folder("fashion-mnist", {"fashion-mnist", "FashionMNIST/raw"}, files, data_dir);
  } catch (const Error& missing) {
    Generator gen(seed);
    out.train = make_shapes(train_count > 0 ? train_count : 60000, gen);
    out.test = make_shapes(test_count > 0 ? test_count : 10000, gen);
    out.synthetic = true;
    out.note = std::string("Fashion-MNIST was not found, so this run uses the SYNTHETIC shapes set "
                           "(10 classes of drawn shapes, 28x28) instead; its numbers are not the "
                           "book's.\n") + missing.what();
    return out;
  }
  const auto subset = [seed](int64_t n) {
    return n > 0 ? Subset::random(n, seed, true) : Subset::all();
  };
  out.train = load_fashion_mnist(Split::Train, data_dir, subset(train_count));
  out.test = load_fashion_mnist(Split::Test, data_dir, subset(test_count));
  out.note = "Fashion-MNIST: " + std::to_string(out.train.size()) + " training and " +
             std::to_string(out.test.size()) + " test images.";
  return out;
}

}  // namespace stablenn
