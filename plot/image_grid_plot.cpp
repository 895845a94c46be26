// plot/image_grid_plot.cpp — captioned image grids (chapter 3).
#include "plot/image_grid_plot.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "plot/font.h"

namespace stablenn {

namespace {
constexpr int kGap = 8;         // pixels between cells and around the grid
constexpr int kCaptionGap = 4;  // between an image and its caption
constexpr int kTitleScale = 2;
}  // namespace

Canvas CaptionedImageGrid::render() const {
  const std::string what = "CaptionedImageGrid '" + title + "'";
  SNN_CHECK(images.defined() && images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3) &&
                is_floating(images.dtype()),
            what, ": images must be a float tensor [N, C, H, W] with C = 1 or 3, got ",
            images.defined() ? shape_str(images.shape()) + " " + dtype_name(images.dtype())
                             : "undefined");
  const int64_t n = images.size(0), channels = images.size(1);
  const int64_t height = images.size(2), width = images.size(3);
  SNN_CHECK(n > 0 && height > 0 && width > 0, what, ": no pixels to show in images ",
            shape_str(images.shape()));
  SNN_CHECK(captions.empty() || static_cast<int64_t>(captions.size()) == n, what, ": ",
            captions.size(), " captions for ", n, " images; give one per image or none");
  SNN_CHECK(caption_colors.empty() || static_cast<int64_t>(caption_colors.size()) == n, what, ": ",
            caption_colors.size(), " caption colours for ", n,
            " images; give one per image or none");
  SNN_CHECK(columns >= 1 && scale >= 1 && scale <= 64, what,
            ": columns must be >= 1 and scale in [1, 64], got ", columns, " and ", scale);

  // Geometry: every cell has the same size, wide enough for the image and the longest caption.
  int caption_w = 0, caption_h = 0;
  for (const std::string& caption : captions) {
    caption_w = std::max(caption_w, text_width(caption));
    caption_h = std::max(caption_h, text_height(caption));
  }
  const int64_t image_w = width * scale, image_h = height * scale;
  const int64_t cell_w = std::max<int64_t>(image_w, caption_w);
  const int64_t cell_h = image_h + (caption_h > 0 ? kCaptionGap + caption_h : 0);
  const int64_t used_columns = std::min(columns, n), rows = (n + columns - 1) / columns;
  const int64_t grid_w = used_columns * (cell_w + kGap) + kGap;
  // A long title wraps to the grid's width (at least 400 px), rather than widening the image.
  const FittedText fitted =
      fit_text(title, static_cast<int>(std::min<int64_t>(std::max<int64_t>(grid_w, 400), 16384)) - 2 * kGap,
               kTitleScale);
  const int title_h = title.empty() ? 0 : text_height(fitted.text, fitted.scale) + kGap;
  const int64_t canvas_w =
      std::max<int64_t>(grid_w, text_width(fitted.text, fitted.scale) + 2 * kGap);
  const int64_t canvas_h = kGap + title_h + rows * (cell_h + kGap);
  SNN_CHECK(canvas_w <= 16384 && canvas_h <= 16384, what, ": the grid would be ", canvas_w, "x",
            canvas_h, " pixels; use fewer images, more columns or a smaller scale");

  Canvas canvas(static_cast<int>(canvas_w), static_cast<int>(canvas_h));
  if (!title.empty()) {  // each line centred
    std::istringstream lines(fitted.text);
    int top = kGap;
    for (std::string line; std::getline(lines, line); top += kLineHeight * fitted.scale)
      canvas.draw_text(static_cast<int>((canvas_w - text_width(line, fitted.scale)) / 2), top, line,
                       colors::kBlack, fitted.scale);
  }
  const std::vector<double> values = images.to_vector();  // [N, C, H, W] row-major
  const int64_t plane = height * width;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t cell_x = kGap + (k % columns) * (cell_w + kGap);
    const int64_t cell_y = kGap + title_h + (k / columns) * (cell_h + kGap);
    const int image_x = static_cast<int>(cell_x + (cell_w - image_w) / 2),
              image_y = static_cast<int>(cell_y);
    for (int64_t i = 0; i < height; ++i) {
      for (int64_t j = 0; j < width; ++j) {
        uint8_t rgb[3];
        for (int64_t c = 0; c < 3; ++c) {
          const double v =
              values[(k * channels + std::min(c, channels - 1)) * plane + i * width + j];
          SNN_CHECK(std::isfinite(v), what, ": image ", k, " has the non-finite value ", v,
                    " at row ", i, ", column ", j);
          rgb[c] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255));
        }
        canvas.fill_rect(image_x + static_cast<int>(j * scale),
                         image_y + static_cast<int>(i * scale), scale, scale,
                         {rgb[0], rgb[1], rgb[2]});
      }
    }
    // A thin frame shows where light images end on the white background.
    canvas.draw_rect(image_x - 1, image_y - 1, static_cast<int>(image_w) + 2,
                     static_cast<int>(image_h) + 2, colors::kLightGrey);
    if (!captions.empty()) {
      const Color color = caption_colors.empty() ? colors::kBlack : caption_colors[k];
      const std::string& caption = captions[k];
      canvas.draw_text(static_cast<int>(cell_x + (cell_w - text_width(caption)) / 2),
                       static_cast<int>(cell_y + image_h + kCaptionGap), caption, color);
    }
  }
  return canvas;
}

void CaptionedImageGrid::save(const std::string& path) const { render().save_png(path); }

}  // namespace stablenn
