// plot/image_grid_plot.h — grids of images with a caption under each, e.g. samples of a dataset
// or misclassified and adversarial examples ("sneaker → sandal") (chapter 3).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "plot/canvas.h"

namespace stablenn {

// Chapter 3: images in rows of `columns`, each scaled up by an integer factor, with a caption.
struct CaptionedImageGrid {
  Tensor images;  // [N, C, H, W] float, C = 1 (grey) or 3 (RGB), values in [0, 1]
                  // (clipped); a non-finite value is an error
  std::vector<std::string> captions;  // empty, or one per image (UTF-8, may contain '\n')
  std::vector<Color> caption_colors;  // empty (all black), or one per image, e.g. red for mistakes
  std::string title;
  int64_t columns = 8;
  int scale = 3;  // each image pixel becomes a scale x scale block

  // The grid on a white canvas sized to fit; cells widen to fit their longest caption.
  Canvas render() const;
  // Writes render() as a PNG, atomically; errors name the file.
  void save(const std::string& path) const;
};

}  // namespace stablenn
