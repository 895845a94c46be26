// plot/ticks.cpp — nice tick values and labels (chapter 3).
#include "plot/ticks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace stablenn {

double nice_number(double x, bool round) {
  SNN_CHECK(std::isfinite(x) && x > 0, "nice_number: needs a finite positive number, got ", x);
  const double exponent = std::floor(std::log10(x));
  const double power = std::pow(10.0, exponent);
  const double fraction = x / power;  // in [1, 10)
  double nice;
  if (round) {
    nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  } else {
    nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  }
  return nice * power;
}

double nice_tick_step(double lo, double hi, int target_count) {
  SNN_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo < hi,
            "nice_tick_step: needs finite lo < hi, got [", lo, ", ", hi, "]");
  SNN_CHECK(target_count >= 2, "nice_tick_step: target_count must be >= 2, got ", target_count);
  // Heckbert first rounds the range up to a nice number, which suits axes that are widened to
  // the ticks; our axes fit the data, so rounding the raw spacing keeps about target_count ticks.
  return nice_number((hi - lo) / (target_count - 1), true);
}

std::vector<double> nice_ticks(double lo, double hi, int target_count) {
  const double step = nice_tick_step(lo, hi, target_count);
  // A small tolerance so that an end point that is a multiple of the step up to rounding counts.
  const double first = std::ceil(lo / step - 1e-9), last = std::floor(hi / step + 1e-9);
  std::vector<double> ticks;
  for (double k = first; k <= last; k += 1) {
    const double value = k * step;
    ticks.push_back(std::abs(value) < 1e-9 * step ? 0.0 : value);
  }
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi) {
  SNN_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo > 0 && lo < hi,
            "log_ticks: needs finite 0 < lo < hi, got [", lo, ", ", hi, "]");
  const double tolerance = 1e-9;
  const int first = static_cast<int>(std::ceil(std::log10(lo) - tolerance));
  const int last = static_cast<int>(std::floor(std::log10(hi) + tolerance));
  std::vector<double> ticks;
  if (last - first + 1 >= 2) {
    const int stride = (last - first) / 10 + 1;  // at most about 10 labelled decades
    for (int e = first; e <= last; e += stride) ticks.push_back(std::pow(10.0, e));
    return ticks;
  }
  // Less than two decades: 1, 2 and 5 times the powers of ten that overlap the range.
  for (int e = first - 1; e <= last; ++e) {
    for (double mantissa : {1.0, 2.0, 5.0}) {
      const double value = mantissa * std::pow(10.0, e);
      if (value >= lo * (1 - tolerance) && value <= hi * (1 + tolerance)) ticks.push_back(value);
    }
  }
  if (ticks.size() < 2) {  // a very narrow range: fall back to linear ticks inside it
    ticks = nice_ticks(lo, hi, 4);
  }
  return ticks;
}

std::string format_tick(double value, double step) {
  char buffer[64];
  if (value == 0) return "0";
  const double magnitude = std::max(std::abs(value), std::abs(step));
  if (magnitude >= 1e6 || std::abs(step) < 1e-4) {
    std::snprintf(buffer, sizeof buffer, "%g", value);
    return buffer;
  }
  // Steps are {1, 2, 5} x 10^k, so 10^k's exponent says how many decimals the labels need.
  const int exponent = static_cast<int>(std::floor(std::log10(std::abs(step)) + 1e-9));
  const int decimals = std::max(0, -exponent);
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string format_log_tick(double value) {
  char buffer[64];
  SNN_CHECK(std::isfinite(value) && value > 0, "format_log_tick: needs a positive value, got ",
            value);
  const int exponent = static_cast<int>(std::floor(std::log10(value) + 1e-9));
  const double mantissa = value / std::pow(10.0, exponent);
  if (exponent >= -3 && exponent <= 4) {
    std::snprintf(buffer, sizeof buffer, "%.*f", std::max(0, -exponent), value);
  } else if (std::abs(mantissa - std::round(mantissa)) < 1e-6) {
    std::snprintf(buffer, sizeof buffer, "%de%d", static_cast<int>(std::round(mantissa)), exponent);
  } else {
    std::snprintf(buffer, sizeof buffer, "%g", value);
  }
  return buffer;
}

}  // namespace stablenn
