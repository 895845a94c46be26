// plot/plot_axes.cpp — axis scales, layout, frame, ticks and legend (chapter 3).
#include "plot/plot_axes.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "plot/font.h"
#include "plot/ticks.h"

namespace stablenn {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kTickLength = 4;
constexpr int kTitleScale = 2;
const Color kFrameColor = colors::kDarkGrey;
const Color kGridColor = {232, 232, 232};

// The layout with its region set: a layout made by hand (region_w = 0) gets the whole canvas.
AxesLayout with_region(AxesLayout axes, const Canvas& canvas) {
  if (axes.region_w <= 0 || axes.region_h <= 0)
    axes.region_x = 0, axes.region_y = 0, axes.region_w = canvas.width(), axes.region_h = canvas.height();
  return axes;
}

}  // namespace

double AxisScale::fraction(double v) const {
  if (!std::isfinite(v)) return kNaN;
  if (!log) return (v - lo) / (hi - lo);
  if (v <= 0) return kNaN;
  return (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
}

std::vector<double> AxisScale::ticks() const {
  return log ? log_ticks(lo, hi) : nice_ticks(lo, hi);
}

std::string AxisScale::tick_label(double tick) const {
  return log ? format_log_tick(tick) : format_tick(tick, nice_tick_step(lo, hi));
}

AxisScale fit_axis(const std::vector<double>& values, bool log, double margin) {
  double a = std::numeric_limits<double>::infinity(), b = -a;
  for (double v : values) {
    if (!std::isfinite(v) || (log && v <= 0)) continue;
    const double u = log ? std::log10(v) : v;  // log axes are fitted in decades
    a = std::min(a, u), b = std::max(b, u);
  }
  AxisScale axis;
  axis.log = log;
  if (!(a <= b)) {  // nothing to show
    axis.lo = log ? 1 : 0, axis.hi = log ? 10 : 1;
    return axis;
  }
  if (a == b) {  // one value: an interval around it
    const double half = log ? 0.5 : (a == 0 ? 1.0 : 0.1 * std::abs(a));
    a -= half, b += half;
  } else {
    const double pad = margin * (b - a);
    a -= pad, b += pad;
  }
  axis.lo = log ? std::pow(10.0, a) : a;
  axis.hi = log ? std::pow(10.0, b) : b;
  return axis;
}

AxisScale fixed_axis(double lo, double hi, bool log, const std::string& what) {
  SNN_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo < hi, what,
            ": the range must be finite with lo < hi, got [", lo, ", ", hi, "]");
  SNN_CHECK(!log || lo > 0, what, ": a logarithmic axis needs lo > 0, got [", lo, ", ", hi, "]");
  AxisScale axis;
  axis.lo = lo, axis.hi = hi, axis.log = log;
  return axis;
}

double AxesLayout::to_px(double data_x) const { return left + x.fraction(data_x) * (width - 1); }

double AxesLayout::to_py(double data_y) const {
  return top + (1 - y.fraction(data_y)) * (height - 1);
}

FittedText fit_title(const std::string& title, int region_w) {
  return fit_text(title, std::max(region_w - 16, kGlyphWidth), kTitleScale);
}

AxesLayout layout_axes(int region_x, int region_y, int region_w, int region_h, const AxisScale& x,
                       const AxisScale& y, const std::string& title, const std::string& x_label,
                       const std::string& y_label) {
  int widest_y_label = 0;
  for (double tick : y.ticks())
    widest_y_label = std::max(widest_y_label, text_width(y.tick_label(tick)));
  int widest_x_label = 0;
  for (double tick : x.ticks())
    widest_x_label = std::max(widest_x_label, text_width(x.tick_label(tick)));
  // Axis labels longer than the region wrap, like titles (draw_axes_frame wraps them the same way).
  const std::string x_text = wrap_text(x_label, region_w - 4), y_text = wrap_text(y_label, region_h - 4);
  const int y_label_room = y_label.empty() ? 0 : text_height(y_text) + 8;
  const int x_label_room = x_label.empty() ? 0 : text_height(x_text) + 8;
  const FittedText fitted = fit_title(title, region_w);
  const int title_room = title.empty() ? 0 : text_height(fitted.text, fitted.scale) + 10;

  AxesLayout axes;
  axes.x = x, axes.y = y;
  axes.region_x = region_x, axes.region_y = region_y, axes.region_w = region_w, axes.region_h = region_h;
  axes.left = region_x + 8 + y_label_room + widest_y_label + kTickLength + 3;
  axes.top = region_y + 10 + title_room;
  const int right = region_x + region_w - 12 - widest_x_label / 2;
  const int bottom = region_y + region_h - 8 - x_label_room - kLineHeight - kTickLength - 2;
  axes.width = std::max(right - axes.left, 16);
  axes.height = std::max(bottom - axes.top, 16);
  return axes;
}

void draw_grid(Canvas& canvas, const AxesLayout& axes) {
  const int right = axes.left + axes.width - 1, bottom = axes.top + axes.height - 1;
  for (double tick : axes.x.ticks()) {
    const double px = std::round(axes.to_px(tick));
    canvas.draw_line(px, axes.top, px, bottom, kGridColor);
  }
  for (double tick : axes.y.ticks()) {
    const double py = std::round(axes.to_py(tick));
    canvas.draw_line(axes.left, py, right, py, kGridColor);
  }
}

void draw_axes_frame(Canvas& canvas, const AxesLayout& laid_out, const std::string& title,
                     const std::string& x_label_text, const std::string& y_label_text) {
  const AxesLayout axes = with_region(laid_out, canvas);
  const std::string x_label = wrap_text(x_label_text, axes.region_w - 4);
  const std::string y_label = wrap_text(y_label_text, axes.region_h - 4);
  const int bottom = axes.top + axes.height - 1;
  // The frame sits one pixel outside the plotting area, so data on the edge stays visible.
  canvas.draw_rect(axes.left - 1, axes.top - 1, axes.width + 2, axes.height + 2, kFrameColor);
  int lowest_label_bottom = bottom + 2;
  for (double tick : axes.x.ticks()) {
    const int px = static_cast<int>(std::lround(axes.to_px(tick)));
    canvas.draw_line(px, bottom + 2, px, bottom + 1 + kTickLength, kFrameColor);
    const std::string label = axes.x.tick_label(tick);
    const int label_top = bottom + kTickLength + 4;
    canvas.draw_text(px - text_width(label) / 2, label_top, label, colors::kBlack);
    lowest_label_bottom = std::max(lowest_label_bottom, label_top + text_height(label));
  }
  int leftmost_label = axes.left;
  for (double tick : axes.y.ticks()) {
    const int py = static_cast<int>(std::lround(axes.to_py(tick)));
    canvas.draw_line(axes.left - 1 - kTickLength, py, axes.left - 2, py, kFrameColor);
    const std::string label = axes.y.tick_label(tick);
    const int label_left = axes.left - kTickLength - 4 - text_width(label);
    canvas.draw_text(label_left, py - kGlyphHeight / 2, label, colors::kBlack);
    leftmost_label = std::min(leftmost_label, label_left);
  }
  // Labels are centred on the axes, then moved (not cut) to stay inside the region.
  auto inside = [](int start, int length, int lo, int extent) {
    return std::max(lo, std::min(start, lo + extent - length));
  };
  if (!x_label.empty()) {
    const int width = text_width(x_label);
    canvas.draw_text(inside(axes.left + (axes.width - width) / 2, width, axes.region_x + 2,
                            axes.region_w - 4),
                     lowest_label_bottom + 6, x_label, colors::kBlack);
  }
  if (!y_label.empty()) {
    const int box_width = text_height(y_label), box_height = text_width(y_label);
    canvas.draw_text_up(std::max(leftmost_label - 8 - box_width, axes.region_x),
                        inside(axes.top + (axes.height - box_height) / 2, box_height,
                               axes.region_y + 2, axes.region_h - 4),
                        y_label, colors::kBlack);
  }
  if (!title.empty()) {
    const FittedText fitted = fit_title(title, axes.region_w);
    const int top = axes.top - 10 - text_height(fitted.text, fitted.scale);
    std::istringstream lines(fitted.text);
    int line_number = 0;
    for (std::string line; std::getline(lines, line); ++line_number) {
      const int width = text_width(line, fitted.scale);
      canvas.draw_text(inside(axes.left + (axes.width - width) / 2, width, axes.region_x + 8,
                              axes.region_w - 16),
                       top + line_number * kLineHeight * fitted.scale, line, colors::kBlack,
                       fitted.scale);
    }
  }
}

void draw_legend(Canvas& canvas, const AxesLayout& laid_out, const std::vector<LegendEntry>& entries,
                 const std::vector<std::pair<double, double>>& data_points) {
  if (entries.empty()) return;
  const AxesLayout axes = with_region(laid_out, canvas);
  constexpr int kRow = 13, kSample = 22, kInset = 8;
  int widest = 0;
  for (const LegendEntry& entry : entries) widest = std::max(widest, text_width(entry.label));
  const int box_w = 6 + kSample + 6 + widest + 8;
  const int box_h = 5 + kRow * static_cast<int>(entries.size()) + 2;
  // Candidate corners in order of preference: upper right, upper left, lower right, lower left.
  const int xs[2] = {axes.left + axes.width - kInset - box_w, axes.left + kInset};
  const int ys[2] = {axes.top + kInset, axes.top + axes.height - kInset - box_h};
  int best_x = xs[0], best_y = ys[0];
  size_t best_count = data_points.size() + 1;
  for (int row = 0; row < 2; ++row) {
    for (int column = 0; column < 2; ++column) {
      size_t count = 0;
      for (const auto& [px, py] : data_points) {
        if (px >= xs[column] - 3 && px <= xs[column] + box_w + 3 && py >= ys[row] - 3 &&
            py <= ys[row] + box_h + 3) {
          ++count;
        }
      }
      if (count < best_count) best_count = count, best_x = xs[column], best_y = ys[row];
    }
  }
  // A legend wider or taller than the plotting area: keep it on the region, from its left/top.
  best_x = std::max(axes.region_x + 2, std::min(best_x, axes.region_x + axes.region_w - 2 - box_w));
  best_y = std::max(axes.region_y + 2, std::min(best_y, axes.region_y + axes.region_h - 2 - box_h));
  canvas.fill_rect(best_x, best_y, box_w, box_h, colors::kWhite);
  canvas.draw_rect(best_x, best_y, box_w, box_h, colors::kGrey);
  for (size_t i = 0; i < entries.size(); ++i) {
    const LegendEntry& entry = entries[i];
    const int centre_y = best_y + 5 + static_cast<int>(i) * kRow + kGlyphHeight / 2;
    const int sample_x = best_x + 6;
    if (entry.line)
      canvas.draw_line(sample_x, centre_y, sample_x + kSample - 1, centre_y, entry.color, 2);
    canvas.draw_marker(entry.marker, sample_x + kSample / 2, centre_y, 7, entry.color);
    canvas.draw_text(sample_x + kSample + 6, centre_y - kGlyphHeight / 2, entry.label,
                     colors::kBlack);
  }
}

}  // namespace stablenn
