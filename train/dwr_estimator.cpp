// train/dwr_estimator.cpp — DWR indicators, effectivity and Dörfler marking (chapter 11).
#include "train/dwr_estimator.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/error.h"

namespace stablenn {

std::vector<double> dwr_indicators(const ControlledOde& model, const ControlSamples& samples,
                                   const GoalOptions& options) {
  return dwr_indicators(model, goal_gradient(model, samples, options));
}

std::vector<double> dwr_indicators(const ControlledOde& model, const GoalGradient& gradient) {
  const int64_t d = model.dim, cs = model.control_size();
  const Trajectory& tr = gradient.trajectory;
  const int64_t n = static_cast<int64_t>(tr.states[0].size()) / d;
  std::vector<double> eta(model.layers(), 0.0);
  for (int64_t k = 0; k < model.layers(); ++k) {
    const double* w = model.controls.data() + k * cs;
    const double* b = w + d * d;
    const double h = model.tau[k];
    const std::vector<double>& x = tr.states[k];
    const std::vector<double>& s = tr.activations[k];
    const std::vector<double>& p = gradient.adjoints[k + 1];
    std::vector<double> mid(d);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t c = 0; c < d; ++c) mid[c] = x[i * d + c] + 0.5 * h * s[i * d + c];
      for (int64_t r = 0; r < d; ++r) {
        double z = b[r];
        for (int64_t c = 0; c < d; ++c) z += w[r * d + c] * mid[c];
        const double sm = model.activation == FieldActivation::kTanh ? std::tanh(z) : z;
        sum += p[i * d + r] * 0.5 * h * (sm - s[i * d + r]);
      }
    }
    eta[k] = sum;
  }
  return eta;
}

ControlledOde refine_uniformly(const ControlledOde& model) {
  ControlledOde fine = model;
  for (int64_t k = model.layers() - 1; k >= 0; --k) split_interval(fine, k);
  return fine;
}

Effectivity effectivity(const ControlledOde& model, const ControlSamples& samples, const GoalOptions& options) {
  Effectivity e;
  const std::vector<double> eta = dwr_indicators(model, samples, options);
  e.estimate = std::accumulate(eta.begin(), eta.end(), 0.0);
  e.actual = evaluate_goal(refine_uniformly(model), samples, options).loss - evaluate_goal(model, samples, options).loss;
  return e;
}

std::vector<int64_t> dorfler_mark(const std::vector<double>& indicators, double fraction) {
  if (!(fraction > 0 && fraction <= 1))
    throw Error("dorfler_mark: fraction must be in (0, 1], got " + std::to_string(fraction));
  std::vector<int64_t> order(indicators.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return std::abs(indicators[a]) > std::abs(indicators[b]); });
  double total = 0;
  for (double v : indicators) total += std::abs(v);
  std::vector<int64_t> marked;
  if (!(total > 0)) return marked;
  // Largest first: after m picks this holds the m largest values, the most any m intervals carry,
  // so the first m that reaches the fraction is the smallest possible count.
  const double needed = fraction * total;
  double carried = 0;
  for (int64_t k : order) {
    if (carried >= needed) break;
    marked.push_back(k);
    carried += std::abs(indicators[k]);
  }
  std::sort(marked.begin(), marked.end());
  return marked;
}

}  // namespace stablenn
