// plot/plot_axes.h — axes shared by the line and scatter plots: scales, frame, ticks, labels,
// title and legend (chapter 3).
#pragma once
#include <string>
#include <vector>

#include "plot/canvas.h"

namespace stablenn {

// Chapter 3: the data interval one axis shows, linear or logarithmic (base 10).
struct AxisScale {
  double lo = 0, hi = 1;
  bool log = false;

  // Where v falls: 0 at lo, 1 at hi. NaN for non-finite v, and for v <= 0 on a log axis.
  double fraction(double v) const;
  // Nice tick values inside [lo, hi] and their labels.
  std::vector<double> ticks() const;
  std::string tick_label(double tick) const;
};

// Chapter 3: an axis that shows all usable `values` (finite, and > 0 on a log axis) with `margin`
// (a fraction of the interval; of the decades on a log axis) to spare on each side. With no usable
// value the axis is [0, 1] ([1, 10] when log); a single value gets an interval around it.
AxisScale fit_axis(const std::vector<double>& values, bool log, double margin = 0.04);

// Chapter 3: an explicit axis interval; throws naming `what` when lo >= hi, not finite, or <= 0 on
// a log axis.
AxisScale fixed_axis(double lo, double hi, bool log, const std::string& what);

// Chapter 3: the axes box inside a region of the canvas, after room was left for the title, tick
// labels and axis labels.
struct AxesLayout {
  int left = 0, top = 0, width = 1, height = 1;  // the plotting area, in canvas pixels
  // The whole region the axes were laid out in: titles and labels stay inside it (a width of 0, for
  // a layout made by hand, means the whole canvas).
  int region_x = 0, region_y = 0, region_w = 0, region_h = 0;
  AxisScale x, y;
  // Canvas coordinates of a data point (NaN when the value cannot be shown, e.g. <= 0 on a log
  // axis).
  double to_px(double data_x) const;
  double to_py(double data_y) const;
};

// Chapter 3: a plot title fitted to a region `region_w` pixels wide: wrapped, and drawn smaller when
// it would need more than two lines at the title size (never cut off).
FittedText fit_title(const std::string& title, int region_w);

// Chapter 3: lays out axes in the region (region_x, region_y, region_w, region_h).
AxesLayout layout_axes(int region_x, int region_y, int region_w, int region_h, const AxisScale& x,
                       const AxisScale& y, const std::string& title, const std::string& x_label,
                       const std::string& y_label);

// Chapter 3: light grid lines at the ticks (drawn before the data).
void draw_grid(Canvas& canvas, const AxesLayout& axes);

// Chapter 3: the frame, tick marks, tick labels, axis labels and title (drawn after the data).
void draw_axes_frame(Canvas& canvas, const AxesLayout& axes, const std::string& title,
                     const std::string& x_label, const std::string& y_label);

// Chapter 3: one row of a legend: a short line (when `line`) and/or a marker, then the label.
struct LegendEntry {
  std::string label;
  Color color;
  Marker marker = Marker::None;
  bool line = true;
};

// Chapter 3: a legend box in the corner of the axes that covers the fewest of `data_points`
// (canvas coordinates of the plotted points), so it hides as little of the data as possible. The box
// stays inside the plotting area when it fits there (inside the region otherwise).
void draw_legend(Canvas& canvas, const AxesLayout& axes, const std::vector<LegendEntry>& entries,
                 const std::vector<std::pair<double, double>>& data_points);

}  // namespace stablenn
