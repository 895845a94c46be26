// tests/ch03_datasets_idx_test.cpp — IDX files (MNIST format) written here, read back exactly; every
// malformed case gives its error; the data-folder search (chapter 3).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "ch03_datasets_util.h"
#include "core/stablenn_core.h"
#include "datasets/datasets.h"

using namespace stablenn;
using datasets_test::error_message;
using datasets_test::TempDir;

namespace {

void put_big_endian(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

// An IDX images file: magic 0x00000803, n, rows, cols, then the pixel bytes.
std::vector<uint8_t> idx_images(uint32_t n, uint32_t rows, uint32_t cols,
                                const std::vector<uint8_t>& pixels) {
  std::vector<uint8_t> out;
  put_big_endian(out, 0x00000803);
  put_big_endian(out, n);
  put_big_endian(out, rows);
  put_big_endian(out, cols);
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

std::vector<uint8_t> idx_labels(const std::vector<uint8_t>& labels) {
  std::vector<uint8_t> out;
  put_big_endian(out, 0x00000801);
  put_big_endian(out, static_cast<uint32_t>(labels.size()));
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

// 7 images of 5 rows x 4 columns (not square, so a row/column mix-up shows), every byte value used.
struct SmallIdx {
  uint32_t n = 7, rows = 5, cols = 4;
  std::vector<uint8_t> pixels, labels;
  SmallIdx() {
    for (uint32_t k = 0; k < n * rows * cols; ++k) pixels.push_back(static_cast<uint8_t>(k * 37 + 11));
    pixels[0] = 0;
    pixels[1] = 255;
    labels = {3, 0, 9, 3, 1, 0, 3};
  }
};

void expect_matches(const Dataset& data, const SmallIdx& idx, const std::vector<int64_t>& which) {
  ASSERT_EQ(data.inputs.shape(), (Shape{int64_t(which.size()), 1, idx.rows, idx.cols}));
  ASSERT_EQ(data.inputs.dtype(), DType::Float32);
  ASSERT_EQ(data.labels.dtype(), DType::Int64);
  const std::vector<float> values = data.inputs.to_floats();
  const std::vector<int64_t> labels = data.labels.to_int64();
  const size_t per = idx.rows * idx.cols;
  for (size_t k = 0; k < which.size(); ++k) {
    EXPECT_EQ(labels[k], idx.labels[which[k]]);
    for (size_t j = 0; j < per; ++j) {
      ASSERT_EQ(values[k * per + j], float(idx.pixels[which[k] * per + j]) / 255.0f)
          << "image " << k << " pixel " << j;
    }
  }
}

class IdxFiles : public ::testing::TestWithParam<bool> {};  // parameter: gzip or raw

TEST_P(IdxFiles, ReadBackExactly) {
  TempDir dir;
  SmallIdx idx;
  const bool gz = GetParam();
  const std::string images = dir.file(gz ? "i.gz" : "i"), labels = dir.file(gz ? "l.gz" : "l");
  if (gz) {
    datasets_test::write_gzip(images, idx_images(idx.n, idx.rows, idx.cols, idx.pixels));
    datasets_test::write_gzip(labels, idx_labels(idx.labels));
    // The compressed file really differs from the raw content.
    EXPECT_NE(datasets_test::read_raw(images), idx_images(idx.n, idx.rows, idx.cols, idx.pixels));
  } else {
    datasets_test::write_raw(images, idx_images(idx.n, idx.rows, idx.cols, idx.pixels));
    datasets_test::write_raw(labels, idx_labels(idx.labels));
  }
  const Dataset data = read_idx_dataset(images, labels, "small", mnist_class_names());
  expect_matches(data, idx, {0, 1, 2, 3, 4, 5, 6});
  EXPECT_EQ(data.num_classes(), 10);
  EXPECT_EQ(data.class_names[9], "9");

  // Subsets: the first 3; 4 at random (same seed -> same pick, ascending); stratified.
  expect_matches(read_idx_dataset(images, labels, "small", mnist_class_names(), Subset::first(3)),
                 idx, {0, 1, 2});
  const Dataset r1 = read_idx_dataset(images, labels, "small", mnist_class_names(),
                                      Subset::random(4, 5));
  const Dataset r2 = read_idx_dataset(images, labels, "small", mnist_class_names(),
                                      Subset::random(4, 5));
  EXPECT_EQ(r1.inputs.to_floats(), r2.inputs.to_floats());
  EXPECT_EQ(r1.size(), 4);
}

INSTANTIATE_TEST_SUITE_P(RawAndGzip, IdxFiles, ::testing::Values(false, true));

TEST(IdxFiles, StratifiedFirstTakesEachClassInFileOrder) {
  TempDir dir;
  SmallIdx idx;
  idx.labels = {1, 0, 1, 1, 0, 0, 1};
  datasets_test::write_raw(dir.file("i"), idx_images(idx.n, idx.rows, idx.cols, idx.pixels));
  datasets_test::write_raw(dir.file("l"), idx_labels(idx.labels));
  // Two classes, 4 examples: the first two of class 0 (indices 1, 4) and of class 1 (0, 2).
  const Dataset data = read_idx_dataset(dir.file("i"), dir.file("l"), "two", {"a", "b"},
                                        Subset::first(4, true));
  expect_matches(data, idx, {0, 1, 2, 4});
  // 6 stratified needs 3 of each: class 0 has exactly 3, fine; 8 is more than there is.
  EXPECT_EQ(read_idx_dataset(dir.file("i"), dir.file("l"), "two", {"a", "b"},
                             Subset::random(6, 1, true))
                .size(),
            6);
  EXPECT_NE(error_message([&] {
              read_idx_dataset(dir.file("i"), dir.file("l"), "two", {"a", "b"}, Subset::first(8));
            }).find("subset of 8"),
            std::string::npos);
}

// ---- malformed files: each gives an error naming the file and the problem ----

struct Malformed : ::testing::Test {
  TempDir dir;
  SmallIdx idx;
  std::string images = dir.file("images"), labels = dir.file("labels");
  void SetUp() override {
    datasets_test::write_raw(images, idx_images(idx.n, idx.rows, idx.cols, idx.pixels));
    datasets_test::write_raw(labels, idx_labels(idx.labels));
  }
  std::string read_error() {
    return error_message([&] { read_idx_dataset(images, labels, "small", mnist_class_names()); });
  }
};

#define EXPECT_HAS(message, part) EXPECT_NE((message).find(part), std::string::npos) << (message)

TEST_F(Malformed, TruncatedData) {
  std::vector<uint8_t> bytes = idx_images(idx.n, idx.rows, idx.cols, idx.pixels);
  bytes.pop_back();
  datasets_test::write_raw(images, bytes);
  const std::string message = read_error();
  EXPECT_HAS(message, images);
  EXPECT_HAS(message, "truncated");
  EXPECT_HAS(message, "140 data bytes but only 139");
}

TEST_F(Malformed, TruncatedHeader) {
  datasets_test::write_raw(images, {0, 0, 8, 3, 0, 0});
  const std::string message = read_error();
  EXPECT_HAS(message, images);
  EXPECT_HAS(message, "shorter than its 16-byte header");
  datasets_test::write_raw(images, {0, 0});
  EXPECT_HAS(read_error(), "shorter than the 4-byte magic");
}

TEST_F(Malformed, TrailingBytes) {
  std::vector<uint8_t> bytes = idx_images(idx.n, idx.rows, idx.cols, idx.pixels);
  bytes.push_back(1);
  bytes.push_back(2);
  datasets_test::write_raw(images, bytes);
  const std::string message = read_error();
  EXPECT_HAS(message, images);
  EXPECT_HAS(message, "2 unexpected bytes");
}

TEST_F(Malformed, WrongMagic) {
  std::vector<uint8_t> bytes = idx_images(idx.n, idx.rows, idx.cols, idx.pixels);
  bytes[0] = 0x1F;  // not IDX at all
  datasets_test::write_raw(images, bytes);
  std::string message = read_error();
  EXPECT_HAS(message, images);
  EXPECT_HAS(message, "wrong magic number 0x1F000803");
  EXPECT_HAS(message, "0x00000803");
  // The labels file given as the images file: 1 dimension where 3 are expected.
  datasets_test::write_raw(images, idx_labels(idx.labels));
  message = read_error();
  EXPECT_HAS(message, "wrong magic number 0x00000801");
  EXPECT_HAS(message, "1 dimensions");
  // Element type int32 (0x0C) instead of unsigned byte.
  bytes = idx_images(idx.n, idx.rows, idx.cols, idx.pixels);
  bytes[2] = 0x0C;
  datasets_test::write_raw(images, bytes);
  EXPECT_HAS(read_error(), "element type 0x0C is not unsigned byte");
}

TEST_F(Malformed, CountMismatch) {
  std::vector<uint8_t> fewer = idx.labels;
  fewer.pop_back();
  datasets_test::write_raw(labels, idx_labels(fewer));
  const std::string message = read_error();
  EXPECT_HAS(message, "counts differ");
  EXPECT_HAS(message, images);
  EXPECT_HAS(message, labels);
  EXPECT_HAS(message, "7 images");
  EXPECT_HAS(message, "6 labels");
}

TEST_F(Malformed, LabelOutOfRange) {
  std::vector<uint8_t> bad = idx.labels;
  bad[4] = 10;
  datasets_test::write_raw(labels, idx_labels(bad));
  const std::string message = read_error();
  EXPECT_HAS(message, labels);
  EXPECT_HAS(message, "label 10 of example 4");
}

TEST_F(Malformed, MissingFileOrFolder) {
  std::filesystem::remove(images);
  EXPECT_HAS(read_error(), "cannot open " + images);
  std::filesystem::create_directories(images);
  EXPECT_HAS(read_error(), "it is a folder");
}

TEST_F(Malformed, BrokenGzip) {
  // A gzip file cut in the middle of its compressed stream.
  const std::string gz = dir.file("images.gz");
  datasets_test::write_gzip(gz, idx_images(idx.n, idx.rows, idx.cols, idx.pixels));
  std::vector<uint8_t> bytes = datasets_test::read_raw(gz);
  std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + bytes.size() / 2);
  datasets_test::write_raw(gz, cut);
  images = gz;
  std::string message = read_error();
  EXPECT_HAS(message, gz);
  EXPECT_HAS(message, "broken gzip stream");
  // A gzip file with corrupted compressed bytes (the CRC or the deflate data no longer fits).
  for (size_t k = 12; k < bytes.size() - 8; ++k) bytes[k] ^= 0x5A;
  datasets_test::write_raw(gz, bytes);
  message = read_error();
  EXPECT_HAS(message, gz);
  EXPECT_HAS(message, "broken gzip stream");
}

// ---- the data-folder search ----

struct ScopedEnv {
  explicit ScopedEnv(const std::string& value) {
    const char* old = std::getenv("STABLENN_DATA");
    had_ = old != nullptr;
    if (had_) old_ = old;
    setenv("STABLENN_DATA", value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had_) {
      setenv("STABLENN_DATA", old_.c_str(), 1);
    } else {
      unsetenv("STABLENN_DATA");
    }
  }
  bool had_;
  std::string old_;
};

// The real datasets next to the source tree or the executable must not be found here.
struct NoProgramLocation {
  NoProgramLocation() { stablenn::set_program_location("", ""); }
  ~NoProgramLocation() { stablenn::restore_program_location(); }
};

TEST(DataFolder, MissingDatasetNamesFoldersFilesAndScript) {
  TempDir flag_dir, env_dir;
  ScopedEnv env(env_dir.path());
  NoProgramLocation nowhere_else;
  // The environment folder holds half the dataset: the message says what it lacks.
  datasets_test::write_raw(env_dir.file("mnist/t10k-images-idx3-ubyte"), {0});
  const std::string message = error_message([&] { load_mnist(Split::Test, flag_dir.path()); });
  EXPECT_HAS(message, "mnist");
  EXPECT_HAS(message, "t10k-images-idx3-ubyte");
  EXPECT_HAS(message, "t10k-labels-idx1-ubyte");
  EXPECT_HAS(message, flag_dir.path() + "/mnist");
  EXPECT_HAS(message, "--data-dir");
  EXPECT_HAS(message, env_dir.path() + "/mnist");
  EXPECT_HAS(message, "STABLENN_DATA");
  EXPECT_HAS(message, "lacks t10k-labels-idx1-ubyte");
  // the working directory's folders, by their absolute paths
  const std::filesystem::path cwd = std::filesystem::current_path();
  EXPECT_HAS(message, (cwd / "data" / "mnist").string());
  EXPECT_HAS(message, (cwd.parent_path() / "shared" / "data" / "mnist").string());
  EXPECT_HAS(message, "/scripts/download_data.sh");
}

TEST(DataFolder, SearchOrderFlagThenEnvironment) {
  TempDir flag_dir, env_dir;
  ScopedEnv env(env_dir.path());
  SmallIdx a, b;
  b.labels = {1, 1, 1, 1, 1, 1, 1};
  // Official names; the environment folder has .gz files, the flag folder raw ones.
  datasets_test::write_gzip(env_dir.file("fashion-mnist/t10k-images-idx3-ubyte.gz"),
                            idx_images(a.n, a.rows, a.cols, a.pixels));
  datasets_test::write_gzip(env_dir.file("fashion-mnist/t10k-labels-idx1-ubyte.gz"),
                            idx_labels(a.labels));
  // Only the environment folder has the data: it is found there.
  Dataset data = load_fashion_mnist(Split::Test, flag_dir.path());
  expect_matches(data, a, {0, 1, 2, 3, 4, 5, 6});
  EXPECT_EQ(data.class_names[9], "Ankle boot");
  EXPECT_EQ(data.name, "fashion-mnist/test");
  // Once the flag folder has it too, the flag wins.
  datasets_test::write_raw(flag_dir.file("fashion-mnist/t10k-images-idx3-ubyte"),
                           idx_images(b.n, b.rows, b.cols, b.pixels));
  datasets_test::write_raw(flag_dir.file("fashion-mnist/t10k-labels-idx1-ubyte"),
                           idx_labels(b.labels));
  data = load_fashion_mnist(Split::Test, flag_dir.path());
  expect_matches(data, b, {0, 1, 2, 3, 4, 5, 6});
  // No flag: the environment variable comes first.
  data = load_fashion_mnist(Split::Test, "");
  expect_matches(data, a, {0, 1, 2, 3, 4, 5, 6});
}

TEST(DataFolder, RootsInOrderWithoutDuplicates) {
  ScopedEnv env("./data");
  const std::vector<DataRoot> roots = data_search_roots("/somewhere");
  const std::filesystem::path cwd = std::filesystem::current_path();
  ASSERT_GE(roots.size(), 3u);
  EXPECT_EQ(roots[0].path, "/somewhere");
  EXPECT_EQ(roots[1].path, (cwd / "data").string());  // absolute; ./data (default) is not repeated
  EXPECT_EQ(roots[1].origin, "STABLENN_DATA");
  EXPECT_EQ(roots[2].path, (cwd.parent_path() / "shared" / "data").string());
  for (size_t i = 3; i < roots.size(); ++i)  // then the source tree's and the executable's folders
    EXPECT_TRUE(roots[i].origin == "source tree" || roots[i].origin == "next to the executable") << roots[i].origin;
}

}  // namespace
