// datasets/augment.cpp — crop, flip and erasing on float images (chapter 3).
#include "datasets/augment.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace stablenn {

std::vector<CropFlip> draw_crop_flip(int64_t n, int64_t padding, bool flip, Generator& gen) {
  std::vector<CropFlip> draws(static_cast<size_t>(n));
  for (CropFlip& cf : draws) {
    if (padding > 0) {
      cf.top = gen.randint(0, 2 * padding + 1);
      cf.left = gen.randint(0, 2 * padding + 1);
    } else {
      cf.top = cf.left = 0;
    }
    cf.flip = flip && gen.randint(0, 2) == 1;
  }
  return draws;
}

std::vector<EraseBox> draw_erase_boxes(int64_t n, int64_t height, int64_t width,
                                       const Augmentation& options, Generator& gen) {
  std::vector<EraseBox> boxes(static_cast<size_t>(n));
  if (options.erasing_probability <= 0) return boxes;
  const double area = double(height) * double(width);
  const double log_lo = std::log(options.erasing_min_aspect);
  const double log_hi = -log_lo;
  for (EraseBox& box : boxes) {
    if (gen.uniform_scalar() >= options.erasing_probability) continue;
    // As torchvision: up to 10 attempts at a box that fits; none fitting erases nothing.
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double target = area * (options.erasing_min_area +
                                    (options.erasing_max_area - options.erasing_min_area) *
                                        gen.uniform_scalar());
      const double aspect = std::exp(log_lo + (log_hi - log_lo) * gen.uniform_scalar());
      const int64_t h = std::llround(std::sqrt(target * aspect));
      const int64_t w = std::llround(std::sqrt(target / aspect));
      if (h < 1 || w < 1 || h >= height || w >= width) continue;
      box.height = h;
      box.width = w;
      box.top = gen.randint(0, height - h + 1);
      box.left = gen.randint(0, width - w + 1);
      break;
    }
  }
  return boxes;
}

void crop_flip_image(const float* src, float* dst, int64_t channels, int64_t height, int64_t width,
                     int64_t padding, const CropFlip& cf) {
  // Output pixel (y, x) reads padded pixel (top + y, left + x'), x' = x or W-1-x when flipped,
  // i.e. source pixel (top + y - padding, left + x' - padding); outside the source it is 0.
  // The columns that land inside the source form one range [x_lo, x_hi): zeros left and right of
  // it, a plain (or reversed) copy within, no per-pixel test.
  const int64_t shift_y = cf.top - padding, shift_x = cf.left - padding;
  const int64_t x_lo = std::clamp<int64_t>(cf.flip ? shift_x : -shift_x, 0, width);
  const int64_t x_hi = std::clamp<int64_t>(cf.flip ? width + shift_x : width - shift_x, x_lo, width);
  for (int64_t c = 0; c < channels; ++c) {
    const float* src_plane = src + c * height * width;
    float* dst_plane = dst + c * height * width;
    for (int64_t y = 0; y < height; ++y) {
      float* out = dst_plane + y * width;
      const int64_t sy = y + shift_y;
      if (sy < 0 || sy >= height) {
        std::fill(out, out + width, 0.0f);
        continue;
      }
      const float* in = src_plane + sy * width;
      std::fill(out, out + x_lo, 0.0f);
      if (!cf.flip) {
        std::copy(in + x_lo + shift_x, in + x_hi + shift_x, out + x_lo);
      } else {
        for (int64_t x = x_lo; x < x_hi; ++x) out[x] = in[width - 1 - x + shift_x];
      }
      std::fill(out + x_hi, out + width, 0.0f);
    }
  }
}

void erase_image(float* image, int64_t channels, int64_t height, int64_t width,
                 const EraseBox& box, double value) {
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t y = box.top; y < box.top + box.height; ++y) {
      float* row = image + (c * height + y) * width;
      for (int64_t x = box.left; x < box.left + box.width; ++x) row[x] = static_cast<float>(value);
    }
  }
}

namespace {

// images: [N, C, H, W] float32 -> a contiguous float32 copy; checks the shape and dtype.
Tensor checked_copy(const Tensor& images, const char* op) {
  SNN_CHECK(images.defined() && images.dim() == 4, op, ": expected images [N, C, H, W], got ",
            images.defined() ? shape_str(images.shape()) : "an undefined tensor");
  SNN_CHECK(images.dtype() == DType::Float32, op, ": expected float32 images, got ",
            dtype_name(images.dtype()));
  return images.clone();
}

Tensor crop_flip_batch(const Tensor& images, int64_t padding, bool flip, Generator& gen,
                       const char* op) {
  SNN_CHECK(padding >= 0, op, ": padding must be >= 0, got ", padding);
  const Tensor src = checked_copy(images, op);
  const int64_t n = src.size(0), c = src.size(1), h = src.size(2), w = src.size(3);
  const std::vector<CropFlip> draws = draw_crop_flip(n, padding, flip, gen);
  Tensor dst = Tensor::empty(src.shape(), DType::Float32);
  for (int64_t i = 0; i < n; ++i) {
    crop_flip_image(src.data<float>() + i * c * h * w, dst.data<float>() + i * c * h * w, c, h, w,
                    padding, draws[i]);
  }
  return dst;
}

}  // namespace

Tensor random_crop(const Tensor& images, int64_t padding, Generator& gen) {
  return crop_flip_batch(images, padding, false, gen, "random_crop");
}

Tensor random_horizontal_flip(const Tensor& images, Generator& gen) {
  return crop_flip_batch(images, 0, true, gen, "random_horizontal_flip");
}

Tensor random_erasing(const Tensor& images, const Augmentation& options, Generator& gen) {
  SNN_CHECK(options.erasing_probability >= 0 && options.erasing_probability <= 1 &&
                options.erasing_min_area > 0 &&
                options.erasing_min_area <= options.erasing_max_area &&
                options.erasing_max_area <= 1 && options.erasing_min_aspect > 0 &&
                options.erasing_min_aspect <= 1,
            "random_erasing: need 0 <= probability <= 1, 0 < min_area <= max_area <= 1 and "
            "0 < min_aspect <= 1; got probability ",
            options.erasing_probability, ", areas ", options.erasing_min_area, "..",
            options.erasing_max_area, ", min_aspect ", options.erasing_min_aspect);
  Tensor out = checked_copy(images, "random_erasing");
  const int64_t n = out.size(0), c = out.size(1), h = out.size(2), w = out.size(3);
  const std::vector<EraseBox> boxes = draw_erase_boxes(n, h, w, options, gen);
  for (int64_t i = 0; i < n; ++i) {
    erase_image(out.data<float>() + i * c * h * w, c, h, w, boxes[i], options.erasing_value);
  }
  return out;
}

Tensor augment(const Tensor& images, const Augmentation& options, Generator& gen) {
  Tensor out = crop_flip_batch(images, options.crop_padding, options.horizontal_flip, gen, "augment");
  if (options.erasing_probability > 0) out = random_erasing(out, options, gen);
  return out;
}

}  // namespace stablenn
