// datasets/augment.h — random crop, horizontal flip and random erasing (chapter 3).
//
// Each works on a batch [N, C, H, W] and draws per-image parameters from a Generator, in a fixed
// order (crop offsets and flip for every image, then the erasing boxes), so the same generator state
// gives the same batch. The loader fuses crop and flip into its gather with the same draws:
// loader batch == augment(plain batch, same generator).
#pragma once
#include <cstdint>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"

namespace stablenn {

// Chapter 3: what augmentation the loader applies to training batches (pixel space, before
// normalisation). The defaults do nothing.
struct Augmentation {
  int64_t crop_padding = 0;        // pad with zeros by this much, then crop the original size back
  bool horizontal_flip = false;    // mirror left-right with probability 1/2
  double erasing_probability = 0;  // random erasing (Zhong et al. 2020): chance per image
  double erasing_min_area = 0.02, erasing_max_area = 0.33;  // box area / image area
  double erasing_min_aspect = 0.3;  // box aspect (h / w) log-uniform in [min, 1 / min]
  double erasing_value = 0.0;       // the value erased pixels get
  bool any() const { return crop_padding > 0 || horizontal_flip || erasing_probability > 0; }
};

// Chapter 3: one image's crop and flip. (top, left) index the zero-padded image.
struct CropFlip {
  int64_t top = 0, left = 0;
  bool flip = false;
};
// Chapter 3: one image's erased box; height == 0 means nothing is erased.
struct EraseBox {
  int64_t top = 0, left = 0, height = 0, width = 0;
};

// Chapter 3: the draws, image by image. draw_crop_flip takes 2 integers per image when padding > 0
// and one more when flip is on; draw_erase_boxes takes one uniform per image and up to 10 attempts
// of 4 draws for the images that are erased (as torchvision's RandomErasing).
std::vector<CropFlip> draw_crop_flip(int64_t n, int64_t padding, bool flip, Generator& gen);
std::vector<EraseBox> draw_erase_boxes(int64_t n, int64_t height, int64_t width,
                                       const Augmentation& options, Generator& gen);

// Chapter 3: src [C, H, W] -> dst [C, H, W] (no overlap): dst = crop of zero-padded src, mirrored
// when cf.flip.
void crop_flip_image(const float* src, float* dst, int64_t channels, int64_t height, int64_t width,
                     int64_t padding, const CropFlip& cf);
// Chapter 3: sets the box of image [C, H, W] to `value` in every channel.
void erase_image(float* image, int64_t channels, int64_t height, int64_t width,
                 const EraseBox& box, double value);

// Chapter 3: the tensor forms. images: [N, C, H, W] float32 -> a new tensor of the same shape.
Tensor random_crop(const Tensor& images, int64_t padding, Generator& gen);
Tensor random_horizontal_flip(const Tensor& images, Generator& gen);
Tensor random_erasing(const Tensor& images, const Augmentation& options, Generator& gen);
// Chapter 3: crop and flip (one set of draws), then erasing, as configured.
Tensor augment(const Tensor& images, const Augmentation& options, Generator& gen);

}  // namespace stablenn
