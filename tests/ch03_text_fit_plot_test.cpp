// tests/ch03_text_fit_plot_test.cpp — text a student can read (chapter 3, used by chapters 7-9): the
// ℓ and ∞ glyphs differ from "l" and "1", long titles are wrapped or shrunk but never leave the
// canvas, and legends stay inside the plotting area.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "plot/canvas.h"
#include "plot/font.h"
#include "plot/plot.h"
#include "plot/plot_axes.h"

namespace stablenn {
namespace {

// The ink pixels of `text` drawn alone, as (x, y).
std::set<std::pair<int, int>> ink_of(const std::string& text) {
  Canvas canvas(40, 12);
  canvas.draw_text(0, 0, text, colors::kBlack);
  std::set<std::pair<int, int>> out;
  for (int y = 0; y < canvas.height(); ++y)
    for (int x = 0; x < canvas.width(); ++x)
      if (canvas.pixel(x, y) == colors::kBlack) out.insert({x, y});
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(Font, ScriptEllDiffersFromOneAndFromEll) {
  const auto script = ink_of("ℓ"), one = ink_of("1"), ell = ink_of("l");
  EXPECT_FALSE(script.empty());
  EXPECT_NE(script, one);
  EXPECT_NE(script, ell);
  EXPECT_NE(ell, one);  // a plain "l" must not read as "1" either
  // Not a near miss: several pixels differ between each pair.
  auto differing = [](const std::set<std::pair<int, int>>& a, const std::set<std::pair<int, int>>& b) {
    int count = 0;
    for (const auto& p : a) count += !b.count(p);
    for (const auto& p : b) count += !a.count(p);
    return count;
  };
  EXPECT_GE(differing(script, one), 4);
  EXPECT_GE(differing(script, ell), 4);
  EXPECT_GE(differing(ell, one), 4);
  // "ℓ2" and "12" are different pictures (the bug: "ℓ2-PGD" read as "12-PGD").
  EXPECT_NE(ink_of("ℓ2"), ink_of("12"));
}

TEST(Font, NormSymbolsAreRealGlyphs) {
  const Glyph& missing = glyph_for(U'\uFFFF');  // the hollow box of a missing character
  for (char32_t c : {U'\u2113', U'\u221E'}) {
    EXPECT_NE(&glyph_for(c), &missing) << "U+" << std::hex << static_cast<uint32_t>(c);
  }
  EXPECT_NE(ink_of("∞"), ink_of("8"));
  EXPECT_EQ(decode_utf8("ℓ∞"), (std::u32string{U'\u2113', U'\u221E'}));
}

TEST(Font, EncodeUtf8InvertsDecode) {
  const std::string text = "ε = 0.5, ℓ∞ → ℓ2, σ ≤ 1 😀";
  EXPECT_EQ(encode_utf8(decode_utf8(text)), text);
}

TEST(WrapText, LinesFitAndNoWordIsLost) {
  const std::string text = "robust accuracy under ℓ2-PGD attacks of growing radius, strong protocol";
  for (int width : {60, 100, 150, 400}) {
    const std::string wrapped = wrap_text(text, width);
    std::string rejoined;
    for (const std::string& line : lines_of(wrapped)) {
      EXPECT_LE(text_width(line), width) << "'" << line << "' at width " << width;
      rejoined += (rejoined.empty() ? "" : " ") + line;
    }
    EXPECT_EQ(rejoined, text) << "width " << width;
  }
  EXPECT_EQ(wrap_text(text, 10000), text);  // wide enough: unchanged
}

TEST(WrapText, BreaksAWordLongerThanALineBetweenCharacters) {
  const std::string word = "ℓℓℓℓℓℓℓℓℓℓℓℓ";  // multi-byte characters must not be split mid-byte
  const std::string wrapped = wrap_text(word, 5 * kGlyphAdvance);
  const auto lines = lines_of(wrapped);
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& line : lines) {
    EXPECT_LE(text_width(line), 5 * kGlyphAdvance);
    EXPECT_EQ(decode_utf8(line).find(U'\uFFFD'), std::u32string::npos);
  }
}

TEST(FitText, ShrinksOnlyWhenTwoLinesAtTheLargeSizeAreNotEnough) {
  const FittedText short_title = fit_text("loss", 300, 2);
  EXPECT_EQ(short_title.scale, 2);
  EXPECT_EQ(short_title.text, "loss");
  const FittedText two_lines = fit_text("a title that needs two lines here", 220, 2);
  EXPECT_EQ(two_lines.scale, 2);
  EXPECT_EQ(lines_of(two_lines.text).size(), 2u);
  const FittedText shrunk = fit_text("a much longer title that cannot fit in two lines at twice the size", 150, 2);
  EXPECT_EQ(shrunk.scale, 1);
  for (const std::string& line : lines_of(shrunk.text)) EXPECT_LE(text_width(line), 150);
}

TEST(Titles, ALongTitleOnASmallCanvasStaysInside) {
  LinePlot plot;
  plot.title = "trajectories in state space (coordinates 0 and 1) of a neural ODE trained on two spirals";
  plot.x_label = "a rather long x label that is wider than the axes of this small plot";
  plot.y_label = "logit(class 1) - logit(class 0), taller than the plot";
  plot.width = 200, plot.height = 180;
  plot.add("series", {1.0, 2.0, 3.0});
  const Canvas canvas = plot.render();
  EXPECT_EQ(canvas.text_pixels_cut(), 0);
  // The fitted title is as wide as the region allows, no wider, and it was drawn: the top rows hold ink.
  const FittedText title = fit_title(plot.title, plot.width);
  for (const std::string& line : lines_of(title.text))
    EXPECT_LE(text_width(line, title.scale), plot.width - 16) << line;
  int ink = 0;
  for (int y = 0; y < 12; ++y)
    for (int x = 0; x < canvas.width(); ++x) ink += canvas.pixel(x, y) == colors::kBlack;
  EXPECT_GT(ink, 20);
}

TEST(Titles, TheCutCounterSeesTextOffTheCanvas) {
  // The check the plots rely on must itself fire: text past any edge is counted.
  Canvas canvas(30, 10);
  canvas.draw_text(0, 0, "ok", colors::kBlack);
  EXPECT_EQ(canvas.text_pixels_cut(), 0);
  canvas.draw_text(20, 0, "too long", colors::kBlack);
  EXPECT_GT(canvas.text_pixels_cut(), 0);
  Canvas up(10, 10);
  up.draw_text_up(0, -5, "up", colors::kBlack);
  EXPECT_GT(up.text_pixels_cut(), 0);
}

TEST(Legend, DrawnInsideThePlottingArea) {
  LinePlot plot;
  plot.width = 320, plot.height = 240;
  plot.title = "legend placement";
  for (int k = 0; k < 4; ++k)
    plot.add("series number " + std::to_string(k), {1.0 * k, 2.0, 1.5 + k, 3.0});
  const Canvas canvas = plot.render();
  const std::vector<double> all = {0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.5};
  const AxesLayout axes = layout_axes(0, 0, plot.width, plot.height, fit_axis({1, 2, 3, 4}, false),
                                      fit_axis(all, false), plot.title, "", "");
  // The legend's border is the only kGrey in a line plot.
  int border = 0;
  for (int y = 0; y < canvas.height(); ++y)
    for (int x = 0; x < canvas.width(); ++x) {
      if (canvas.pixel(x, y) != colors::kGrey) continue;
      ++border;
      EXPECT_GE(x, axes.left);
      EXPECT_LT(x, axes.left + axes.width);
      EXPECT_GE(y, axes.top);
      EXPECT_LT(y, axes.top + axes.height);
    }
  EXPECT_GT(border, 100);  // a box was drawn
  EXPECT_EQ(canvas.text_pixels_cut(), 0);
}

}  // namespace
}  // namespace stablenn
