// plot/canvas.h — an RGB pixel canvas with lines, shapes, markers and text (chapter 3).
//
// The plots of the book (loss curves, decision regions, image grids) are drawn on this canvas and
// written as PNG. Coordinates are pixels: x grows to the right, y grows downwards, (0, 0) is the
// top-left pixel. Drawing outside the canvas (or outside the clip rectangle) is silently cut off,
// so callers never need to clip themselves.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace stablenn {

// Chapter 3: an 8-bit RGB colour.
struct Color {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Color& other) const { return r == other.r && g == other.g && b == other.b; }
  bool operator!=(const Color& other) const { return !(*this == other); }
};

namespace colors {
constexpr Color kWhite{255, 255, 255};
constexpr Color kBlack{0, 0, 0};
constexpr Color kDarkGrey{64, 64, 64};
constexpr Color kGrey{128, 128, 128};
constexpr Color kLightGrey{225, 225, 225};
constexpr Color kRed{214, 39, 40};
constexpr Color kGreen{44, 160, 44};
}  // namespace colors

// Chapter 3: the index-th colour of a 10-colour qualitative palette (matplotlib's "tab10"),
// cycling; series and classes take their colours from it.
Color palette_color(int64_t index);

// Chapter 3: a colour mixed with another: alpha = 0 gives `under`, alpha = 1 gives `over`.
Color mix(Color under, Color over, double alpha);

// Chapter 3: point markers for plot series and scatter plots.
enum class Marker { None, Circle, Square, Triangle, Diamond, Cross, Plus };

// Chapter 3: width and height in pixels of `text` drawn at an integer `scale` (UTF-8, '\n' starts a
// new line).
int text_width(const std::string& text, int scale = 1);
int text_height(const std::string& text, int scale = 1);

// Chapter 3: `text` with line breaks put in at spaces so that every line is at most `max_width`
// pixels wide at `scale`; a word wider than that on its own is broken between characters. Existing
// '\n' are kept. Titles use it so they are wrapped rather than cut off at the canvas edge.
std::string wrap_text(const std::string& text, int max_width, int scale = 1);

// Chapter 3: text fitted to a width: the largest scale <= max_scale at which wrap_text gives at most
// two lines (scale 1 wraps into as many lines as it needs).
struct FittedText {
  std::string text;  // with the line breaks
  int scale = 1;
};
FittedText fit_text(const std::string& text, int max_width, int max_scale);

// Chapter 3: the canvas.
class Canvas {
 public:
  // width, height >= 1; throws otherwise.
  Canvas(int width, int height, Color background = colors::kWhite);

  int width() const { return width_; }
  int height() const { return height_; }
  // The colour at (x, y); throws naming the position when it is outside the canvas.
  Color pixel(int x, int y) const;
  // The pixels, row by row, 3 bytes (r, g, b) each.
  const std::vector<uint8_t>& rgb() const { return rgb_; }

  // Restricts all drawing to the rectangle [x, x + w) x [y, y + h) (intersected with the canvas).
  void set_clip(int x, int y, int w, int h);
  void reset_clip();

  void set_pixel(int x, int y, Color color);
  // Mixes `color` over the pixel with opacity alpha in [0, 1] (used for shaded regions).
  void blend_pixel(int x, int y, Color color, double alpha);
  void fill_rect(int x, int y, int w, int h, Color color);
  void blend_rect(int x, int y, int w, int h, Color color, double alpha);
  void draw_rect(int x, int y, int w, int h, Color color);  // 1-pixel outline
  // A straight line by Bresenham's algorithm between the rounded end points, `line_width` pixels
  // thick. Non-finite end points draw nothing; far-away end points are clipped first (Liang-Barsky)
  // so a line towards a huge coordinate costs no more than one across the canvas.
  void draw_line(double x0, double y0, double x1, double y1, Color color, int line_width = 1);
  // The pixels whose centres lie within `radius` (+ half a pixel) of (cx, cy).
  void fill_circle(double cx, double cy, double radius, Color color);
  // A marker of about `size` pixels across centred on (cx, cy).
  void draw_marker(Marker marker, double cx, double cy, int size, Color color);
  // Text with its top-left corner at (x, y), each font pixel a scale x scale block.
  void draw_text(int x, int y, const std::string& text, Color color, int scale = 1);
  // Text rotated 90 degrees counter-clockwise (read bottom to top, as a y-axis label), with the
  // top-left corner of its bounding box at (x, y); the box is text_height wide, text_width tall.
  void draw_text_up(int x, int y, const std::string& text, Color color, int scale = 1);

  // How many ink pixels of text fell outside the canvas so far: text a reader cannot see. Pixels cut
  // by the clip rectangle do not count (that clipping is asked for). Plots keep this at 0.
  int64_t text_pixels_cut() const { return text_pixels_cut_; }

  // Writes the canvas as an RGB PNG, atomically (temporary file + rename); errors name the file.
  // Warns on stderr, naming the file, when text_pixels_cut() > 0.
  void save_png(const std::string& path) const;

 private:
  // Calls plot(u, v) for every ink pixel of `text` in unrotated text coordinates.
  template <class Plot>
  void for_each_text_pixel(const std::string& text, int scale, Plot plot) const;
  // set_pixel for text: counts the pixels that miss the canvas (text_pixels_cut).
  void set_text_pixel(int x, int y, Color color);

  int width_, height_;
  int clip_x0_, clip_y0_, clip_x1_, clip_y1_;  // half-open clip rectangle
  std::vector<uint8_t> rgb_;
  int64_t text_pixels_cut_ = 0;
};

}  // namespace stablenn
