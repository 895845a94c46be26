// io/image_io.h — reading PNG and JPEG files (libpng, libjpeg-turbo) and writing PNGs
// (stb_image_write) (chapter 3).
//
// Images are float tensors [C, H, W] with values in [0, 1]: C = 1 (grey) or 3 (RGB), as the
// datasets hold them. The plotting code (plot/) writes its figures through save_png_bytes.
#pragma once
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace stablenn {

// Chapter 3: how large an image load_image accepts. Checked against the file's header before any
// pixel buffer exists, so a small file declaring a huge image costs nothing.
struct ImageLimits {
  int64_t max_side = 16384;                // pixels per side
  int64_t max_bytes = int64_t(512) << 20;  // the decoded image (float tensor included): 512 MiB
};

// Chapter 3: loads a PNG or JPEG file as [C, H, W] float32 in [0, 1]. Other formats (GIF, BMP,
// WebP, ...) are refused by name. channels: 1 (grey), 3 (RGB) or 0 (as stored: grey files give 1,
// colour files 3; alpha dropped). Throws stablenn::Error naming the file and the reason when it
// cannot be read, is damaged, or is larger than `limits`.
Tensor load_image(const std::string& path, int channels = 0, const ImageLimits& limits = {});

// Chapter 3: decodes PNG or JPEG bytes already in memory as load_image does; `source` names them
// in messages.
Tensor decode_image(const uint8_t* bytes, size_t size, const std::string& source, int channels = 0,
                    const ImageLimits& limits = {});

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
