// io/image_io.h — reading and writing image files through stb_image (chapter 3).
//
// Images are float tensors [C, H, W] with values in [0, 1]: C = 1 (grey) or 3 (RGB), as the
// datasets hold them. The plotting code (plot/) writes its figures through save_png_bytes.
#pragma once
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace stablenn {

// Chapter 3: loads a PNG, JPEG, BMP (or any format stb_image reads) as [C, H, W] float32 in [0, 1].
// channels: 1 (grey), 3 (RGB) or 0 (as stored: grey files give 1, colour files 3; alpha dropped).
// Throws naming the file and stb_image's reason when it cannot be read.
Tensor load_image(const std::string& path, int channels = 0);

// Chapter 3: writes `image` as a PNG. Shapes [H, W] (grey), [1, H, W], [3, H, W] or [4, H, W]
// (RGBA); float values are clipped to [0, 1] and rounded to 8 bits. Non-finite values are an error.
// The file is written atomically (temporary file + rename).
void save_png(const std::string& path, const Tensor& image);

// Chapter 3: writes 8-bit pixels (row-major, `channels` interleaved values per pixel, 1..4) as a
// PNG, atomically. For callers that draw into their own buffers, e.g. plots.
void save_png_bytes(const std::string& path, int64_t width, int64_t height, int channels,
                    const uint8_t* pixels);

// Chapter 3: tiles images [N, C, H, W] into one image [C, rows*(H+pad)+pad, columns*(W+pad)+pad],
// row by row, with `padding` pixels of value `pad_value` around each. Handy with save_png.
Tensor image_grid(const Tensor& images, int64_t columns, int64_t padding = 1,
                  double pad_value = 1.0);

}  // namespace stablenn
