// train/dwr_estimator.cpp — DWR indicators, effectivity and Dörfler marking (chapter 11).
#include "train/dwr_estimator.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/error.h"

namespace stablenn {

namespace {

// (1/2N) Σ_i ⟨C v_i, H_i C v_i⟩ for final-state perturbations v (N × d).
double loss_curvature(const ControlledOde& model, const ControlSamples& samples, const GoalOptions& options,
                      const std::vector<double>& outputs, const std::vector<double>& v) {
  const int64_t n = samples.count, d = model.dim, q = model.outputs;
  const double* c = model.head.data();
  std::vector<double> dy(q), pi(q);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t r = 0; r < q; ++r) {
      double s = 0;
      for (int64_t j = 0; j < d; ++j) s += c[r * d + j] * v[i * d + j];
      dy[r] = s;
    }
    if (options.loss == GoalLoss::kCrossEntropy) {
      const double* y = outputs.data() + i * q;
      const double top = *std::max_element(y, y + q);
      double z = 0;
      for (int64_t r = 0; r < q; ++r) z += pi[r] = std::exp(y[r] - top);
      double mean = 0, square = 0;
      for (int64_t r = 0; r < q; ++r) pi[r] /= z, mean += pi[r] * dy[r], square += pi[r] * dy[r] * dy[r];
      total += square - mean * mean;  // dyᵀ(diag(π) − ππᵀ)dy
    } else {
      for (int64_t r = 0; r < q; ++r) total += dy[r] * dy[r];
    }
  }
  return 0.5 * total / static_cast<double>(n);
}

}  // namespace

DwrEstimate dwr_estimate(const ControlledOde& model, const ControlSamples& samples, const GoalOptions& options,
                         const GoalGradient& gradient) {
  const int64_t d = model.dim, cs = model.control_size(), layers = model.layers();
  const Trajectory& tr = gradient.trajectory;
  const int64_t n = samples.count;
  const std::vector<double> outputs = head_outputs(model, tr.states.back(), n);
  DwrEstimate e;
  e.first_order.assign(layers, 0.0);
  e.indicators.assign(layers, 0.0);
  std::vector<double> total_v(n * d, 0.0), mid(d), tmp(d);
  for (int64_t k = 0; k < layers; ++k) {
    const double* w = model.controls.data() + k * cs;
    const double* b = w + d * d;
    const double h = model.tau[k];
    const std::vector<double>& x = tr.states[k];
    const std::vector<double>& s = tr.activations[k];
    const std::vector<double>& p = gradient.adjoints[k + 1];
    std::vector<double> v(n * d);  // δ_k, then carried to t_K
    double first = 0;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t c = 0; c < d; ++c) mid[c] = x[i * d + c] + 0.5 * h * s[i * d + c];
      for (int64_t r = 0; r < d; ++r) {
        double z = b[r];
        for (int64_t c = 0; c < d; ++c) z += w[r * d + c] * mid[c];
        const double sm = model.activation == FieldActivation::kTanh ? std::tanh(z) : z;
        v[i * d + r] = 0.5 * h * (sm - s[i * d + r]);
        first += p[i * d + r] * v[i * d + r];
      }
    }
    for (int64_t j = k + 1; j < layers; ++j) {  // the linearised Euler steps after interval k
      const double* wj = model.controls.data() + j * cs;
      const std::vector<double>& sj = tr.activations[j];
      for (int64_t i = 0; i < n; ++i) {
        double* vi = v.data() + i * d;
        for (int64_t r = 0; r < d; ++r) {
          double z = 0;
          for (int64_t c = 0; c < d; ++c) z += wj[r * d + c] * vi[c];
          const double sv = sj[i * d + r];
          tmp[r] = model.tau[j] * (model.activation == FieldActivation::kTanh ? 1.0 - sv * sv : 1.0) * z;
        }
        for (int64_t r = 0; r < d; ++r) vi[r] += tmp[r];
      }
    }
    for (int64_t j = 0; j < n * d; ++j) total_v[j] += v[j];
    e.first_order[k] = first;
    e.indicators[k] = first + loss_curvature(model, samples, options, outputs, v);
    e.estimate += first;
  }
  e.estimate += loss_curvature(model, samples, options, outputs, total_v);
  return e;
}

std::vector<double> dwr_indicators(const ControlledOde& model, const ControlSamples& samples,
                                   const GoalOptions& options) {
  return dwr_estimate(model, samples, options, goal_gradient(model, samples, options)).indicators;
}

ControlledOde refine_uniformly(const ControlledOde& model) {
  ControlledOde fine = model;
  for (int64_t k = model.layers() - 1; k >= 0; --k) split_interval(fine, k);
  return fine;
}

Effectivity effectivity(const ControlledOde& model, const ControlSamples& samples, const GoalOptions& options) {
  Effectivity e;
  e.estimate = dwr_estimate(model, samples, options, goal_gradient(model, samples, options)).estimate;
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
