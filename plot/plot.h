// plot/plot.h — line plots as PNG: training curves, robustness curves, log-log convergence plots
// (chapter 3).
//
//   LinePlot plot;
//   plot.title = "Fashion-MNIST MLP";
//   plot.x_label = "epoch";
//   plot.add("train loss", train_losses).add("test loss", test_losses, Marker::Circle);
//   plot.save(ctx.out_path("loss.png"));
//
// Scatter plots with decision regions are in scatter_plot.h, captioned image grids in
// image_grid_plot.h.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plot/canvas.h"

namespace stablenn {

// Chapter 3: one curve of a line plot.
struct Series {
  std::string label;           // shown in the legend; an empty label keeps the series out of it
  std::vector<double> x, y;    // the same length; a non-finite point (or one <= 0 on a log axis)
                               // is skipped and breaks the line, so a NaN loss shows as a gap
  std::optional<Color> color;  // default: palette_color(position of the series in the plot)
  Marker marker = Marker::None;
  int line_width = 2;  // 0 draws markers only
};

// Chapter 3: a line plot with axes, nice ticks, labels, a title and a legend.
struct LinePlot {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;  // base-10 logarithmic axes (chapter 4's convergence plots)
  // Explicit axis intervals (lo, hi); unset axes fit the data with a small margin.
  std::optional<std::pair<double, double>> x_range, y_range;
  int width = 640, height = 440;  // pixels, for render() and save()
  std::vector<Series> series;

  // Appends a series with x = 1, 2, ..., y.size() (epochs count from 1).
  LinePlot& add(const std::string& label, const std::vector<double>& y,
                Marker marker = Marker::None);
  // Appends a series with explicit x values.
  LinePlot& add(const std::string& label, const std::vector<double>& x,
                const std::vector<double>& y, Marker marker = Marker::None);

  // Draws the plot into the region (x, y, w, h) of `canvas`, e.g. two plots side by side. Throws
  // naming the series when its x and y lengths differ.
  void draw(Canvas& canvas, int x, int y, int w, int h) const;
  // A width x height canvas with the plot on it.
  Canvas render() const;
  // Writes render() as a PNG, atomically; errors name the file.
  void save(const std::string& path) const;
};

}  // namespace stablenn
