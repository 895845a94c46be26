// tests/ch03_canvas_test.cpp — the pixel canvas and the bitmap font (chapter 3): lines against the
// ideal segment, circles against a naive loop, text against the glyph data, PNG round trips.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <string>

#include "core/error.h"
#include "io/image_io.h"
#include "plot/canvas.h"
#include "plot/font.h"
#include "tests/ch03_datasets_util.h"

namespace stablenn {
namespace {

const Color kInk{200, 30, 150};

// The set of (x, y) pixels that have colour `c`.
std::set<std::pair<int, int>> pixels_of(const Canvas& canvas, Color c) {
  std::set<std::pair<int, int>> out;
  for (int y = 0; y < canvas.height(); ++y) {
    for (int x = 0; x < canvas.width(); ++x) {
      if (canvas.pixel(x, y) == c) out.insert({x, y});
    }
  }
  return out;
}

TEST(Canvas, StartsWithTheBackgroundAndRejectsBadSizes) {
  Canvas canvas(7, 5, {1, 2, 3});
  EXPECT_EQ(canvas.width(), 7);
  EXPECT_EQ(canvas.height(), 5);
  EXPECT_EQ(canvas.rgb().size(), 7u * 5u * 3u);
  EXPECT_EQ(pixels_of(canvas, {1, 2, 3}).size(), 35u);
  EXPECT_THROW(Canvas(0, 5), Error);
  EXPECT_THROW(Canvas(5, -1), Error);
  try {
    canvas.pixel(7, 0);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("(7, 0) is outside the 7x5 canvas"), std::string::npos)
        << e.what();
  }
}

TEST(Canvas, PixelsOutsideTheCanvasOrTheClipAreIgnored) {
  Canvas canvas(10, 10);
  canvas.set_pixel(-1, 3, kInk);
  canvas.set_pixel(10, 3, kInk);
  canvas.set_pixel(3, 10, kInk);
  EXPECT_TRUE(pixels_of(canvas, kInk).empty());
  canvas.set_clip(2, 3, 4, 5);  // x in [2, 6), y in [3, 8)
  canvas.fill_rect(0, 0, 10, 10, kInk);
  std::set<std::pair<int, int>> expected;
  for (int y = 3; y < 8; ++y) {
    for (int x = 2; x < 6; ++x) expected.insert({x, y});
  }
  EXPECT_EQ(pixels_of(canvas, kInk), expected);
  canvas.reset_clip();
  canvas.set_pixel(0, 0, kInk);
  EXPECT_EQ(canvas.pixel(0, 0), kInk);
}

TEST(Canvas, FillRectAndOutline) {
  Canvas canvas(12, 9);
  canvas.fill_rect(2, 1, 3, 4, kInk);
  EXPECT_EQ(pixels_of(canvas, kInk).size(), 12u);
  EXPECT_EQ(canvas.pixel(2, 1), kInk);
  EXPECT_EQ(canvas.pixel(4, 4), kInk);
  EXPECT_EQ(canvas.pixel(5, 4), colors::kWhite);
  Canvas outline(12, 9);
  outline.draw_rect(1, 1, 5, 4, kInk);
  EXPECT_EQ(pixels_of(outline, kInk).size(), 2u * 5u + 2u * 2u);  // perimeter of a 5x4 box
  EXPECT_EQ(outline.pixel(3, 2), colors::kWhite);                 // inside stays empty
}

TEST(Canvas, BlendMixesLinearly) {
  Canvas canvas(2, 1, {0, 100, 200});
  canvas.blend_pixel(0, 0, {200, 100, 0}, 0.5);
  EXPECT_EQ(canvas.pixel(0, 0), (Color{100, 100, 100}));
  EXPECT_EQ(mix({10, 20, 30}, {110, 120, 130}, 0.25), (Color{35, 45, 55}));
  EXPECT_EQ(mix({10, 20, 30}, {110, 120, 130}, 0.0), (Color{10, 20, 30}));
  EXPECT_EQ(mix({10, 20, 30}, {110, 120, 130}, 1.0), (Color{110, 120, 130}));
}

TEST(Canvas, HorizontalVerticalAndDiagonalLines) {
  Canvas canvas(20, 20);
  canvas.draw_line(3, 5, 12, 5, kInk);
  std::set<std::pair<int, int>> expected;
  for (int x = 3; x <= 12; ++x) expected.insert({x, 5});
  EXPECT_EQ(pixels_of(canvas, kInk), expected);

  Canvas diagonal(20, 20);
  diagonal.draw_line(15, 15, 2, 2, kInk);  // drawn backwards
  expected.clear();
  for (int i = 2; i <= 15; ++i) expected.insert({i, i});
  EXPECT_EQ(pixels_of(diagonal, kInk), expected);
}

// Oracle: a Bresenham line has max(|dx|, |dy|) + 1 pixels, one per step of the major axis, each
// within half a pixel (along the minor axis) of the ideal segment, and they form an 8-connected
// path.
TEST(Canvas, BresenhamLinesFollowTheIdealSegment) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> coordinate(0, 39);
  for (int trial = 0; trial < 200; ++trial) {
    const int x0 = coordinate(rng), y0 = coordinate(rng), x1 = coordinate(rng),
              y1 = coordinate(rng);
    Canvas canvas(40, 40);
    canvas.draw_line(x0, y0, x1, y1, kInk);
    const auto drawn = pixels_of(canvas, kInk);
    const int dx = x1 - x0, dy = y1 - y0;
    const bool x_major = std::abs(dx) >= std::abs(dy);
    ASSERT_EQ(drawn.size(), static_cast<size_t>(std::max(std::abs(dx), std::abs(dy)) + 1))
        << x0 << "," << y0 << " -> " << x1 << "," << y1;
    for (const auto& [x, y] : drawn) {
      if (x_major && dx != 0) {
        const double ideal_y = y0 + double(dy) * (x - x0) / dx;
        EXPECT_LE(std::abs(y - ideal_y), 0.5 + 1e-9);
      } else if (!x_major) {
        const double ideal_x = x0 + double(dx) * (y - y0) / dy;
        EXPECT_LE(std::abs(x - ideal_x), 0.5 + 1e-9);
      }
      // 8-connected: every pixel but the end points has a neighbour on each side.
      int neighbours = 0;
      for (int ny = -1; ny <= 1; ++ny) {
        for (int nx = -1; nx <= 1; ++nx) neighbours += (nx || ny) && drawn.count({x + nx, y + ny});
      }
      if (drawn.size() > 1) {
        EXPECT_GE(neighbours, 1);
      }
    }
    EXPECT_TRUE(drawn.count({x0, y0}) && drawn.count({x1, y1}));
  }
}

TEST(Canvas, FarAwayAndNonFiniteLinesAreClipped) {
  Canvas canvas(30, 10);
  canvas.draw_line(-1e12, 4, 1e12, 4, kInk);  // clipped first, so this is instant
  EXPECT_EQ(pixels_of(canvas, kInk).size(), 30u);
  Canvas empty(30, 10);
  empty.draw_line(NAN, 1, 5, 5, kInk);
  empty.draw_line(1, 1, INFINITY, 5, kInk);
  empty.draw_line(-50, -50, -10, -3, kInk);  // entirely outside
  EXPECT_TRUE(pixels_of(empty, kInk).empty());
}

TEST(Canvas, ThickLinesCoverTheirWidth) {
  Canvas canvas(20, 20);
  canvas.draw_line(2, 10, 17, 10, kInk, 3);
  // Rows 9, 10, 11; square caps reach one pixel past each end (columns 1..18).
  EXPECT_EQ(pixels_of(canvas, kInk).size(), 18u * 3u);
  EXPECT_EQ(canvas.pixel(1, 10), kInk);
  EXPECT_EQ(canvas.pixel(0, 10), colors::kWhite);
  EXPECT_EQ(canvas.pixel(10, 9), kInk);
  EXPECT_EQ(canvas.pixel(10, 11), kInk);
  EXPECT_EQ(canvas.pixel(10, 12), colors::kWhite);
}

TEST(Canvas, FilledCirclesMatchANaiveLoop) {
  for (double radius : {0.0, 1.0, 2.5, 6.0}) {
    const double cx = 10.3, cy = 9.0;
    Canvas canvas(21, 21);
    canvas.fill_circle(cx, cy, radius, kInk);
    std::set<std::pair<int, int>> expected;
    for (int y = 0; y < 21; ++y) {
      for (int x = 0; x < 21; ++x) {
        if (std::hypot(x - cx, y - cy) <= radius + 0.5) expected.insert({x, y});
      }
    }
    EXPECT_EQ(pixels_of(canvas, kInk), expected) << "radius " << radius;
  }
  Canvas one(5, 5);
  one.fill_circle(2, 2, 0, kInk);
  EXPECT_EQ(pixels_of(one, kInk).size(), 1u);
}

TEST(Canvas, EveryMarkerDrawsAroundItsCentre) {
  for (Marker marker : {Marker::Circle, Marker::Square, Marker::Triangle, Marker::Diamond,
                        Marker::Cross, Marker::Plus}) {
    Canvas canvas(30, 30);
    canvas.draw_marker(marker, 15, 15, 8, kInk);
    const auto drawn = pixels_of(canvas, kInk);
    EXPECT_GE(drawn.size(), 8u) << static_cast<int>(marker);
    for (const auto& [x, y] : drawn) {
      EXPECT_LE(std::abs(x - 15), 5);
      EXPECT_LE(std::abs(y - 15), 5);
    }
  }
  Canvas none(10, 10);
  none.draw_marker(Marker::None, 5, 5, 8, kInk);
  EXPECT_TRUE(pixels_of(none, kInk).empty());
}

TEST(Font, PrintableAsciiGlyphsAreInkedAndDistinct) {
  std::set<std::string> seen;
  for (char32_t c = 0x21; c <= 0x7E; ++c) {
    const Glyph& glyph = glyph_for(c);
    std::string bits;
    int ink = 0;
    for (int row = 0; row < kGlyphHeight; ++row) {
      ASSERT_EQ(std::string(glyph.rows[row]).size(), size_t(kGlyphWidth)) << "glyph " << char(c);
      for (int column = 0; column < kGlyphWidth; ++column) {
        bits += glyph_ink(glyph, row, column) ? '#' : '.';
        ink += glyph_ink(glyph, row, column);
      }
    }
    EXPECT_GT(ink, 0) << "glyph '" << char(c) << "' is blank";
    EXPECT_TRUE(seen.insert(bits).second) << "glyph '" << char(c) << "' looks like another one";
  }
  for (int row = 0; row < kGlyphHeight; ++row) {
    for (int column = 0; column < kGlyphWidth; ++column)
      EXPECT_FALSE(glyph_ink(glyph_for(' '), row, column));
  }
  EXPECT_FALSE(glyph_ink(glyph_for('A'), -1, 0));
  EXPECT_FALSE(glyph_ink(glyph_for('A'), 0, kGlyphWidth));
}

TEST(Font, UnknownCharactersShowABox) {
  const Glyph& box = glyph_for(U'\u2603');  // a snowman: not in the font
  EXPECT_TRUE(glyph_ink(box, 0, 0));
  EXPECT_TRUE(glyph_ink(box, kGlyphHeight - 1, kGlyphWidth - 1));
  EXPECT_FALSE(glyph_ink(box, 3, 2));
  EXPECT_NE(&glyph_for(U'\u03B5'), &box);  // ε is in the font
}

TEST(Font, DecodesUtf8) {
  EXPECT_EQ(decode_utf8("a\xCE\xB5\xE2\x86\x92"), (std::u32string{U'a', U'\u03B5', U'\u2192'}));
  EXPECT_EQ(decode_utf8("\xF0\x9F\x98\x80"), std::u32string(1, U'\U0001F600'));
  EXPECT_EQ(decode_utf8("x\xB5y"),
            (std::u32string{U'x', U'\uFFFD', U'y'}));  // stray continuation byte
  // Cut short: the lead byte and the orphaned continuation byte each become U+FFFD.
  EXPECT_EQ(decode_utf8("x\xE2\x86"), (std::u32string{U'x', U'\uFFFD', U'\uFFFD'}));
  EXPECT_EQ(decode_utf8(""), std::u32string());
}

TEST(Canvas, TextMatchesTheGlyphData) {
  Canvas canvas(40, 20);
  canvas.draw_text(3, 4, "Az", kInk);
  std::set<std::pair<int, int>> expected;
  const std::u32string text = U"Az";
  for (size_t i = 0; i < text.size(); ++i) {
    for (int row = 0; row < kGlyphHeight; ++row) {
      for (int column = 0; column < kGlyphWidth; ++column) {
        if (glyph_ink(glyph_for(text[i]), row, column)) {
          expected.insert({3 + int(i) * kGlyphAdvance + column, 4 + row});
        }
      }
    }
  }
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(pixels_of(canvas, kInk), expected);
}

TEST(Canvas, ScaledTextIsBlocksOfTheUnscaledText) {
  Canvas small(30, 12), big(60, 24);
  small.draw_text(0, 0, "Hi!", kInk);
  big.draw_text(0, 0, "Hi!", kInk, 2);
  for (int y = 0; y < 24; ++y) {
    for (int x = 0; x < 60; ++x)
      ASSERT_EQ(big.pixel(x, y), small.pixel(x / 2, y / 2)) << x << "," << y;
  }
}

TEST(Canvas, UpwardTextIsTheRotatedText) {
  const std::string text = "Loss 1";
  const int w = text_width(text), h = text_height(text);
  Canvas flat(w, h), up(h, w);
  flat.draw_text(0, 0, text, kInk);
  up.draw_text_up(0, 0, text, kInk);
  // Counter-clockwise: (u, v) goes to (v, w - 1 - u).
  for (int v = 0; v < h; ++v) {
    for (int u = 0; u < w; ++u)
      ASSERT_EQ(flat.pixel(u, v), up.pixel(v, w - 1 - u)) << u << "," << v;
  }
}

TEST(Canvas, TextSize) {
  EXPECT_EQ(text_width("AB"), 2 * kGlyphAdvance - 1);
  EXPECT_EQ(text_width("AB", 3), 3 * (2 * kGlyphAdvance - 1));
  EXPECT_EQ(text_width("a\xE2\x86\x92"
                       "b"),
            3 * kGlyphAdvance - 1);                        // UTF-8 counts characters
  EXPECT_EQ(text_width("abc\nd"), 3 * kGlyphAdvance - 1);  // the longest line
  EXPECT_EQ(text_height("x"), kGlyphHeight);
  EXPECT_EQ(text_height("x\ny", 2), 2 * (kLineHeight + kGlyphHeight));
  EXPECT_EQ(text_width(""), 0);
  EXPECT_EQ(text_height(""), 0);
}

TEST(Canvas, PaletteHasTenDistinctColoursAndCycles) {
  std::set<std::tuple<int, int, int>> distinct;
  for (int i = 0; i < 10; ++i) {
    const Color c = palette_color(i);
    distinct.insert({c.r, c.g, c.b});
    EXPECT_EQ(palette_color(i + 10), c);
    EXPECT_NE(c, colors::kWhite);
  }
  EXPECT_EQ(distinct.size(), 10u);
  EXPECT_EQ(palette_color(-1), palette_color(9));
}

TEST(Canvas, PngRoundTripIsExact) {
  datasets_test::TempDir dir;
  Canvas canvas(13, 7, {10, 20, 30});
  canvas.fill_rect(2, 1, 4, 3, kInk);
  canvas.set_pixel(12, 6, {255, 0, 1});
  const std::string path = dir.file("canvas.png");
  canvas.save_png(path);
  const Tensor image = load_image(path, 3);  // [3, H, W] in [0, 1]
  ASSERT_EQ(image.shape(), (Shape{3, 7, 13}));
  for (int y = 0; y < 7; ++y) {
    for (int x = 0; x < 13; ++x) {
      const Color c = canvas.pixel(x, y);
      EXPECT_EQ(std::lround(image.at({0, y, x}) * 255), c.r);
      EXPECT_EQ(std::lround(image.at({1, y, x}) * 255), c.g);
      EXPECT_EQ(std::lround(image.at({2, y, x}) * 255), c.b);
    }
  }
  try {
    canvas.save_png(dir.file("no/such/folder/canvas.png"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no/such/folder/canvas.png"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace stablenn
