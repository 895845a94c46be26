// plot/canvas.cpp — pixels, Bresenham lines, circles, markers and bitmap text (chapter 3).
#include "plot/canvas.h"

#include <algorithm>
#include <cmath>
#include <iostream>

#include "core/error.h"
#include "io/image_io.h"
#include "plot/font.h"

namespace stablenn {

Color palette_color(int64_t index) {
  static const Color kTab10[10] = {
      {31, 119, 180}, {255, 127, 14},  {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
      {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  const int64_t i = ((index % 10) + 10) % 10;
  return kTab10[i];
}

Color mix(Color under, Color over, double alpha) {
  alpha = std::clamp(alpha, 0.0, 1.0);
  auto channel = [alpha](uint8_t a, uint8_t b) {
    return static_cast<uint8_t>(std::lround(a + (double(b) - a) * alpha));
  };
  return {channel(under.r, over.r), channel(under.g, over.g), channel(under.b, over.b)};
}

namespace {

// The lines of `text`, split at '\n'.
std::vector<std::u32string> text_lines(const std::string& text) {
  std::vector<std::u32string> lines(1);
  for (char32_t c : decode_utf8(text)) {
    if (c == U'\n') {
      lines.emplace_back();
    } else {
      lines.back().push_back(c);
    }
  }
  return lines;
}

}  // namespace

int text_width(const std::string& text, int scale) {
  size_t longest = 0;
  for (const auto& line : text_lines(text)) longest = std::max(longest, line.size());
  if (longest == 0) return 0;
  // The last glyph has no blank column after it.
  return static_cast<int>((longest * kGlyphAdvance - (kGlyphAdvance - kGlyphWidth)) * scale);
}

int text_height(const std::string& text, int scale) {
  if (text.empty()) return 0;
  const int lines = static_cast<int>(text_lines(text).size());
  return ((lines - 1) * kLineHeight + kGlyphHeight) * scale;
}

std::string wrap_text(const std::string& text, int max_width, int scale) {
  scale = std::max(scale, 1);
  // Characters per line: width(n) = (n * advance - 1) * scale <= max_width.
  const size_t fit = static_cast<size_t>(
      std::max(1, (max_width / scale + (kGlyphAdvance - kGlyphWidth)) / kGlyphAdvance));
  std::u32string out;
  for (const std::u32string& line : text_lines(text)) {
    if (!out.empty()) out.push_back(U'\n');
    std::u32string current;  // the output line being filled
    size_t i = 0;
    while (i < line.size()) {
      size_t end = line.find(U' ', i);
      if (end == std::u32string::npos) end = line.size();
      std::u32string word = line.substr(i, end - i);
      i = end + 1;
      const size_t needed = current.empty() ? word.size() : current.size() + 1 + word.size();
      if (needed <= fit) {
        if (!current.empty()) current.push_back(U' ');
        current += word;
        continue;
      }
      if (!current.empty()) out += current + U'\n', current.clear();
      while (word.size() > fit) {  // a word longer than a line: break it between characters
        out += word.substr(0, fit) + U'\n';
        word.erase(0, fit);
      }
      current = word;
    }
    out += current;
  }
  return encode_utf8(out);
}

FittedText fit_text(const std::string& text, int max_width, int max_scale) {
  for (int scale = std::max(max_scale, 1); scale > 1; --scale) {
    const std::string wrapped = wrap_text(text, max_width, scale);
    if (text_lines(wrapped).size() <= 2) return {wrapped, scale};
  }
  return {wrap_text(text, max_width, 1), 1};
}

Canvas::Canvas(int width, int height, Color background) : width_(width), height_(height) {
  SNN_CHECK(width >= 1 && height >= 1 && width <= 16384 && height <= 16384,
            "Canvas: size must be between 1x1 and 16384x16384 pixels, got ", width, "x", height);
  reset_clip();
  rgb_.resize(size_t(width) * height * 3);
  for (size_t p = 0; p < rgb_.size(); p += 3) {
    rgb_[p] = background.r, rgb_[p + 1] = background.g, rgb_[p + 2] = background.b;
  }
}

Color Canvas::pixel(int x, int y) const {
  SNN_CHECK(x >= 0 && x < width_ && y >= 0 && y < height_, "Canvas::pixel: (", x, ", ", y,
            ") is outside the ", width_, "x", height_, " canvas");
  const size_t p = (size_t(y) * width_ + x) * 3;
  return {rgb_[p], rgb_[p + 1], rgb_[p + 2]};
}

void Canvas::set_clip(int x, int y, int w, int h) {
  clip_x0_ = std::clamp(x, 0, width_);
  clip_y0_ = std::clamp(y, 0, height_);
  clip_x1_ = std::clamp(x + std::max(w, 0), clip_x0_, width_);
  clip_y1_ = std::clamp(y + std::max(h, 0), clip_y0_, height_);
}

void Canvas::reset_clip() { clip_x0_ = 0, clip_y0_ = 0, clip_x1_ = width_, clip_y1_ = height_; }

void Canvas::set_pixel(int x, int y, Color color) {
  if (x < clip_x0_ || x >= clip_x1_ || y < clip_y0_ || y >= clip_y1_) return;
  const size_t p = (size_t(y) * width_ + x) * 3;
  rgb_[p] = color.r, rgb_[p + 1] = color.g, rgb_[p + 2] = color.b;
}

void Canvas::blend_pixel(int x, int y, Color color, double alpha) {
  if (x < clip_x0_ || x >= clip_x1_ || y < clip_y0_ || y >= clip_y1_) return;
  set_pixel(x, y, mix(pixel(x, y), color, alpha));
}

void Canvas::fill_rect(int x, int y, int w, int h, Color color) {
  const int x0 = std::max(x, clip_x0_), x1 = std::min(x + w, clip_x1_);
  const int y0 = std::max(y, clip_y0_), y1 = std::min(y + h, clip_y1_);
  for (int py = y0; py < y1; ++py) {
    for (int px = x0; px < x1; ++px) set_pixel(px, py, color);
  }
}

void Canvas::blend_rect(int x, int y, int w, int h, Color color, double alpha) {
  const int x0 = std::max(x, clip_x0_), x1 = std::min(x + w, clip_x1_);
  const int y0 = std::max(y, clip_y0_), y1 = std::min(y + h, clip_y1_);
  for (int py = y0; py < y1; ++py) {
    for (int px = x0; px < x1; ++px) blend_pixel(px, py, color, alpha);
  }
}

void Canvas::draw_rect(int x, int y, int w, int h, Color color) {
  if (w <= 0 || h <= 0) return;
  fill_rect(x, y, w, 1, color);
  fill_rect(x, y + h - 1, w, 1, color);
  fill_rect(x, y, 1, h, color);
  fill_rect(x + w - 1, y, 1, h, color);
}

namespace {

// Liang-Barsky: clips the segment to [lo_x, hi_x] x [lo_y, hi_y]; false when nothing is left.
bool clip_segment(double& x0, double& y0, double& x1, double& y1, double lo_x, double lo_y,
                  double hi_x, double hi_y) {
  const double dx = x1 - x0, dy = y1 - y0;
  double t0 = 0, t1 = 1;
  const double p[4] = {-dx, dx, -dy, dy};
  const double q[4] = {x0 - lo_x, hi_x - x0, y0 - lo_y, hi_y - y0};
  for (int k = 0; k < 4; ++k) {
    if (p[k] == 0) {
      if (q[k] < 0) return false;  // parallel to this edge and outside it
      continue;
    }
    const double t = q[k] / p[k];
    if (p[k] < 0) {
      t0 = std::max(t0, t);
    } else {
      t1 = std::min(t1, t);
    }
    if (t0 > t1) return false;
  }
  const double sx = x0, sy = y0;
  x0 = sx + t0 * dx, y0 = sy + t0 * dy;
  x1 = sx + t1 * dx, y1 = sy + t1 * dy;
  return true;
}

}  // namespace

void Canvas::draw_line(double x0, double y0, double x1, double y1, Color color, int line_width) {
  if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1)) return;
  line_width = std::max(line_width, 1);
  const double pad = line_width + 1.0;
  if (!clip_segment(x0, y0, x1, y1, -pad, -pad, width_ + pad, height_ + pad)) return;
  int x = static_cast<int>(std::lround(x0)), y = static_cast<int>(std::lround(y0));
  const int xe = static_cast<int>(std::lround(x1)), ye = static_cast<int>(std::lround(y1));
  const int dx = std::abs(xe - x), dy = -std::abs(ye - y);
  const int step_x = x < xe ? 1 : -1, step_y = y < ye ? 1 : -1;
  const int before = (line_width - 1) / 2;  // thick lines: a line_width square at each point
  int error = dx + dy;
  while (true) {
    if (line_width == 1) {
      set_pixel(x, y, color);
    } else {
      fill_rect(x - before, y - before, line_width, line_width, color);
    }
    if (x == xe && y == ye) break;
    const int twice = 2 * error;
    if (twice >= dy) error += dy, x += step_x;
    if (twice <= dx) error += dx, y += step_y;
  }
}

void Canvas::fill_circle(double cx, double cy, double radius, Color color) {
  if (!std::isfinite(cx) || !std::isfinite(cy) || !(radius >= 0)) return;
  // Pixel centres within radius + 0.5: (dx^2 + dy^2 <= r^2 + r + 0.25), so radius 0 is one pixel.
  const double limit = radius * radius + radius + 0.25;
  const int x0 = static_cast<int>(std::floor(cx - radius - 1)),
            x1 = static_cast<int>(std::ceil(cx + radius + 1));
  const int y0 = static_cast<int>(std::floor(cy - radius - 1)),
            y1 = static_cast<int>(std::ceil(cy + radius + 1));
  if (x1 < 0 || y1 < 0 || x0 >= width_ || y0 >= height_) return;
  for (int y = std::max(y0, 0); y <= std::min(y1, height_ - 1); ++y) {
    for (int x = std::max(x0, 0); x <= std::min(x1, width_ - 1); ++x) {
      const double ddx = x - cx, ddy = y - cy;
      if (ddx * ddx + ddy * ddy <= limit) set_pixel(x, y, color);
    }
  }
}

void Canvas::draw_marker(Marker marker, double cx, double cy, int size, Color color) {
  if (!std::isfinite(cx) || !std::isfinite(cy) || marker == Marker::None) return;
  const double r = std::max(size, 2) / 2.0;
  const int x = static_cast<int>(std::lround(cx)), y = static_cast<int>(std::lround(cy));
  const int ir = static_cast<int>(std::lround(r));
  switch (marker) {
    case Marker::None: return;
    case Marker::Circle: fill_circle(x, y, r - 0.5, color); return;
    case Marker::Square: fill_rect(x - ir + 1, y - ir + 1, 2 * ir - 1, 2 * ir - 1, color); return;
    case Marker::Diamond:
      for (int dy = -ir; dy <= ir; ++dy) {
        const int half = ir - std::abs(dy);
        fill_rect(x - half, y + dy, 2 * half + 1, 1, color);
      }
      return;
    case Marker::Triangle:  // pointing up, base at the bottom
      for (int dy = -ir; dy <= ir; ++dy) {
        const int half = (dy + ir) / 2;
        fill_rect(x - half, y + dy, 2 * half + 1, 1, color);
      }
      return;
    case Marker::Cross:
      draw_line(x - ir, y - ir, x + ir, y + ir, color, 2);
      draw_line(x - ir, y + ir, x + ir, y - ir, color, 2);
      return;
    case Marker::Plus:
      draw_line(x - ir, y, x + ir, y, color, 2);
      draw_line(x, y - ir, x, y + ir, color, 2);
      return;
  }
}

template <class Plot>
void Canvas::for_each_text_pixel(const std::string& text, int scale, Plot plot) const {
  int line_top = 0;
  for (const auto& line : text_lines(text)) {
    for (size_t i = 0; i < line.size(); ++i) {
      const Glyph& glyph = glyph_for(line[i]);
      for (int row = 0; row < kGlyphHeight; ++row) {
        for (int column = 0; column < kGlyphWidth; ++column) {
          if (!glyph_ink(glyph, row, column)) continue;
          const int u = (static_cast<int>(i) * kGlyphAdvance + column) * scale;
          const int v = line_top + row * scale;
          for (int sy = 0; sy < scale; ++sy) {
            for (int sx = 0; sx < scale; ++sx) plot(u + sx, v + sy);
          }
        }
      }
    }
    line_top += kLineHeight * scale;
  }
}

void Canvas::draw_text(int x, int y, const std::string& text, Color color, int scale) {
  scale = std::max(scale, 1);
  for_each_text_pixel(text, scale, [&](int u, int v) { set_text_pixel(x + u, y + v, color); });
}

void Canvas::draw_text_up(int x, int y, const std::string& text, Color color, int scale) {
  scale = std::max(scale, 1);
  const int length = text_width(text, scale);
  // Counter-clockwise rotation: text point (u, v) lands at (v, length - 1 - u) in the box.
  for_each_text_pixel(text, scale,
                      [&](int u, int v) { set_text_pixel(x + v, y + length - 1 - u, color); });
}

void Canvas::set_text_pixel(int x, int y, Color color) {
  if (x < 0 || x >= width_ || y < 0 || y >= height_) ++text_pixels_cut_;
  set_pixel(x, y, color);
}

void Canvas::save_png(const std::string& path) const {
  if (text_pixels_cut_ > 0)
    std::cerr << "warning: " << path << ": " << text_pixels_cut_ << " pixels of text fall outside the "
              << width_ << "x" << height_ << " canvas (a title or label is cut off)\n";
  save_png_bytes(path, width_, height_, 3, rgb_.data());
}

}  // namespace stablenn
