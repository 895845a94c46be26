// plot/scatter_plot.h — 2-D scatter plots coloured by class over shaded decision regions
// (chapter 3; used again for the toy classification sets of chapters 5 and 11).
//
//   ScatterPlot plot;
//   plot.title = "two moons";
//   plot.points = x;   // [N, 2]
//   plot.labels = y;   // [N] Int64
//   plot.classify = [&](const Tensor& grid) { return model.forward(grid); };  // [M, 2] -> [M, K]
//   plot.save(ctx.out_path("moons.png"));
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "plot/canvas.h"

namespace stablenn {

// Chapter 3: a scatter plot of 2-D points, one colour and marker shape per class.
struct ScatterPlot {
  std::string title, x_label, y_label;
  Tensor points;  // [N, 2], float32 or float64
  Tensor labels;  // [N] class indices >= 0 (Int64, or floats holding integers); undefined: all 0
  std::vector<std::string> class_names;  // legend text per class; empty: "class 0", "class 1", ...
                                         // (no legend with more than 20 classes)

  // Decision regions (optional), shaded in the class colours, from one of:
  //  - classify: called once with the centres of a region_resolution x region_resolution grid
  //    over the axes, [M, 2] float32, returning Int64 labels [M], scores [M, K] (K >= 2, argmax
  //    wins) or one logit per point [M] or [M, 1] (class 1 when > 0);
  //  - region_labels: a precomputed Int64 grid [GH, GW] spanning x_range and y_range exactly (both
  //    must be set), row 0 at the top (largest y), column 0 at the left (smallest x).
  std::function<Tensor(const Tensor&)> classify;
  Tensor region_labels;
  int region_resolution = 200;

  // Explicit axis intervals (lo, hi); unset axes fit the points with a 5 % margin.
  std::optional<std::pair<double, double>> x_range, y_range;
  int width = 520, height = 480;
  int marker_size = 7;

  // Draws into the region (x, y, w, h) of `canvas`. Throws naming the plot and the argument on
  // bad shapes, negative labels or a classifier answer of the wrong shape.
  void draw(Canvas& canvas, int x, int y, int w, int h) const;
  Canvas render() const;
  // Writes render() as a PNG, atomically; errors name the file.
  void save(const std::string& path) const;
};

}  // namespace stablenn
