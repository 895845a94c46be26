// plot/ticks.h — "nice" axis ticks and their labels (chapter 3).
//
// A plot reads well when its ticks fall on round numbers: steps of 1, 2 or 5 times a power of ten
// on a linear axis (Heckbert, "Nice numbers for graph labels", Graphics Gems, 1990), and powers of
// ten on a logarithmic one.
#pragma once
#include <string>
#include <vector>

namespace stablenn {

// Chapter 3: a number of the form {1, 2, 5, 10} x 10^k close to x > 0: the nearest one when
// `round` is true, otherwise the smallest one >= x.
double nice_number(double x, bool round);

// Chapter 3: the tick step for an axis from lo to hi with about `target_count` ticks; always
// {1, 2, 5} x 10^k.
double nice_tick_step(double lo, double hi, int target_count = 6);

// Chapter 3: the multiples of nice_tick_step(lo, hi, target_count) inside [lo, hi] (lo < hi, both
// finite; throws otherwise). Values are computed as integer multiples of the step, and a value
// within a billionth of a step of zero is exactly 0, so labels never read "-0" or "1.0000000002".
std::vector<double> nice_ticks(double lo, double hi, int target_count = 6);

// Chapter 3: ticks for a logarithmic axis on [lo, hi] (0 < lo < hi): the powers of ten inside,
// thinned to every 2nd, 3rd, ... decade when there are more than 10, and with the 2x and 5x
// multiples added when fewer than two powers of ten fall inside.
std::vector<double> log_ticks(double lo, double hi);

// Chapter 3: the label of a linear-axis tick: as many decimals as the step needs ("0.25" for step
// 0.05, "100" for step 20), scientific notation for very large or very small numbers.
std::string format_tick(double value, double step);

// Chapter 3: the label of a logarithmic-axis tick: "0.01", "1", "1000", "1e-5", "2e6".
std::string format_log_tick(double value);

}  // namespace stablenn
