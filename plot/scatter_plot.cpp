// plot/scatter_plot.cpp — scatter plots with decision regions (chapter 3).
#include "plot/scatter_plot.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "plot/plot_axes.h"

namespace stablenn {

namespace {

constexpr double kRegionAlpha = 0.22;    // light shading inside a region
constexpr double kBoundaryAlpha = 0.65;  // the decision boundary stands out

const Marker kClassMarkers[4] = {Marker::Circle, Marker::Square, Marker::Triangle, Marker::Diamond};

// Class indices from an Int64 tensor or a float tensor holding integers.
std::vector<int64_t> class_indices(const Tensor& t, const std::string& what) {
  std::vector<int64_t> out;
  if (t.dtype() == DType::Int64) {
    out = t.contiguous().to_int64();
  } else {
    for (double v : t.to_vector()) {
      SNN_CHECK(std::isfinite(v) && v == std::floor(v), what,
                ": class labels must be integers, got ", v);
      out.push_back(static_cast<int64_t>(v));
    }
  }
  for (int64_t label : out) SNN_CHECK(label >= 0, what, ": class labels must be >= 0, got ", label);
  return out;
}

// The classifier's answer for m grid points as one class per point (see ScatterPlot::classify).
std::vector<int64_t> answer_to_classes(const Tensor& answer, int64_t m, const std::string& what) {
  SNN_CHECK(answer.defined(), what, ": classify returned an undefined tensor");
  const Shape& s = answer.shape();
  if (answer.dtype() == DType::Int64) {
    SNN_CHECK(s == Shape{m}, what, ": classify returned Int64 labels of shape ", shape_str(s),
              ", expected [", m, "]");
    return class_indices(answer, what);
  }
  const bool one_logit = s == Shape{m} || s == Shape{m, 1};
  SNN_CHECK(one_logit || (s.size() == 2 && s[0] == m && s[1] >= 2), what,
            ": classify returned shape ", shape_str(s), "; expected labels [", m, "], scores [", m,
            ", K] or logits [", m, "]");
  const std::vector<double> values = answer.to_vector();
  std::vector<int64_t> classes(static_cast<size_t>(m));
  if (one_logit) {
    for (int64_t i = 0; i < m; ++i) classes[i] = values[i] > 0 ? 1 : 0;
    return classes;
  }
  const int64_t k = s[1];
  for (int64_t i = 0; i < m; ++i) {
    const double* row = values.data() + i * k;
    classes[i] = std::max_element(row, row + k) - row;
  }
  return classes;
}

}  // namespace

void ScatterPlot::draw(Canvas& canvas, int x, int y, int w, int h) const {
  const std::string what = "ScatterPlot '" + title + "'";
  SNN_CHECK(
      points.defined() && points.dim() == 2 && points.size(1) == 2 && is_floating(points.dtype()),
      what, ": points must be a float tensor [N, 2], got ",
      points.defined() ? shape_str(points.shape()) + " " + dtype_name(points.dtype())
                       : "undefined");
  const int64_t n = points.size(0);
  std::vector<int64_t> point_classes(static_cast<size_t>(n), 0);
  if (labels.defined()) {
    SNN_CHECK(labels.shape() == Shape{n}, what, ": labels must be [", n, "] like the points, got ",
              shape_str(labels.shape()));
    point_classes = class_indices(labels, what + " labels");
  }
  const std::vector<double> xy = points.to_vector();
  std::vector<double> xs(static_cast<size_t>(n)), ys(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) xs[i] = xy[2 * i], ys[i] = xy[2 * i + 1];

  const bool have_region_grid = region_labels.defined();
  SNN_CHECK(!have_region_grid || (x_range && y_range), what,
            ": region_labels needs x_range and y_range, the area the grid spans");
  SNN_CHECK(!(have_region_grid && classify), what,
            ": give either classify or region_labels, not both");
  const AxisScale x_axis =
      x_range ? fixed_axis(x_range->first, x_range->second, false, what + " x_range")
              : fit_axis(xs, false, 0.05);
  const AxisScale y_axis =
      y_range ? fixed_axis(y_range->first, y_range->second, false, what + " y_range")
              : fit_axis(ys, false, 0.05);
  const AxesLayout axes = layout_axes(x, y, w, h, x_axis, y_axis, title, x_label, y_label);

  // Decision regions: a grid of classes [grid_h, grid_w], row 0 at the top.
  int64_t grid_h = 0, grid_w = 0;
  std::vector<int64_t> grid;
  if (have_region_grid) {
    SNN_CHECK(region_labels.dim() == 2 && region_labels.size(0) > 0 && region_labels.size(1) > 0,
              what, ": region_labels must be a non-empty grid [GH, GW], got ",
              shape_str(region_labels.shape()));
    grid_h = region_labels.size(0), grid_w = region_labels.size(1);
    grid = class_indices(region_labels, what + " region_labels");
  } else if (classify) {
    SNN_CHECK(region_resolution >= 2 && region_resolution <= 2000, what,
              ": region_resolution must be in [2, 2000], got ", region_resolution);
    grid_h = grid_w = region_resolution;
    // centres: [grid_h * grid_w, 2], row-major from the top-left cell
    std::vector<float> centres(static_cast<size_t>(grid_h * grid_w * 2));
    for (int64_t i = 0; i < grid_h; ++i) {
      for (int64_t j = 0; j < grid_w; ++j) {
        const double fx = (j + 0.5) / grid_w, fy = 1 - (i + 0.5) / grid_h;
        centres[2 * (i * grid_w + j)] =
            static_cast<float>(x_axis.lo + fx * (x_axis.hi - x_axis.lo));
        centres[2 * (i * grid_w + j) + 1] =
            static_cast<float>(y_axis.lo + fy * (y_axis.hi - y_axis.lo));
      }
    }
    const Tensor answer = classify(Tensor::from_floats(centres, {grid_h * grid_w, 2}));
    grid = answer_to_classes(answer, grid_h * grid_w, what);
  }
  if (!grid.empty()) {
    // The grid cell under each pixel of the plotting area; a pixel whose right or lower neighbour
    // falls in another class lies on the decision boundary.
    auto cell_class = [&](int px, int py) {
      const int64_t j = std::min<int64_t>(grid_w - 1, int64_t(px) * grid_w / axes.width);
      const int64_t i = std::min<int64_t>(grid_h - 1, int64_t(py) * grid_h / axes.height);
      return grid[i * grid_w + j];
    };
    for (int py = 0; py < axes.height; ++py) {
      for (int px = 0; px < axes.width; ++px) {
        const int64_t c = cell_class(px, py);
        const bool boundary = (px + 1 < axes.width && cell_class(px + 1, py) != c) ||
                              (py + 1 < axes.height && cell_class(px, py + 1) != c);
        canvas.blend_pixel(axes.left + px, axes.top + py, palette_color(c),
                           boundary ? kBoundaryAlpha : kRegionAlpha);
      }
    }
  } else {
    draw_grid(canvas, axes);
  }

  canvas.set_clip(axes.left, axes.top, axes.width, axes.height);
  std::vector<std::pair<double, double>> drawn;
  int64_t class_count = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = point_classes[i];
    class_count = std::max(class_count, c + 1);
    const double px = axes.to_px(xs[i]), py = axes.to_py(ys[i]);
    // A dark outline keeps points visible on top of a region of their own colour.
    const Marker marker = kClassMarkers[c % 4];
    canvas.draw_marker(marker, px, py, marker_size + 2, colors::kDarkGrey);
    canvas.draw_marker(marker, px, py, marker_size, palette_color(c));
    drawn.emplace_back(px, py);
  }
  canvas.reset_clip();
  draw_axes_frame(canvas, axes, title, x_label, y_label);

  std::vector<LegendEntry> legend;
  const int64_t named = std::max<int64_t>(class_count, static_cast<int64_t>(class_names.size()));
  // A legend with more than 20 rows would hide the plot (and the palette repeats after 10 anyway).
  if ((named > 1 || !class_names.empty()) && named <= 20) {
    for (int64_t c = 0; c < named; ++c) {
      const std::string name = c < static_cast<int64_t>(class_names.size())
                                   ? class_names[c]
                                   : "class " + std::to_string(c);
      legend.push_back({name, palette_color(c), kClassMarkers[c % 4], false});
    }
  }
  draw_legend(canvas, axes, legend, drawn);
}

Canvas ScatterPlot::render() const {
  SNN_CHECK(width >= 100 && height >= 100, "ScatterPlot '", title,
            "': size must be at least 100x100, got ", width, "x", height);
  Canvas canvas(width, height);
  draw(canvas, 0, 0, width, height);
  return canvas;
}

void ScatterPlot::save(const std::string& path) const { render().save_png(path); }

}  // namespace stablenn
