// tests/ch03_datasets_cifar_test.cpp — CIFAR-10/100 binary files written here, read back exactly
// (raw and gzip); malformed files give their errors (chapter 3).
#include <gtest/gtest.h>

#include "ch03_datasets_util.h"
#include "core/stablenn_core.h"
#include "datasets/datasets.h"

using namespace stablenn;
using datasets_test::error_message;
using datasets_test::TempDir;

#define EXPECT_HAS(message, part) EXPECT_NE((message).find(part), std::string::npos) << (message)

namespace {

constexpr int kPixels = 3072;

// `labels` holds one label per record (CIFAR-10) or coarse, fine pairs (CIFAR-100).
std::vector<uint8_t> cifar_records(const std::vector<std::vector<uint8_t>>& labels, int salt) {
  std::vector<uint8_t> out;
  for (size_t r = 0; r < labels.size(); ++r) {
    out.insert(out.end(), labels[r].begin(), labels[r].end());
    for (int k = 0; k < kPixels; ++k) out.push_back(static_cast<uint8_t>((k * 7 + r * 101 + salt) % 256));
  }
  return out;
}

// Pixel (c, y, x) of record r as the library should give it.
float expected_pixel(size_t r, int c, int y, int x, int salt) {
  const int k = c * 1024 + y * 32 + x;
  return float((k * 7 + r * 101 + salt) % 256) / 255.0f;
}

void expect_images(const Tensor& images, const std::vector<std::pair<size_t, int>>& record_salt) {
  ASSERT_EQ(images.shape(), (Shape{int64_t(record_salt.size()), 3, 32, 32}));
  const std::vector<float> v = images.to_floats();
  for (size_t i = 0; i < record_salt.size(); ++i) {
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < 32; ++y) {
        for (int x = 0; x < 32; ++x) {
          ASSERT_EQ(v[((i * 3 + c) * 32 + y) * 32 + x],
                    expected_pixel(record_salt[i].first, c, y, x, record_salt[i].second))
              << "image " << i << " channel " << c << " row " << y << " column " << x;
        }
      }
    }
  }
}

class CifarFiles : public ::testing::TestWithParam<bool> {};  // gzip or raw

TEST_P(CifarFiles, Cifar10ReadBackExactly) {
  TempDir dir;
  const bool gz = GetParam();
  const auto write = gz ? datasets_test::write_gzip : datasets_test::write_raw;
  const std::string a = dir.file(gz ? "a.bin.gz" : "a.bin"), b = dir.file(gz ? "b.bin.gz" : "b.bin");
  write(a, cifar_records({{3}, {9}, {0}}, 1));
  write(b, cifar_records({{7}, {7}}, 2));
  const Dataset data = read_cifar_files({a, b}, CifarFormat::Cifar10, "tiny");
  EXPECT_EQ(data.labels.to_int64(), (std::vector<int64_t>{3, 9, 0, 7, 7}));
  expect_images(data.inputs, {{0, 1}, {1, 1}, {2, 1}, {0, 2}, {1, 2}});
  EXPECT_EQ(data.class_names, cifar10_class_names());
  EXPECT_FALSE(data.coarse_labels.defined());

  // First 2 (only the first file is needed), and random 3 of 5 (ascending, reproducible).
  const Dataset first = read_cifar_files({a, b}, CifarFormat::Cifar10, "tiny", Subset::first(2));
  EXPECT_EQ(first.labels.to_int64(), (std::vector<int64_t>{3, 9}));
  expect_images(first.inputs, {{0, 1}, {1, 1}});
  const Dataset random = read_cifar_files({a, b}, CifarFormat::Cifar10, "tiny", Subset::random(3, 9));
  EXPECT_EQ(random.size(), 3);
  EXPECT_EQ(random.labels.to_int64(),
            read_cifar_files({a, b}, CifarFormat::Cifar10, "tiny", Subset::random(3, 9))
                .labels.to_int64());
}

TEST_P(CifarFiles, Cifar100HasCoarseAndFineLabels) {
  TempDir dir;
  const bool gz = GetParam();
  const std::string path = dir.file(gz ? "train.bin.gz" : "train.bin");
  (gz ? datasets_test::write_gzip : datasets_test::write_raw)(
      path, cifar_records({{19, 99}, {0, 0}, {4, 55}}, 3));
  const Dataset data = read_cifar_files({path}, CifarFormat::Cifar100, "c100");
  EXPECT_EQ(data.labels.to_int64(), (std::vector<int64_t>{99, 0, 55}));
  EXPECT_EQ(data.coarse_labels.to_int64(), (std::vector<int64_t>{19, 0, 4}));
  expect_images(data.inputs, {{0, 3}, {1, 3}, {2, 3}});
  ASSERT_EQ(data.class_names.size(), 100u);
  ASSERT_EQ(data.coarse_class_names.size(), 20u);
  EXPECT_EQ(data.class_names[55], "otter");
  EXPECT_EQ(data.coarse_class_names[4], "fruit_and_vegetables");
  // A subset keeps the coarse labels in step.
  const Dataset last = take_subset(data, Subset::random(1, 0));
  EXPECT_EQ(last.coarse_labels.numel(), 1);
}

INSTANTIATE_TEST_SUITE_P(RawAndGzip, CifarFiles, ::testing::Values(false, true));

TEST(CifarFolder, OfficialNamesAndLabelNamesFile) {
  TempDir dir;
  for (int b = 1; b <= 5; ++b) {
    datasets_test::write_gzip(dir.file("cifar-10/data_batch_" + std::to_string(b) + ".bin.gz"),
                              cifar_records({{uint8_t(b)}}, b));
  }
  datasets_test::write_raw(dir.file("cifar-10/test_batch.bin"), cifar_records({{4}, {5}}, 0));
  const std::string names = "n0\nn1\nn2\nn3\nn4\nn5\nn6\nn7\nn8\nn9\n\n";
  datasets_test::write_raw(dir.file("cifar-10/batches.meta.txt"),
                           std::vector<uint8_t>(names.begin(), names.end()));
  const Dataset train = load_cifar10(Split::Train, dir.path());
  EXPECT_EQ(train.labels.to_int64(), (std::vector<int64_t>{1, 2, 3, 4, 5}));
  expect_images(train.inputs, {{0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 5}});
  EXPECT_EQ(train.class_names[7], "n7");
  EXPECT_EQ(train.name, "cifar-10/train");
  const Dataset test = load_cifar10(Split::Test, dir.path());
  EXPECT_EQ(test.labels.to_int64(), (std::vector<int64_t>{4, 5}));
  // CIFAR-100 is absent: the message says what to do.
  const std::string message = error_message([&] { load_cifar100(Split::Test, dir.path()); });
  EXPECT_HAS(message, "test.bin");
  EXPECT_HAS(message, dir.path() + "/cifar-100");
  EXPECT_HAS(message, "scripts/download_data.sh");
}

// ---- malformed ----

TEST(CifarMalformed, WrongRecordSize) {
  TempDir dir;
  std::vector<uint8_t> bytes = cifar_records({{1}, {2}}, 0);
  bytes.pop_back();  // truncated
  datasets_test::write_raw(dir.file("t.bin"), bytes);
  std::string message = error_message(
      [&] { read_cifar_files({dir.file("t.bin")}, CifarFormat::Cifar10, "t"); });
  EXPECT_HAS(message, dir.file("t.bin"));
  EXPECT_HAS(message, "6145 bytes is not a whole number of 3073-byte records");
  // A CIFAR-100 file (3074-byte records) read as CIFAR-10.
  datasets_test::write_raw(dir.file("c100.bin"), cifar_records({{1, 2}, {3, 4}, {5, 6}}, 0));
  message = error_message(
      [&] { read_cifar_files({dir.file("c100.bin")}, CifarFormat::Cifar10, "t"); });
  EXPECT_HAS(message, "not a whole number of 3073-byte records");
}

TEST(CifarMalformed, EmptyFileAndBadLabels) {
  TempDir dir;
  datasets_test::write_raw(dir.file("empty.bin"), {});
  EXPECT_HAS(error_message([&] {
               read_cifar_files({dir.file("empty.bin")}, CifarFormat::Cifar10, "t");
             }),
             "empty file");
  datasets_test::write_raw(dir.file("bad.bin"), cifar_records({{1}, {10}}, 0));
  std::string message =
      error_message([&] { read_cifar_files({dir.file("bad.bin")}, CifarFormat::Cifar10, "t"); });
  EXPECT_HAS(message, dir.file("bad.bin"));
  EXPECT_HAS(message, "record 1 has label 10 outside 0..9");
  datasets_test::write_raw(dir.file("bad100.bin"), cifar_records({{20, 1}}, 0));
  message = error_message(
      [&] { read_cifar_files({dir.file("bad100.bin")}, CifarFormat::Cifar100, "t"); });
  EXPECT_HAS(message, "coarse label 20 outside 0..19");
}

TEST(CifarMalformed, BrokenGzip) {
  TempDir dir;
  const std::string gz = dir.file("x.bin.gz");
  datasets_test::write_gzip(gz, cifar_records({{1}, {2}, {3}}, 0));
  std::vector<uint8_t> bytes = datasets_test::read_raw(gz);
  bytes.resize(bytes.size() - 20);  // cut off the end of the stream and its trailer
  datasets_test::write_raw(gz, bytes);
  const std::string message =
      error_message([&] { read_cifar_files({gz}, CifarFormat::Cifar10, "t"); });
  EXPECT_HAS(message, gz);
  EXPECT_HAS(message, "broken gzip stream");
}

TEST(CifarMalformed, WrongNumberOfLabelNames) {
  TempDir dir;
  datasets_test::write_raw(dir.file("cifar-10/test_batch.bin"), cifar_records({{4}}, 0));
  const std::string names = "a\nb\n";
  datasets_test::write_raw(dir.file("cifar-10/batches.meta.txt"),
                           std::vector<uint8_t>(names.begin(), names.end()));
  const std::string message = error_message([&] { load_cifar10(Split::Test, dir.path()); });
  EXPECT_HAS(message, "batches.meta.txt");
  EXPECT_HAS(message, "holds 2 class names, expected 10");
}

}  // namespace
