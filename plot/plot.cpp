// plot/plot.cpp — line plots (chapter 3).
#include "plot/plot.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "plot/plot_axes.h"

namespace stablenn {

LinePlot& LinePlot::add(const std::string& label, const std::vector<double>& y, Marker marker) {
  std::vector<double> x(y.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i + 1);
  return add(label, x, y, marker);
}

LinePlot& LinePlot::add(const std::string& label, const std::vector<double>& x,
                        const std::vector<double>& y, Marker marker) {
  Series s;
  s.label = label;
  s.x = x;
  s.y = y;
  s.marker = marker;
  series.push_back(std::move(s));
  return *this;
}

void LinePlot::draw(Canvas& canvas, int x, int y, int w, int h) const {
  const std::string what = "LinePlot '" + title + "'";
  std::vector<double> all_x, all_y;
  for (const Series& s : series) {
    SNN_CHECK(s.x.size() == s.y.size(), what, ": series '", s.label, "' has ", s.x.size(),
              " x values and ", s.y.size(), " y values; they must be the same length");
    SNN_CHECK(s.line_width >= 0, what, ": series '", s.label, "' has line width ", s.line_width);
    // Only points usable on both axes decide the ranges.
    for (size_t i = 0; i < s.x.size(); ++i) {
      const bool usable_x = std::isfinite(s.x[i]) && (!log_x || s.x[i] > 0);
      const bool usable_y = std::isfinite(s.y[i]) && (!log_y || s.y[i] > 0);
      if (usable_x && usable_y) all_x.push_back(s.x[i]), all_y.push_back(s.y[i]);
    }
  }
  const AxisScale x_axis =
      x_range ? fixed_axis(x_range->first, x_range->second, log_x, what + " x_range")
              : fit_axis(all_x, log_x);
  const AxisScale y_axis =
      y_range ? fixed_axis(y_range->first, y_range->second, log_y, what + " y_range")
              : fit_axis(all_y, log_y);
  const AxesLayout axes = layout_axes(x, y, w, h, x_axis, y_axis, title, x_label, y_label);
  draw_grid(canvas, axes);

  canvas.set_clip(axes.left, axes.top, axes.width, axes.height);
  std::vector<LegendEntry> legend;
  std::vector<std::pair<double, double>> drawn;  // pixel positions, to keep the legend off the data
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const Color color = s.color ? *s.color : palette_color(static_cast<int64_t>(k));
    bool have_previous = false;
    double previous_px = 0, previous_py = 0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double px = axes.to_px(s.x[i]), py = axes.to_py(s.y[i]);
      if (!std::isfinite(px) || !std::isfinite(py)) {  // a gap in the curve
        have_previous = false;
        continue;
      }
      if (have_previous && s.line_width > 0) {
        canvas.draw_line(previous_px, previous_py, px, py, color, s.line_width);
        // Points along the segment count for the legend placement, not only its ends.
        const double length = std::hypot(px - previous_px, py - previous_py);
        const int samples = std::min(200, static_cast<int>(length / 6));
        for (int j = 1; j < samples; ++j) {
          const double t = double(j) / samples;
          drawn.emplace_back(previous_px + t * (px - previous_px),
                             previous_py + t * (py - previous_py));
        }
      }
      drawn.emplace_back(px, py);
      have_previous = true, previous_px = px, previous_py = py;
    }
    for (size_t i = 0; i < s.x.size(); ++i) {
      canvas.draw_marker(s.marker, axes.to_px(s.x[i]), axes.to_py(s.y[i]), 7, color);
    }
    if (!s.label.empty()) legend.push_back({s.label, color, s.marker, s.line_width > 0});
  }
  canvas.reset_clip();
  draw_axes_frame(canvas, axes, title, x_label, y_label);
  draw_legend(canvas, axes, legend, drawn);
}

Canvas LinePlot::render() const {
  SNN_CHECK(width >= 100 && height >= 100, "LinePlot '", title,
            "': size must be at least 100x100, got ", width, "x", height);
  Canvas canvas(width, height);
  draw(canvas, 0, 0, width, height);
  return canvas;
}

void LinePlot::save(const std::string& path) const { render().save_png(path); }

}  // namespace stablenn
