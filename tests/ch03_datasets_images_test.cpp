// tests/ch03_datasets_images_test.cpp — PNG writing and reading through stb, the image grid and the
// image-folder dataset (chapter 3).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "ch03_datasets_util.h"
#include "core/stablenn_core.h"
#include "datasets/datasets.h"

using namespace stablenn;
using datasets_test::error_message;
using datasets_test::TempDir;

#define EXPECT_HAS(message, part) EXPECT_NE((message).find(part), std::string::npos) << (message)

namespace {

// [C, H, W] with values k / 255, so they survive 8-bit storage exactly.
Tensor test_image(int64_t channels, int64_t height, int64_t width, int salt) {
  std::vector<double> v;
  for (int64_t k = 0; k < channels * height * width; ++k) v.push_back(((k * 29 + salt) % 256) / 255.0);
  return Tensor::from_vector(v, {channels, height, width});
}

TEST(Png, RoundTripGreyAndRgb) {
  TempDir dir;
  for (int64_t channels : {1, 3}) {
    const Tensor image = test_image(channels, 5, 9, 3);
    const std::string path = dir.file("img" + std::to_string(channels) + ".png");
    save_png(path, image);
    const Tensor back = load_image(path);
    ASSERT_EQ(back.shape(), image.shape());
    EXPECT_EQ(back.to_floats(), image.to_floats());
  }
  // [H, W] is grey.
  save_png(dir.file("hw.png"), test_image(1, 4, 4, 0).squeeze(0));
  EXPECT_EQ(load_image(dir.file("hw.png")).shape(), (Shape{1, 4, 4}));
  // Only the final file is left: the temporary one was renamed.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().extension(), ".png");
    ++files;
  }
  EXPECT_EQ(files, 3);
}

TEST(Png, ChannelConversionAndClipping) {
  TempDir dir;
  save_png(dir.file("rgb.png"), test_image(3, 2, 2, 50));
  const Tensor grey = load_image(dir.file("rgb.png"), 1);
  ASSERT_EQ(grey.shape(), (Shape{1, 2, 2}));
  const Tensor rgb = load_image(dir.file("rgb.png"), 3);
  // stb's luminance: (77 r + 150 g + 29 b) >> 8, in bytes.
  for (int64_t y = 0; y < 2; ++y) {
    for (int64_t x = 0; x < 2; ++x) {
      const int r = std::lround(rgb.at({0, y, x}) * 255), g = std::lround(rgb.at({1, y, x}) * 255),
                b = std::lround(rgb.at({2, y, x}) * 255);
      EXPECT_EQ(std::lround(grey.at({0, y, x}) * 255), (77 * r + 150 * g + 29 * b) >> 8);
    }
  }
  // Out-of-range values are clipped, not wrapped.
  save_png(dir.file("clip.png"), Tensor::from_vector({-0.5, 1.7, 0.5, 1.0}, {1, 2, 2}));
  const Tensor clipped = load_image(dir.file("clip.png"));
  EXPECT_EQ(clipped.to_floats(), (std::vector<float>{0.0f, 1.0f, 128 / 255.0f, 1.0f}));
}

TEST(Png, BadInputIsNamed) {
  TempDir dir;
  std::string message = error_message([&] { save_png(dir.file("x.png"), Tensor::zeros({2, 3, 3})); });
  EXPECT_HAS(message, "x.png");
  EXPECT_HAS(message, "[2, 3, 3]");
  message = error_message([&] {
    save_png(dir.file("nan.png"), Tensor::from_vector({0.0, std::nan("")}, {1, 1, 2}));
  });
  EXPECT_HAS(message, "non-finite");
  EXPECT_FALSE(std::filesystem::exists(dir.file("nan.png")));
  message = error_message([&] { load_image(dir.file("missing.png")); });
  EXPECT_HAS(message, "missing.png");
  datasets_test::write_raw(dir.file("junk.png"), {1, 2, 3, 4, 5});
  EXPECT_HAS(error_message([&] { load_image(dir.file("junk.png")); }), "junk.png");
  message = error_message([&] { save_png(dir.file("no-such-folder/x.png"), test_image(1, 2, 2, 0)); });
  EXPECT_HAS(message, "no-such-folder/x.png");
}

TEST(Png, GridPlacesImagesRowByRow) {
  Tensor images = Tensor::zeros({5, 1, 2, 3});
  for (int64_t i = 0; i < 5; ++i) images.select(0, i).fill_(0.1 * (i + 1));
  const Tensor grid = image_grid(images, 2, 1, 1.0);
  // 3 rows of (2 + 1) + 1 = 10 high, 2 columns of (3 + 1) + 1 = 9 wide.
  ASSERT_EQ(grid.shape(), (Shape{1, 10, 9}));
  EXPECT_FLOAT_EQ(grid.at({0, 0, 0}), 1.0f);
  EXPECT_FLOAT_EQ(grid.at({0, 1, 1}), 0.1f);  // image 0 at row 1, column 1
  EXPECT_FLOAT_EQ(grid.at({0, 1, 5}), 0.2f);  // image 1 at column 1 + 3 + 1
  EXPECT_FLOAT_EQ(grid.at({0, 7, 1}), 0.5f);  // image 4 at row 1 + 2 * 3
  EXPECT_FLOAT_EQ(grid.at({0, 7, 5}), 1.0f);  // no sixth image: padding value
}

TEST(ImageFolder, ClassesFromSubfoldersInOrder) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("dog"));
  std::filesystem::create_directories(dir.file("cat"));
  save_png(dir.file("dog/b.png"), test_image(3, 4, 6, 2));
  save_png(dir.file("cat/z.png"), test_image(3, 4, 6, 1));
  save_png(dir.file("cat/a.png"), test_image(3, 4, 6, 0));
  datasets_test::write_raw(dir.file("cat/notes.txt"), {'h', 'i'});  // not an image: ignored
  const Dataset data = load_image_folder(dir.path());
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(data.labels.to_int64(), (std::vector<int64_t>{0, 0, 1}));
  ASSERT_EQ(data.inputs.shape(), (Shape{3, 3, 4, 6}));
  EXPECT_EQ(data.inputs.select(0, 0).to_floats(), test_image(3, 4, 6, 0).to_floats());  // cat/a
  EXPECT_EQ(data.inputs.select(0, 1).to_floats(), test_image(3, 4, 6, 1).to_floats());  // cat/z
  EXPECT_EQ(data.inputs.select(0, 2).to_floats(), test_image(3, 4, 6, 2).to_floats());  // dog/b
  EXPECT_EQ(load_image_folder(dir.path(), 1).inputs.shape(), (Shape{3, 1, 4, 6}));
}

TEST(ImageFolder, SizeMismatchAndEmptyFolder) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("a"));
  std::filesystem::create_directories(dir.file("b"));
  save_png(dir.file("a/1.png"), test_image(1, 4, 4, 0));
  save_png(dir.file("b/2.png"), test_image(1, 5, 4, 0));
  const std::string message = error_message([&] { load_image_folder(dir.path()); });
  EXPECT_HAS(message, "b/2.png");
  EXPECT_HAS(message, "same size");
  TempDir empty;
  EXPECT_HAS(error_message([&] { load_image_folder(empty.path()); }), "no class subfolders");
}

}  // namespace
