// tests/ch03_datasets_loader_test.cpp — the loader (seeded shuffling, batching, drop-last,
// normalisation, prefetching), subsets, augmentation against naive loops, and the corruptions
// (chapters 3 and 8).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "ch03_datasets_util.h"
#include "core/stablenn_core.h"
#include "datasets/datasets.h"

using namespace stablenn;
using datasets_test::error_message;

namespace {

// n images [n, C, H, W] with values k/255-like in [0, 1], labels i % classes.
Dataset small_images(int64_t n, int64_t channels, int64_t height, int64_t width, int64_t classes) {
  Generator gen(123);
  Dataset data;
  data.name = "small";
  data.inputs = gen.uniform({n, channels, height, width});
  std::vector<int64_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = i % classes;
  data.labels = Tensor::from_int64(labels, {n});
  for (int64_t c = 0; c < classes; ++c) data.class_names.push_back(std::to_string(c));
  return data;
}

std::vector<Batch> read_epoch(const DataLoader& loader, int64_t epoch) {
  std::vector<Batch> batches;
  EpochReader reader = loader.epoch(epoch);
  Batch batch;
  while (reader.next(batch)) batches.push_back(batch);
  return batches;
}

void expect_same_batches(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].indices, b[k].indices) << "batch " << k;
    EXPECT_EQ(a[k].labels.to_int64(), b[k].labels.to_int64()) << "batch " << k;
    EXPECT_EQ(a[k].inputs.to_floats(), b[k].inputs.to_floats()) << "batch " << k;
  }
}

TEST(Loader, EveryExampleOnceAndBatchSizes) {
  const Dataset data = small_images(103, 1, 4, 4, 10);
  LoaderOptions options;
  options.batch_size = 10;
  options.seed = 5;
  DataLoader loader(data, options);
  EXPECT_EQ(loader.num_batches(), 11);
  const std::vector<Batch> batches = read_epoch(loader, 0);
  ASSERT_EQ(batches.size(), 11u);
  std::multiset<int64_t> seen;
  const std::vector<float> all = data.inputs.to_floats();
  const std::vector<int64_t> all_labels = data.labels.to_int64();
  for (size_t k = 0; k < batches.size(); ++k) {
    const Batch& b = batches[k];
    EXPECT_EQ(b.inputs.size(0), k < 10 ? 10 : 3);
    EXPECT_EQ(b.labels.dtype(), DType::Int64);
    const std::vector<float> values = b.inputs.to_floats();
    const std::vector<int64_t> labels = b.labels.to_int64();
    for (size_t j = 0; j < b.indices.size(); ++j) {
      seen.insert(b.indices[j]);
      EXPECT_EQ(labels[j], all_labels[b.indices[j]]);
      for (int p = 0; p < 16; ++p) ASSERT_EQ(values[j * 16 + p], all[b.indices[j] * 16 + p]);
    }
  }
  EXPECT_EQ(seen.size(), 103u);
  EXPECT_EQ(*seen.begin(), 0);
  EXPECT_EQ(*seen.rbegin(), 102);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 103u);  // no repeats

  options.drop_last = true;
  DataLoader dropping(data, options);
  EXPECT_EQ(dropping.num_batches(), 10);
  EXPECT_EQ(read_epoch(dropping, 0).size(), 10u);
  // Without shuffling, file order.
  options.shuffle = false;
  DataLoader ordered(data, options);
  EXPECT_EQ(read_epoch(ordered, 3)[2].indices, (std::vector<int64_t>{20, 21, 22, 23, 24, 25, 26,
                                                                       27, 28, 29}));
}

TEST(Loader, SameSeedSameBatchesNewOrderEachEpoch) {
  const Dataset data = small_images(64, 3, 8, 8, 4);
  LoaderOptions options;
  options.batch_size = 16;
  options.seed = 42;
  options.augmentation.crop_padding = 2;
  options.augmentation.horizontal_flip = true;
  options.augmentation.erasing_probability = 0.5;
  const DataLoader a(data, options), b(data, options);
  expect_same_batches(read_epoch(a, 0), read_epoch(b, 0));
  expect_same_batches(read_epoch(a, 1), read_epoch(b, 1));
  EXPECT_NE(read_epoch(a, 0)[0].indices, read_epoch(a, 1)[0].indices);
  options.seed = 43;
  const DataLoader c(data, options);
  EXPECT_NE(read_epoch(a, 0)[0].indices, read_epoch(c, 0)[0].indices);
  // Random access gives the same batch as the sequential reader.
  const Batch third = a.batch(1, 2);
  expect_same_batches({third}, {read_epoch(a, 1)[2]});
}

TEST(Loader, PrefetchGivesTheSameBatches) {
  const Dataset data = small_images(50, 3, 6, 6, 5);
  LoaderOptions options;
  options.batch_size = 7;
  options.seed = 9;
  options.augmentation.crop_padding = 1;
  options.augmentation.horizontal_flip = true;
  options.mean = {0.5, 0.4, 0.3};
  options.std = {0.2, 0.25, 0.3};
  const DataLoader plain(data, options);
  options.prefetch = true;
  const DataLoader prefetching(data, options);
  for (int epoch = 0; epoch < 3; ++epoch) {
    expect_same_batches(read_epoch(plain, epoch), read_epoch(prefetching, epoch));
  }
  // Stopping early (the reader destroyed mid-epoch) joins the worker cleanly.
  {
    EpochReader reader = prefetching.epoch(0);
    Batch batch;
    ASSERT_TRUE(reader.next(batch));
  }
}

TEST(Loader, NormalisationPerChannel) {
  const Dataset data = small_images(20, 2, 3, 3, 2);
  LoaderOptions options;
  options.batch_size = 20;
  options.shuffle = false;
  options.mean = {0.25, 0.75};
  options.std = {0.5, 2.0};
  const DataLoader loader(data, options);
  const std::vector<float> got = loader.batch(0, 0).inputs.to_floats();
  const std::vector<float> raw = data.inputs.to_floats();
  for (size_t k = 0; k < raw.size(); ++k) {
    const int c = (k / 9) % 2;
    EXPECT_NEAR(got[k], (raw[k] - options.mean[c]) / options.std[c], 1e-6);
  }
  // channel_mean_std against a direct sum.
  std::vector<double> mean, std;
  channel_mean_std(data.inputs, mean, std);
  for (int c = 0; c < 2; ++c) {
    double s = 0, s2 = 0;
    for (size_t k = 0; k < raw.size(); ++k) {
      if (static_cast<int>((k / 9) % 2) == c) s += raw[k];
    }
    const double m = s / 180;
    for (size_t k = 0; k < raw.size(); ++k) {
      if (static_cast<int>((k / 9) % 2) == c) s2 += (raw[k] - m) * (raw[k] - m);
    }
    EXPECT_NEAR(mean[c], m, 1e-9);
    EXPECT_NEAR(std[c], std::sqrt(s2 / 180), 1e-9);
  }
}

TEST(Loader, FusedAugmentationEqualsTheSeparateFunctions) {
  // The loader crops/flips while gathering; augment() does it on a plain batch. Same draws, same
  // result.
  const Dataset data = small_images(40, 3, 8, 8, 4);
  LoaderOptions plain_options;
  plain_options.batch_size = 16;
  plain_options.seed = 11;
  LoaderOptions options = plain_options;
  options.augmentation.crop_padding = 3;
  options.augmentation.horizontal_flip = true;
  options.augmentation.erasing_probability = 0.7;
  const DataLoader plain(data, plain_options), augmented(data, options);
  for (int64_t index = 0; index < augmented.num_batches(); ++index) {
    const Batch batch = augmented.batch(2, index);
    Generator gen(mix_seed(mix_seed(options.seed, 2), static_cast<uint64_t>(index)));
    const Tensor expected = augment(plain.batch(2, index).inputs, options.augmentation, gen);
    EXPECT_EQ(batch.inputs.to_floats(), expected.to_floats()) << "batch " << index;
  }
  // With normalisation too: normalised after augmenting (erased pixels become (0 - mean) / std).
  options.mean = {0.1, 0.2, 0.3};
  options.std = {0.5, 0.25, 2.0};
  const DataLoader normalising(data, options);
  const Tensor mean_t = Tensor::from_vector(options.mean, {1, 3, 1, 1});
  const Tensor std_t = Tensor::from_vector(options.std, {1, 3, 1, 1});
  for (int64_t index = 0; index < normalising.num_batches(); ++index) {
    Generator gen(mix_seed(mix_seed(options.seed, 2), static_cast<uint64_t>(index)));
    const Tensor expected =
        div(sub(augment(plain.batch(2, index).inputs, options.augmentation, gen), mean_t), std_t);
    EXPECT_LT(max_abs_diff(normalising.batch(2, index).inputs, expected), 1e-6) << "batch " << index;
  }
}

TEST(Loader, BadOptionsAreNamed) {
  const Dataset images = small_images(10, 3, 4, 4, 2);
  LoaderOptions options;
  options.batch_size = 0;
  EXPECT_NE(error_message([&] { (void)DataLoader(images, options); }).find("batch_size must be > 0"),
            std::string::npos);
  options.batch_size = 4;
  options.mean = {0.5};
  options.std = {0.5};
  EXPECT_NE(error_message([&] { (void)DataLoader(images, options); }).find("1 channels"),
            std::string::npos);
  Dataset points;
  points.name = "points";
  points.inputs = Tensor::zeros({10, 2});
  points.labels = Tensor::zeros({10}, DType::Int64);
  LoaderOptions augmenting;
  augmenting.augmentation.horizontal_flip = true;
  EXPECT_NE(error_message([&] { (void)DataLoader(points, augmenting); }).find("needs images"),
            std::string::npos);
  const DataLoader loader(images, LoaderOptions{});
  EXPECT_NE(error_message([&] { loader.batch(0, 5); }).find("batch 5 outside"), std::string::npos);
}

// ---- augmentation against naive loops ----

TEST(Augment, CropAndFlipMatchPaddingSlicingAndMirroring) {
  const Tensor images = small_images(12, 2, 5, 7, 2).inputs;
  const int64_t pad = 2;
  for (bool flip : {false, true}) {
    Augmentation options;
    options.crop_padding = pad;
    options.horizontal_flip = flip;
    Generator gen(3), same(3);
    const Tensor out = flip ? augment(images, options, gen) : random_crop(images, pad, gen);
    const std::vector<CropFlip> draws = draw_crop_flip(12, pad, flip, same);
    ASSERT_EQ(out.shape(), images.shape());
    for (int64_t i = 0; i < 12; ++i) {
      EXPECT_GE(draws[i].top, 0);
      EXPECT_LE(draws[i].top, 2 * pad);
      for (int64_t c = 0; c < 2; ++c) {
        for (int64_t y = 0; y < 5; ++y) {
          for (int64_t x = 0; x < 7; ++x) {
            // Padded image P has P[y + pad][x + pad] = image[y][x] and zeros around it; the output
            // is the 5x7 window of P at (top, left), read mirrored when flipped.
            const int64_t column = draws[i].flip ? 6 - x : x;
            const int64_t py = draws[i].top + y - pad, px = draws[i].left + column - pad;
            const double want =
                (py >= 0 && py < 5 && px >= 0 && px < 7) ? images.at({i, c, py, px}) : 0.0;
            ASSERT_EQ(out.at({i, c, y, x}), want) << "flip " << flip << " image " << i;
          }
        }
      }
    }
  }
}

TEST(Augment, FlipMirrorsAboutHalfTheImages) {
  const Tensor images = small_images(200, 1, 3, 4, 2).inputs;
  Generator gen(8);
  const Tensor flipped = random_horizontal_flip(images, gen);
  int64_t mirrored = 0;
  for (int64_t i = 0; i < 200; ++i) {
    bool is_mirror = true, is_same = true;
    for (int64_t y = 0; y < 3; ++y) {
      for (int64_t x = 0; x < 4; ++x) {
        is_mirror = is_mirror && flipped.at({i, 0, y, x}) == images.at({i, 0, y, 3 - x});
        is_same = is_same && flipped.at({i, 0, y, x}) == images.at({i, 0, y, x});
      }
    }
    EXPECT_TRUE(is_mirror != is_same) << "image " << i;
    mirrored += is_mirror;
  }
  EXPECT_GT(mirrored, 70);  // Binomial(200, 1/2): 100 +- 7
  EXPECT_LT(mirrored, 130);
}

TEST(Augment, ErasingBoxesInsideWithTheAskedArea) {
  const Tensor images = add(mul(small_images(300, 3, 32, 32, 2).inputs, 0.5), 0.25);  // no exact 0
  Augmentation options;
  options.erasing_probability = 0.5;
  Generator gen(21), same(21);
  const Tensor erased = random_erasing(images, options, gen);
  const std::vector<EraseBox> boxes = draw_erase_boxes(300, 32, 32, options, same);
  int64_t count = 0;
  for (int64_t i = 0; i < 300; ++i) {
    const EraseBox& box = boxes[i];
    if (box.height == 0) continue;
    ++count;
    EXPECT_GE(box.top, 0);
    EXPECT_LE(box.top + box.height, 32);
    EXPECT_LE(box.left + box.width, 32);
    const double area = double(box.height * box.width) / (32 * 32);
    EXPECT_GT(area, 0.02 * 0.6);  // rounding of h and w can shrink small boxes
    EXPECT_LT(area, 0.33 * 1.4);
  }
  EXPECT_GT(count, 110);
  EXPECT_LT(count, 190);
  // Pixels inside a box are 0 in every channel, pixels outside unchanged.
  const std::vector<float> before = images.to_floats(), after = erased.to_floats();
  for (int64_t i = 0; i < 300; ++i) {
    for (int64_t c = 0; c < 3; ++c) {
      for (int64_t y = 0; y < 32; ++y) {
        for (int64_t x = 0; x < 32; ++x) {
          const size_t k = ((i * 3 + c) * 32 + y) * 32 + x;
          const EraseBox& b = boxes[i];
          const bool inside = b.height > 0 && y >= b.top && y < b.top + b.height && x >= b.left &&
                              x < b.left + b.width;
          ASSERT_EQ(after[k], inside ? 0.0f : before[k]);
        }
      }
    }
  }
}

TEST(Augment, KeepsShapesAndRange) {
  const Tensor images = small_images(50, 3, 32, 32, 10).inputs;
  Augmentation options;
  options.crop_padding = 4;
  options.horizontal_flip = true;
  options.erasing_probability = 0.5;
  options.erasing_value = 1.0;
  Generator gen(1);
  const Tensor out = augment(images, options, gen);
  EXPECT_EQ(out.shape(), images.shape());
  EXPECT_GE(amin(out).item(), 0.0);
  EXPECT_LE(amax(out).item(), 1.0);
  EXPECT_NE(out.to_floats(), images.to_floats());
  EXPECT_NE(error_message([&] { random_crop(Tensor::zeros({3, 4}), 1, gen); }).find("[N, C, H, W]"),
            std::string::npos);
}

// ---- subsets ----

TEST(Subsets, FirstRandomStratified) {
  std::vector<int64_t> labels;
  for (int i = 0; i < 100; ++i) labels.push_back(i < 70 ? 0 : (i < 90 ? 1 : 2));
  EXPECT_EQ(subset_indices(labels, 3, Subset::first(3), "t"), (std::vector<int64_t>{0, 1, 2}));
  const std::vector<int64_t> r = subset_indices(labels, 3, Subset::random(30, 4), "t");
  EXPECT_EQ(r, subset_indices(labels, 3, Subset::random(30, 4), "t"));
  EXPECT_NE(r, subset_indices(labels, 3, Subset::random(30, 5), "t"));
  EXPECT_TRUE(std::is_sorted(r.begin(), r.end()));
  EXPECT_EQ(std::set<int64_t>(r.begin(), r.end()).size(), 30u);
  // Stratified: 31 over 3 classes gives 11, 10, 10.
  for (const Subset& s : {Subset::first(31, true), Subset::random(31, 2, true)}) {
    std::vector<int64_t> counts(3, 0);
    for (int64_t i : subset_indices(labels, 3, s, "t")) ++counts[labels[i]];
    EXPECT_EQ(counts, (std::vector<int64_t>{11, 10, 10}));
  }
  EXPECT_EQ(subset_indices(labels, 3, Subset::first(6, true), "t"),
            (std::vector<int64_t>{0, 1, 70, 71, 90, 91}));
  // Class 2 has only 10: 33 stratified needs 11 of it.
  EXPECT_NE(error_message([&] { subset_indices(labels, 3, Subset::random(33, 1, true), "t"); })
                .find("class 2 but the data holds only 10"),
            std::string::npos);
}

// ---- corruptions (chapter 8) ----

TEST(Corruptions, GaussianNoiseStatisticsAndRange) {
  const Tensor grey = Tensor::full({100, 1, 20, 20}, 0.5);
  Generator gen(4), same(4);
  const Tensor noisy = gaussian_noise(grey, 0.1, gen);
  EXPECT_EQ(noisy.shape(), grey.shape());
  EXPECT_NEAR(mean(noisy).item(), 0.5, 0.002);
  EXPECT_NEAR(std::sqrt(var(noisy).item()), 0.1, 0.002);
  EXPECT_EQ(noisy.to_floats(), gaussian_noise(grey, 0.1, same).to_floats());
  const Tensor strong = gaussian_noise(grey, 2.0, gen);
  EXPECT_GE(amin(strong).item(), 0.0);
  EXPECT_LE(amax(strong).item(), 1.0);
  EXPECT_GT(mean(eq(strong, Tensor::scalar(1.0))).item(), 0.3);  // clipped, not wrapped
}

TEST(Corruptions, SaltAndPepperFractions) {
  const Tensor grey = Tensor::full({40000}, 0.5);
  Generator gen(6);
  const Tensor out = salt_and_pepper(grey, 0.2, gen);
  const double zeros = mean(eq(out, Tensor::scalar(0.0))).item();
  const double ones = mean(eq(out, Tensor::scalar(1.0))).item();
  const double kept = mean(eq(out, Tensor::scalar(0.5))).item();
  EXPECT_NEAR(zeros, 0.1, 0.006);
  EXPECT_NEAR(ones, 0.1, 0.006);
  EXPECT_NEAR(zeros + ones + kept, 1.0, 1e-6);  // float32 means
  EXPECT_NE(error_message([&] { salt_and_pepper(grey, 1.5, gen); }).find("p must be in [0, 1]"),
            std::string::npos);
}

TEST(Corruptions, UniformNoiseBoundsAndRange) {
  const Tensor grey = Tensor::full({40000}, 0.5, DType::Float64);
  Generator gen(7);
  const Tensor out = uniform_noise(grey, 0.2, gen);
  EXPECT_EQ(out.dtype(), DType::Float64);
  EXPECT_LE(amax(abs(sub(out, grey))).item(), 0.2 + 1e-12);
  EXPECT_NEAR(std::sqrt(var(out).item()), 0.2 / std::sqrt(3.0), 0.003);
  const Tensor strong = uniform_noise(Tensor::full({1000}, 0.9), 0.5, gen);
  EXPECT_LE(amax(strong).item(), 1.0);
  EXPECT_GE(amin(strong).item(), 0.4);
}

}  // namespace
