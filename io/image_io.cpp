// io/image_io.cpp — stb_image / stb_image_write glue (chapter 3).
// This file holds the one definition of the stb implementations in stablenn.
#include "io/image_io.h"

#include <algorithm>
#include <cmath>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#pragma GCC diagnostic pop

#include "core/error.h"
#include "io/file_bytes.h"

namespace stablenn {

Tensor load_image(const std::string& path, int channels) {
  SNN_CHECK(channels == 0 || channels == 1 || channels == 3, "load_image(", path,
            "): channels must be 0 (as stored), 1 or 3, got ", channels);
  int width = 0, height = 0, stored = 0;
  if (channels == 0) {
    SNN_CHECK(stbi_info(path.c_str(), &width, &height, &stored), "load_image: cannot read ", path,
              ": ", stbi_failure_reason());
    channels = stored <= 2 ? 1 : 3;  // grey(+alpha) -> 1, RGB(A) -> 3
  }
  unsigned char* pixels = stbi_load(path.c_str(), &width, &height, &stored, channels);
  SNN_CHECK(pixels != nullptr, "load_image: cannot read ", path, ": ", stbi_failure_reason());
  // pixels: [H, W, C] interleaved bytes -> out: [C, H, W] floats
  Tensor out = Tensor::empty({channels, height, width}, DType::Float32);
  float* dst = out.data<float>();
  const int64_t plane = int64_t(height) * width;
  for (int64_t p = 0; p < plane; ++p) {
    for (int c = 0; c < channels; ++c) dst[c * plane + p] = pixels[p * channels + c] / 255.0f;
  }
  stbi_image_free(pixels);
  return out;
}

namespace {

void append_bytes(void* context, void* data, int size) {
  auto* buffer = static_cast<std::vector<uint8_t>*>(context);
  const auto* bytes = static_cast<const uint8_t*>(data);
  buffer->insert(buffer->end(), bytes, bytes + size);
}

}  // namespace

void save_png_bytes(const std::string& path, int64_t width, int64_t height, int channels,
                    const uint8_t* pixels) {
  SNN_CHECK(channels >= 1 && channels <= 4, "save_png(", path, "): ", channels,
            " channels; a PNG has 1 to 4");
  SNN_CHECK(width > 0 && height > 0 && width < (1 << 24) && height < (1 << 24), "save_png(", path,
            "): image size ", width, "x", height, " is not writable");
  // Encode in memory, then write atomically: a crash never leaves half a PNG behind.
  std::vector<uint8_t> encoded;
  const int ok = stbi_write_png_to_func(append_bytes, &encoded, static_cast<int>(width),
                                        static_cast<int>(height), channels, pixels,
                                        static_cast<int>(width * channels));
  SNN_CHECK(ok != 0, "save_png(", path, "): PNG encoding failed");
  write_file_atomic(path, encoded.data(), encoded.size());
}

void save_png(const std::string& path, const Tensor& image) {
  SNN_CHECK(image.defined(), "save_png(", path, "): undefined tensor");
  SNN_CHECK(is_floating(image.dtype()), "save_png(", path, "): needs a float tensor in [0, 1], got ",
            dtype_name(image.dtype()));
  Tensor chw = image;
  if (chw.dim() == 2) chw = chw.unsqueeze(0);
  SNN_CHECK(chw.dim() == 3 && (chw.size(0) == 1 || chw.size(0) == 3 || chw.size(0) == 4),
            "save_png(", path, "): expected an image [H, W], [1, H, W], [3, H, W] or [4, H, W], got ",
            shape_str(image.shape()));
  const int channels = static_cast<int>(chw.size(0));
  const int64_t height = chw.size(1), width = chw.size(2);
  const std::vector<double> values = chw.to_vector();  // [C, H, W] row-major
  const int64_t plane = height * width;
  std::vector<uint8_t> pixels(static_cast<size_t>(plane * channels));  // [H, W, C]
  for (int c = 0; c < channels; ++c) {
    for (int64_t p = 0; p < plane; ++p) {
      const double v = values[c * plane + p];
      SNN_CHECK(std::isfinite(v), "save_png(", path, "): non-finite value ", v, " at channel ", c,
                ", row ", p / width, ", column ", p % width);
      pixels[p * channels + c] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
    }
  }
  save_png_bytes(path, width, height, channels, pixels.data());
}

Tensor image_grid(const Tensor& images, int64_t columns, int64_t padding, double pad_value) {
  // images: [N, C, H, W] -> [C, rows*(H+pad)+pad, columns*(W+pad)+pad]
  SNN_CHECK(images.dim() == 4, "image_grid: expected images [N, C, H, W], got ",
            shape_str(images.shape()));
  SNN_CHECK(columns > 0 && padding >= 0, "image_grid: columns must be > 0 and padding >= 0, got ",
            columns, " and ", padding);
  const int64_t n = images.size(0), channels = images.size(1);
  const int64_t height = images.size(2), width = images.size(3);
  const int64_t rows = std::max<int64_t>(1, (n + columns - 1) / columns);
  const int64_t grid_h = rows * (height + padding) + padding;
  const int64_t grid_w = columns * (width + padding) + padding;
  Tensor grid = Tensor::full({channels, grid_h, grid_w}, pad_value, images.dtype());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t top = padding + (i / columns) * (height + padding);
    const int64_t left = padding + (i % columns) * (width + padding);
    Tensor cell = grid.narrow(1, top, height).narrow(2, left, width);
    cell.copy_(images.select(0, i));
  }
  return grid;
}

}  // namespace stablenn
