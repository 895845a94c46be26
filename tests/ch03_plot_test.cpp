// tests/ch03_plot_test.cpp — line plots, scatter plots with decision regions and captioned image
// grids (chapter 3): the pixels land where the axes mapping says, PNGs read back right.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/error.h"
#include "core/tensor.h"
#include "io/image_io.h"
#include "plot/image_grid_plot.h"
#include "plot/plot.h"
#include "plot/plot_axes.h"
#include "plot/scatter_plot.h"
#include "tests/ch03_datasets_util.h"

namespace stablenn {
namespace {

const Color kSeries{200, 30, 150};  // a colour nothing else in a plot uses

// Pixels of colour c, as (x, y).
std::vector<std::pair<int, int>> pixels_of(const Canvas& canvas, Color c) {
  std::vector<std::pair<int, int>> out;
  for (int y = 0; y < canvas.height(); ++y) {
    for (int x = 0; x < canvas.width(); ++x) {
      if (canvas.pixel(x, y) == c) out.push_back({x, y});
    }
  }
  return out;
}

template <class F>
void expect_error_containing(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an error containing: " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(AxisScale, FitsTheDataWithAMargin) {
  const AxisScale a = fit_axis({2, NAN, 4, INFINITY, 3}, false, 0.25);
  EXPECT_DOUBLE_EQ(a.lo, 1.5);
  EXPECT_DOUBLE_EQ(a.hi, 4.5);
  EXPECT_DOUBLE_EQ(a.fraction(1.5), 0);
  EXPECT_DOUBLE_EQ(a.fraction(3), 0.5);
  EXPECT_TRUE(std::isnan(a.fraction(NAN)));
  const AxisScale log_axis = fit_axis({-1, 0, 1e-3, 10}, true, 0.0);  // non-positive values ignored
  EXPECT_NEAR(log_axis.lo, 1e-3, 1e-15);
  EXPECT_NEAR(log_axis.hi, 10, 1e-12);
  EXPECT_NEAR(log_axis.fraction(0.1), 0.5, 1e-12);  // halfway in decades
  EXPECT_TRUE(std::isnan(log_axis.fraction(0)));
  const AxisScale single = fit_axis({5}, false);
  EXPECT_LT(single.lo, 5);
  EXPECT_GT(single.hi, 5);
  const AxisScale none = fit_axis({}, false);
  EXPECT_EQ(none.lo, 0);
  EXPECT_EQ(none.hi, 1);
  expect_error_containing([] { fixed_axis(0, 1, true, "plot y_range"); }, "plot y_range");
  expect_error_containing([] { fixed_axis(2, 1, false, "plot x_range"); }, "lo < hi");
}

// A horizontal series at y = 0.5 on fixed axes lands on the pixel row the layout computes.
TEST(LinePlot, SeriesPixelsLieWhereTheAxesPutThem) {
  LinePlot plot;
  plot.title = "flat";
  plot.x_label = "x";
  plot.y_label = "y";
  plot.x_range = {{0, 10}};
  plot.y_range = {{0, 1}};
  plot.series.push_back({"", {0, 10}, {0.5, 0.5}, kSeries, Marker::None, 1});
  const Canvas canvas = plot.render();
  EXPECT_EQ(canvas.width(), plot.width);
  EXPECT_EQ(canvas.height(), plot.height);
  const AxesLayout axes =
      layout_axes(0, 0, plot.width, plot.height, fixed_axis(0, 10, false, "x"),
                  fixed_axis(0, 1, false, "y"), plot.title, plot.x_label, plot.y_label);
  const auto drawn = pixels_of(canvas, kSeries);
  ASSERT_EQ(drawn.size(), static_cast<size_t>(axes.width));  // the whole width, one pixel thick
  for (const auto& [x, y] : drawn) {
    EXPECT_EQ(y, std::lround(axes.to_py(0.5)));
    EXPECT_GE(x, axes.left);
    EXPECT_LT(x, axes.left + axes.width);
  }
}

// y = x^2 on log-log axes is a straight line of slope 2 in decades.
TEST(LinePlot, PowerLawIsStraightOnLogLogAxes) {
  LinePlot plot;
  plot.log_x = plot.log_y = true;
  std::vector<double> x, y;
  for (int k = 0; k <= 8; ++k) x.push_back(std::pow(2.0, -k)), y.push_back(std::pow(2.0, -2 * k));
  plot.series.push_back(
      {"", x, y, kSeries, Marker::None, 1});  // no legend: only the curve has kSeries
  const Canvas canvas = plot.render();
  const auto drawn = pixels_of(canvas, kSeries);
  ASSERT_GT(drawn.size(), 100u);
  // Fit the line through the two end points' pixels and check every pixel is within 1 of it.
  int x0 = 1 << 30, x1 = -1, y_at_x0 = 0, y_at_x1 = 0;
  for (const auto& [px, py] : drawn) {
    if (px < x0) x0 = px, y_at_x0 = py;
    if (px > x1) x1 = px, y_at_x1 = py;
  }
  for (const auto& [px, py] : drawn) {
    const double ideal = y_at_x0 + double(y_at_x1 - y_at_x0) * (px - x0) / (x1 - x0);
    EXPECT_LE(std::abs(py - ideal), 1.5) << px;
  }
}

TEST(LinePlot, NonFiniteValuesBreakTheLine) {
  LinePlot plot;
  plot.x_range = {{0, 11}};
  plot.y_range = {{0, 2}};
  Series s{
      "", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {1, 1, 1, 1, NAN, 1, 1, 1, 1, 1}, kSeries, Marker::None,
      2};
  plot.series.push_back(s);
  const Canvas canvas = plot.render();
  const AxesLayout axes = layout_axes(0, 0, plot.width, plot.height, fixed_axis(0, 11, false, "x"),
                                      fixed_axis(0, 2, false, "y"), "", "", "");
  const double gap_from = axes.to_px(4) + 2, gap_to = axes.to_px(6) - 2;
  int in_gap = 0, before = 0;
  for (const auto& [x, y] : pixels_of(canvas, kSeries)) {
    in_gap += x > gap_from && x < gap_to;
    before += x < gap_from;
  }
  EXPECT_EQ(in_gap, 0);
  EXPECT_GT(before, 0);
}

TEST(LinePlot, DefaultColoursComeFromThePaletteAndTheLegendShowsThem) {
  LinePlot plot;
  plot.add("train", {1.0, 0.5, 0.3, 0.2}).add("test", {1.1, 0.7, 0.5, 0.45}, Marker::Circle);
  const Canvas canvas = plot.render();
  EXPECT_GT(pixels_of(canvas, palette_color(0)).size(), 50u);
  EXPECT_GT(pixels_of(canvas, palette_color(1)).size(), 50u);
  // A series without a label stays out of the legend: only its curve has its colour.
  LinePlot unlabeled;
  unlabeled.series.push_back({"", {1, 2}, {1, 2}, kSeries, Marker::None, 1});
  unlabeled.y_range = {{0, 3}};
  unlabeled.x_range = {{0, 3}};
  LinePlot labeled = unlabeled;
  labeled.series[0].label = "curve";
  EXPECT_GT(pixels_of(labeled.render(), kSeries).size(),
            pixels_of(unlabeled.render(), kSeries).size());
}

TEST(LinePlot, BadInputNamesTheSeries) {
  LinePlot plot;
  plot.title = "curves";
  plot.add("accuracy", {1, 2, 3}, {0.1, 0.2});
  expect_error_containing([&] { plot.render(); },
                          "series 'accuracy' has 3 x values and 2 y values");
  LinePlot log_plot;
  log_plot.log_y = true;
  log_plot.y_range = {{0, 1}};
  expect_error_containing([&] { log_plot.render(); }, "logarithmic axis needs lo > 0");
  LinePlot tiny;
  tiny.width = 10;
  expect_error_containing([&] { tiny.render(); }, "at least 100x100");
}

TEST(LinePlot, PngHasTheSizeAndTheSeriesColour) {
  datasets_test::TempDir dir;
  LinePlot plot;
  plot.width = 320;
  plot.height = 240;
  plot.title = "loss";
  plot.series.push_back({"train", {1, 2, 3, 4}, {1.0, 0.6, 0.4, 0.3}, kSeries, Marker::Square, 2});
  const std::string path = dir.file("loss.png");
  plot.save(path);
  const Tensor image = load_image(path, 3);
  ASSERT_EQ(image.shape(), (Shape{3, 240, 320}));
  int found = 0;
  for (int y = 0; y < 240; ++y) {
    for (int x = 0; x < 320; ++x) {
      found += std::lround(image.at({0, y, x}) * 255) == kSeries.r &&
               std::lround(image.at({1, y, x}) * 255) == kSeries.g &&
               std::lround(image.at({2, y, x}) * 255) == kSeries.b;
    }
  }
  EXPECT_GT(found, 100);
  expect_error_containing([&] { plot.save(dir.file("missing/loss.png")); }, "missing/loss.png");
}

// Two classes split at x = 0: each half of the axes is shaded in its class colour, and each point
// is drawn in its class colour.
TEST(ScatterPlot, DecisionRegionsFollowTheClassifier) {
  ScatterPlot plot;
  plot.points = Tensor::from_vector({-1, 0.5, 1, -0.5, -0.5, -0.8, 0.7, 0.9}, {4, 2});
  plot.labels = Tensor::from_int64({0, 1, 0, 1}, {4});
  plot.x_range = {{-2, 2}};
  plot.y_range = {{-2, 2}};
  plot.region_resolution = 40;
  int64_t calls = 0;
  plot.classify = [&calls](const Tensor& grid) {
    ++calls;
    EXPECT_EQ(grid.shape(), (Shape{40 * 40, 2}));
    std::vector<int64_t> classes;
    for (int64_t i = 0; i < grid.size(0); ++i) classes.push_back(grid.at({i, 0}) > 0 ? 1 : 0);
    return Tensor::from_int64(classes, {grid.size(0)});
  };
  const Canvas canvas = plot.render();
  EXPECT_EQ(calls, 1);
  const AxesLayout axes = layout_axes(0, 0, plot.width, plot.height, fixed_axis(-2, 2, false, "x"),
                                      fixed_axis(-2, 2, false, "y"), "", "", "");
  const Color left_shade = mix(colors::kWhite, palette_color(0), 0.22);
  const Color right_shade = mix(colors::kWhite, palette_color(1), 0.22);
  const int mid_y = static_cast<int>(axes.to_py(1.5));
  EXPECT_EQ(canvas.pixel(static_cast<int>(axes.to_px(-1.5)), mid_y), left_shade);
  EXPECT_EQ(canvas.pixel(static_cast<int>(axes.to_px(1.5)), mid_y), right_shade);
  // Points: the centre pixel has the class colour.
  EXPECT_EQ(canvas.pixel(std::lround(axes.to_px(-1)), std::lround(axes.to_py(0.5))),
            palette_color(0));
  EXPECT_EQ(canvas.pixel(std::lround(axes.to_px(1)), std::lround(axes.to_py(-0.5))),
            palette_color(1));
}

TEST(ScatterPlot, ScoresLabelsAndPrecomputedGridsAgree) {
  ScatterPlot base;
  base.points = Tensor::from_vector({0.1, 0.2, -0.3, 0.4}, {2, 2});
  base.labels = Tensor::from_int64({0, 2}, {2});
  base.class_names = {"a", "b", "c"};
  base.x_range = {{-1, 1}};
  base.y_range = {{-1, 1}};
  base.region_resolution = 16;
  // Three classes by the sign pattern of the point: scores [M, 3] (argmax) versus labels [M].
  auto class_of = [](double x, double y) { return x < 0 ? 0 : (y < 0 ? 1 : 2); };
  ScatterPlot by_scores = base, by_labels = base, by_grid = base;
  by_scores.classify = [&](const Tensor& grid) {
    Tensor scores = Tensor::zeros({grid.size(0), 3});
    for (int64_t i = 0; i < grid.size(0); ++i)
      scores.set({i, class_of(grid.at({i, 0}), grid.at({i, 1}))}, 5.0);
    return scores;
  };
  by_labels.classify = [&](const Tensor& grid) {
    std::vector<int64_t> classes;
    for (int64_t i = 0; i < grid.size(0); ++i)
      classes.push_back(class_of(grid.at({i, 0}), grid.at({i, 1})));
    return Tensor::from_int64(classes, {grid.size(0)});
  };
  // The same grid precomputed: row 0 at the top (largest y), cell centres as classify sees them.
  std::vector<int64_t> grid;
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < 16; ++j) grid.push_back(class_of(-1 + (j + 0.5) / 8, 1 - (i + 0.5) / 8));
  }
  by_grid.region_labels = Tensor::from_int64(grid, {16, 16});
  const Canvas a = by_scores.render(), b = by_labels.render(), c = by_grid.render();
  EXPECT_EQ(a.rgb(), b.rgb());
  EXPECT_EQ(a.rgb(), c.rgb());
  EXPECT_NE(a.rgb(), base.render().rgb());  // the regions are really drawn
}

// The legend box has a grey (128) border that nothing else uses: present for a few classes,
// absent when there are too many classes to list.
TEST(ScatterPlot, LegendOnlyForAFewClasses) {
  ScatterPlot plot;
  plot.points = Tensor::from_vector({0, 0, 1, 1, 2, 0}, {3, 2});
  plot.labels = Tensor::from_int64({0, 1, 2}, {3});
  EXPECT_FALSE(pixels_of(plot.render(), colors::kGrey).empty());
  plot.labels = Tensor::from_int64({0, 1, 24}, {3});
  EXPECT_TRUE(pixels_of(plot.render(), colors::kGrey).empty());
}

TEST(ScatterPlot, BadInputIsReported) {
  ScatterPlot plot;
  plot.title = "moons";
  plot.points = Tensor::zeros({5, 3});
  expect_error_containing([&] { plot.render(); },
                          "points must be a float tensor [N, 2], got [5, 3]");
  plot.points = Tensor::zeros({5, 2});
  plot.labels = Tensor::from_int64({0, 1}, {2});
  expect_error_containing([&] { plot.render(); }, "labels must be [5]");
  plot.labels = Tensor::from_int64({0, 1, -1, 0, 0}, {5});
  expect_error_containing([&] { plot.render(); }, "must be >= 0, got -1");
  plot.labels = Tensor();
  plot.classify = [](const Tensor& grid) { return Tensor::zeros({grid.size(0) + 1}); };
  expect_error_containing([&] { plot.render(); }, "classify returned shape");
  plot.classify = nullptr;
  plot.region_labels = Tensor::from_int64({0, 1, 1, 0}, {2, 2});
  expect_error_containing([&] { plot.render(); }, "needs x_range and y_range");
}

TEST(CaptionedImageGrid, ImagesAndCaptionsLandInTheirCells) {
  // Three 2x3 grey images with values 0, 0.5, 1 (and one pixel of image 0 set to 0.2).
  std::vector<double> values;
  for (double v : {0.0, 0.5, 1.0}) values.insert(values.end(), 6, v);
  values[4] = 0.2;
  CaptionedImageGrid grid;
  grid.images = Tensor::from_vector(values, {3, 1, 2, 3});
  grid.captions = {"a", "long caption", "c"};
  grid.caption_colors = {colors::kBlack, kSeries, colors::kBlack};
  grid.columns = 2;
  grid.scale = 4;
  const Canvas canvas = grid.render();
  // Cells are as wide as the longest caption; 2 columns, 2 rows.
  const int cell_w = text_width("long caption"), gap = 8;
  EXPECT_EQ(canvas.width(), 2 * (cell_w + gap) + gap);
  const int cell_h = 2 * 4 + 4 + text_height("a");
  EXPECT_EQ(canvas.height(), gap + 2 * (cell_h + gap));
  // Image 0's pixel (row 1, column 1) is 0.2 grey, scaled to a 4x4 block.
  const int image_x = gap + (cell_w - 3 * 4) / 2, image_y = gap;
  const uint8_t grey = static_cast<uint8_t>(std::lround(0.2 * 255));
  for (int dy = 0; dy < 4; ++dy) {
    for (int dx = 0; dx < 4; ++dx) {
      EXPECT_EQ(canvas.pixel(image_x + 4 + dx, image_y + 4 + dy), (Color{grey, grey, grey}));
    }
  }
  EXPECT_EQ(canvas.pixel(image_x, image_y), colors::kBlack);  // value 0
  // Image 1 (second column) is mid-grey.
  const int image1_x = gap + (cell_w + gap) + (cell_w - 3 * 4) / 2;
  EXPECT_EQ(canvas.pixel(image1_x + 5, image_y + 5), (Color{128, 128, 128}));
  // Its caption, in its own colour, sits under it.
  const auto caption_pixels = pixels_of(canvas, kSeries);
  ASSERT_FALSE(caption_pixels.empty());
  for (const auto& [x, y] : caption_pixels) {
    EXPECT_GE(y, image_y + 8 + 4);
    EXPECT_GE(x, gap + cell_w + gap);
  }
}

TEST(CaptionedImageGrid, RgbImagesKeepTheirColours) {
  CaptionedImageGrid grid;
  grid.images = Tensor::from_vector({1, 0.5, 0.25}, {1, 3, 1, 1});  // one RGB pixel
  grid.scale = 2;
  grid.title = "rgb";
  const Canvas canvas = grid.render();
  const auto drawn = pixels_of(canvas, {255, 128, 64});
  EXPECT_EQ(drawn.size(), 4u);
}

TEST(CaptionedImageGrid, BadInputIsReported) {
  CaptionedImageGrid grid;
  grid.title = "mistakes";
  grid.images = Tensor::zeros({2, 2, 4, 4});
  expect_error_containing([&] { grid.render(); }, "C = 1 or 3, got [2, 2, 4, 4]");
  grid.images = Tensor::zeros({2, 1, 4, 4});
  grid.captions = {"one"};
  expect_error_containing([&] { grid.render(); }, "1 captions for 2 images");
  grid.captions = {};
  grid.images.set({1, 0, 2, 3}, NAN);
  expect_error_containing([&] { grid.render(); },
                          "image 1 has the non-finite value nan at row 2, column 3");
  grid.images = Tensor::zeros({1000, 1, 28, 28});
  grid.columns = 1000;
  expect_error_containing([&] { grid.render(); }, "use fewer images");
}

}  // namespace
}  // namespace stablenn
