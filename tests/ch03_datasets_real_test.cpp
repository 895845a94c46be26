// tests/ch03_datasets_real_test.cpp — the real MNIST, Fashion-MNIST and CIFAR-10 files (chapter 3):
// counts, label histograms and a pixel checksum computed here from the raw bytes (read with zlib
// directly), not from the library. Skipped with a message when the data is absent.
#include <gtest/gtest.h>

#include <cmath>

#include "ch03_datasets_util.h"
#include "core/stablenn_core.h"
#include "datasets/datasets.h"

using namespace stablenn;

namespace {

constexpr int kCifarPixels = 3072;

std::string real_folder(const std::string& dataset, const std::string& probe) {
  const std::string folder = datasets_test::real_data_root() + "/" + dataset;
  return find_raw_or_gz(folder, probe).empty() ? "" : folder;
}

#define REQUIRE_DATA(folder, dataset)                                                    \
  if ((folder).empty())                                                                  \
  GTEST_SKIP() << dataset << " not found under " << datasets_test::real_data_root()      \
               << " (set STABLENN_DATA or run scripts/download_data.sh)"

// Sum of the bytes of `bytes` from `offset` on, skipping `skip` bytes at the start of every
// `record`-byte record (CIFAR label bytes); record = 0 means no records.
uint64_t byte_sum(const std::vector<uint8_t>& bytes, size_t offset, size_t record, size_t skip) {
  uint64_t sum = 0;
  for (size_t k = offset; k < bytes.size(); ++k) {
    if (record != 0 && (k - offset) % record < skip) continue;
    sum += bytes[k];
  }
  return sum;
}

// Sum of round(255 * x) over the tensor, checking every value is a whole multiple of 1/255.
uint64_t pixel_sum(const Tensor& images) {
  uint64_t sum = 0;
  int64_t off_grid = 0;
  const Tensor contiguous = images.contiguous();
  const float* p = contiguous.data<float>();
  for (int64_t k = 0; k < images.numel(); ++k) {
    const double scaled = double(p[k]) * 255.0;
    const double rounded = std::round(scaled);
    if (std::abs(scaled - rounded) > 1e-3 || rounded < 0 || rounded > 255) ++off_grid;
    sum += static_cast<uint64_t>(rounded);
  }
  EXPECT_EQ(off_grid, 0) << "values that are not k / 255 with k in 0..255";
  return sum;
}

std::vector<int64_t> histogram_of(const std::vector<uint8_t>& bytes, size_t offset, size_t stride,
                                  int classes) {
  std::vector<int64_t> counts(classes, 0);
  for (size_t k = offset; k < bytes.size(); k += stride) ++counts.at(bytes[k]);
  return counts;
}

TEST(RealData, MnistTrain) {
  const std::string folder = real_folder("mnist", "train-images-idx3-ubyte");
  REQUIRE_DATA(folder, "MNIST");
  const Dataset train = load_mnist(Split::Train, datasets_test::real_data_root());
  ASSERT_EQ(train.inputs.shape(), (Shape{60000, 1, 28, 28}));
  EXPECT_EQ(class_counts(train), (std::vector<int64_t>{5923, 6742, 5958, 6131, 5842, 5421, 5918,
                                                       6265, 5851, 5949}));
  const std::vector<uint8_t> raw =
      datasets_test::gunzip_file(find_raw_or_gz(folder, "train-images-idx3-ubyte"));
  ASSERT_EQ(raw.size(), 47040016u);
  EXPECT_EQ(pixel_sum(train.inputs), byte_sum(raw, 16, 0, 0));
  // One image element by element: image 12345, in the raw file at 16 + 12345 * 784.
  const std::vector<float> image = train.inputs.select(0, 12345).to_floats();
  for (int k = 0; k < 784; ++k) ASSERT_EQ(image[k], raw[16 + 12345 * 784 + k] / 255.0f);
}

TEST(RealData, MnistTest) {
  const std::string folder = real_folder("mnist", "t10k-images-idx3-ubyte");
  REQUIRE_DATA(folder, "MNIST");
  const Dataset test = load_mnist(Split::Test, datasets_test::real_data_root());
  ASSERT_EQ(test.inputs.shape(), (Shape{10000, 1, 28, 28}));
  EXPECT_EQ(class_counts(test),
            (std::vector<int64_t>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}));
  const std::vector<uint8_t> labels =
      datasets_test::gunzip_file(find_raw_or_gz(folder, "t10k-labels-idx1-ubyte"));
  EXPECT_EQ(class_counts(test), histogram_of(labels, 8, 1, 10));
}

TEST(RealData, FashionMnist) {
  const std::string folder = real_folder("fashion-mnist", "train-images-idx3-ubyte");
  REQUIRE_DATA(folder, "Fashion-MNIST");
  const Dataset train = load_fashion_mnist(Split::Train, datasets_test::real_data_root());
  ASSERT_EQ(train.size(), 60000);
  EXPECT_EQ(class_counts(train), std::vector<int64_t>(10, 6000));
  const Dataset test = load_fashion_mnist(Split::Test, datasets_test::real_data_root());
  ASSERT_EQ(test.inputs.shape(), (Shape{10000, 1, 28, 28}));
  EXPECT_EQ(class_counts(test), std::vector<int64_t>(10, 1000));
  const std::vector<uint8_t> raw =
      datasets_test::gunzip_file(find_raw_or_gz(folder, "t10k-images-idx3-ubyte"));
  EXPECT_EQ(pixel_sum(test.inputs), byte_sum(raw, 16, 0, 0));
  EXPECT_EQ(test.class_names[0], "T-shirt/top");
  // A stratified subset of 30,000 (the chapter's training subset) has 3,000 per class.
  const Dataset half = take_subset(train, Subset::random(30000, 7, true));
  EXPECT_EQ(class_counts(half), std::vector<int64_t>(10, 3000));
}

TEST(RealData, Cifar10Test) {
  const std::string folder = real_folder("cifar-10", "test_batch.bin");
  REQUIRE_DATA(folder, "CIFAR-10");
  const Dataset test = load_cifar10(Split::Test, datasets_test::real_data_root());
  ASSERT_EQ(test.inputs.shape(), (Shape{10000, 3, 32, 32}));
  EXPECT_EQ(class_counts(test), std::vector<int64_t>(10, 1000));
  EXPECT_EQ(test.class_names, cifar10_class_names());  // batches.meta.txt agrees with the built-in
  const std::vector<uint8_t> raw = datasets_test::gunzip_file(find_raw_or_gz(folder, "test_batch.bin"));
  ASSERT_EQ(raw.size(), 30730000u);
  EXPECT_EQ(pixel_sum(test.inputs), byte_sum(raw, 0, 3073, 1));
  EXPECT_EQ(test.labels.to_int64()[0], raw[0]);
  // Record 9999: green plane, row 31, column 0 is byte 1 + 1024 + 31 * 32.
  EXPECT_EQ(test.inputs.at({9999, 1, 31, 0}), raw[9999 * 3073 + 1 + 1024 + 31 * 32] / 255.0f);
}

TEST(RealData, Cifar10Train) {
  const std::string folder = real_folder("cifar-10", "data_batch_5.bin");
  REQUIRE_DATA(folder, "CIFAR-10");
  const Dataset train = load_cifar10(Split::Train, datasets_test::real_data_root());
  ASSERT_EQ(train.inputs.shape(), (Shape{50000, 3, 32, 32}));
  EXPECT_EQ(class_counts(train), std::vector<int64_t>(10, 5000));
  // Batch 3's labels (images 20000..29999) against the raw file: 994 1042 965 997 990 ...
  const std::vector<uint8_t> raw =
      datasets_test::gunzip_file(find_raw_or_gz(folder, "data_batch_3.bin"));
  const std::vector<int64_t> labels = train.labels.to_int64();
  std::vector<int64_t> batch3(10, 0);
  for (int i = 20000; i < 30000; ++i) ++batch3[labels[i]];
  EXPECT_EQ(batch3, histogram_of(raw, 0, 3073, 10));
  // Pixels: Cifar10Test checks a whole file; here one image in the middle of batch 3 suffices.
  const std::vector<float> image = train.inputs.select(0, 25000).to_floats();
  for (int k = 0; k < kCifarPixels; ++k) ASSERT_EQ(image[k], raw[5000 * 3073 + 1 + k] / 255.0f);
}

}  // namespace
