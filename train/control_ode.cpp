// train/control_ode.cpp — forward Euler, goal and discrete adjoint of the controlled neural ODE
// (chapter 11). Plain loops over rows: d is small, so a BLAS call would cost more than the work.
#include "train/control_ode.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "core/parallel.h"

namespace stablenn {

namespace {

double activate(FieldActivation a, double z) { return a == FieldActivation::kTanh ? std::tanh(z) : z; }
// σ'(z) from s = σ(z): tanh' = 1 − s², identity' = 1.
double slope_from_value(FieldActivation a, double s) { return a == FieldActivation::kTanh ? 1.0 - s * s : 1.0; }

void check_fits(const ControlledOde& model, const ControlSamples& samples) {
  if (model.dim <= 0 || model.outputs <= 0)
    throw Error("ControlledOde: dim and outputs must be >= 1 (got " + std::to_string(model.dim) + ", " +
                std::to_string(model.outputs) + ")");
  if (samples.input_dim > model.dim)
    throw Error("ControlledOde: inputs of dimension " + std::to_string(samples.input_dim) +
                " do not fit a state of dimension " + std::to_string(model.dim));
  if (static_cast<int64_t>(samples.inputs.size()) != samples.count * samples.input_dim)
    throw Error("ControlSamples: inputs hold " + std::to_string(samples.inputs.size()) + " values, expected " +
                std::to_string(samples.count * samples.input_dim));
  if (static_cast<int64_t>(model.controls.size()) != model.layers() * model.control_size() ||
      static_cast<int64_t>(model.head.size()) != model.outputs * model.dim + model.outputs)
    throw Error("ControlledOde: controls or head of the wrong size for " + std::to_string(model.layers()) +
                " layers of dimension " + std::to_string(model.dim));
}

// Samples per parallel chunk: a sample costs about d² multiply-adds and d activations (~20 each),
// and a chunk should hold core/parallel.h's default grain of cheap operations.
int64_t sample_grain(int64_t d) { return std::max<int64_t>(1, kDefaultGrain / (d * d + 20 * d)); }

}  // namespace

ControlSamples samples_from_dataset(const Dataset& data, double scale) {
  if (!data.inputs.defined() || data.inputs.dim() != 2)
    throw Error("samples_from_dataset: '" + data.name + "' has inputs of rank " +
                std::to_string(data.inputs.defined() ? data.inputs.dim() : 0) + ", expected [N, m]");
  if (!data.labels.defined() || data.labels.dtype() != DType::Int64 || data.labels.dim() != 1 ||
      data.labels.size(0) != data.inputs.size(0))
    throw Error("samples_from_dataset: '" + data.name + "' needs Int64 labels [N] matching its " +
                std::to_string(data.inputs.size(0)) + " inputs");
  ControlSamples s;
  s.count = data.inputs.size(0);
  s.input_dim = data.inputs.size(1);
  const Tensor x = data.inputs.to(DType::Float64).contiguous();
  const double* px = x.data<double>();
  s.inputs.assign(px, px + s.count * s.input_dim);
  for (double& v : s.inputs) v *= scale;
  const Tensor y = data.labels.contiguous();
  const int64_t* py = y.data<int64_t>();
  s.labels.assign(py, py + s.count);
  return s;
}

double ControlledOde::final_time() const {
  double t = 0;
  for (double h : tau) t += h;
  return t;
}

std::vector<double> ControlledOde::mesh() const {
  std::vector<double> t(1, 0.0);
  for (double h : tau) t.push_back(t.back() + h);
  return t;
}

ControlledOde make_controlled_ode(int64_t dim, int64_t outputs, int64_t layers, double final_time,
                                  FieldActivation activation, Generator& gen, double scale) {
  if (dim < 1 || outputs < 1 || layers < 1 || !(final_time > 0))
    throw Error("make_controlled_ode: expected dim, outputs, layers >= 1 and final_time > 0");
  ControlledOde m;
  m.dim = dim, m.outputs = outputs, m.activation = activation;
  m.tau.assign(layers, final_time / static_cast<double>(layers));
  const double std = scale / std::sqrt(static_cast<double>(dim));
  m.controls.resize(layers * m.control_size());
  for (double& v : m.controls) v = std * gen.normal_scalar();
  m.head.resize(outputs * dim + outputs);
  for (double& v : m.head) v = std * gen.normal_scalar();
  return m;
}

void integrate_into(const ControlledOde& model, const ControlSamples& samples, Trajectory& tr) {
  check_fits(model, samples);
  const int64_t n = samples.count, d = model.dim, m = samples.input_dim;
  // Buffers are reused when the sizes match: training calls this hundreds of times, and fresh
  // allocations of this size cost more in page faults than the arithmetic.
  tr.states.resize(model.layers() + 1);
  tr.activations.resize(model.layers());
  for (auto& v : tr.states) v.resize(n * d);
  for (auto& v : tr.activations) v.resize(n * d);
  std::vector<double>& x0 = tr.states[0];
  std::fill(x0.begin(), x0.end(), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) x0[i * d + j] = samples.inputs[i * m + j];
  std::vector<double> wt(d * d);
  const int64_t grain = sample_grain(d);
  for (int64_t k = 0; k < model.layers(); ++k) {
    const double* w = model.controls.data() + k * model.control_size();
    const double* b = w + d * d;
    for (int64_t r = 0; r < d; ++r)
      for (int64_t c = 0; c < d; ++c) wt[c * d + r] = w[r * d + c];  // Wᵀ: the inner loop runs over r
    const double h = model.tau[k];
    const double* x = tr.states[k].data();
    double* s = tr.activations[k].data();
    double* next = tr.states[k + 1].data();
    // Samples are independent: chunks of them run in parallel, each value computed the same way.
    parallel_for(0, n, grain, [&](int64_t lo, int64_t hi) {
      std::vector<double> z(d);
      for (int64_t i = lo; i < hi; ++i) {
        const double* xi = x + i * d;
        for (int64_t r = 0; r < d; ++r) z[r] = b[r];
        for (int64_t c = 0; c < d; ++c) {
          const double xc = xi[c];
          const double* col = wt.data() + c * d;
          for (int64_t r = 0; r < d; ++r) z[r] += col[r] * xc;
        }
        for (int64_t r = 0; r < d; ++r) {
          const double sv = activate(model.activation, z[r]);
          s[i * d + r] = sv;
          next[i * d + r] = xi[r] + h * sv;
        }
      }
    });
  }
}

Trajectory integrate(const ControlledOde& model, const ControlSamples& samples) {
  Trajectory tr;
  integrate_into(model, samples, tr);
  return tr;
}

std::vector<double> head_outputs(const ControlledOde& model, const std::vector<double>& final_states,
                                 int64_t count) {
  const int64_t d = model.dim, q = model.outputs;
  const double* c = model.head.data();
  const double* bias = c + q * d;
  std::vector<double> y(count * q);
  for (int64_t i = 0; i < count; ++i)
    for (int64_t r = 0; r < q; ++r) {
      double v = bias[r];
      for (int64_t j = 0; j < d; ++j) v += c[r * d + j] * final_states[i * d + j];
      y[i * q + r] = v;
    }
  return y;
}

double goal_loss(const ControlledOde& model, const ControlSamples& samples,
                 const std::vector<double>& final_states, const GoalOptions& options,
                 std::vector<double>* adjoint_out) {
  const int64_t n = samples.count, d = model.dim, q = model.outputs;
  if (n == 0) throw Error("goal_loss: no samples");
  const std::vector<double> y = head_outputs(model, final_states, n);
  std::vector<double> dy(n * q);  // ∂ℓ/∂y / N
  double total = 0;
  if (options.loss == GoalLoss::kCrossEntropy) {
    if (static_cast<int64_t>(samples.labels.size()) != n)
      throw Error("goal_loss: cross-entropy needs one label per sample (" + std::to_string(samples.labels.size()) +
                  " labels for " + std::to_string(n) + " samples)");
    for (int64_t i = 0; i < n; ++i) {
      const double* yi = y.data() + i * q;
      const int64_t label = samples.labels[i];
      if (label < 0 || label >= q)
        throw Error("goal_loss: label " + std::to_string(label) + " outside 0.." + std::to_string(q - 1));
      const double top = *std::max_element(yi, yi + q);
      double z = 0;
      for (int64_t r = 0; r < q; ++r) z += std::exp(yi[r] - top);
      total += top + std::log(z) - yi[label];
      for (int64_t r = 0; r < q; ++r) dy[i * q + r] = (std::exp(yi[r] - top) / z - (r == label ? 1.0 : 0.0)) / n;
    }
  } else {
    if (static_cast<int64_t>(samples.targets.size()) != n * q)
      throw Error("goal_loss: the squared error needs N x outputs targets (" + std::to_string(samples.targets.size()) +
                  " values, expected " + std::to_string(n * q) + ")");
    for (int64_t i = 0; i < n * q; ++i) {
      const double e = y[i] - samples.targets[i];
      total += 0.5 * e * e;
      dy[i] = e / n;
    }
  }
  if (adjoint_out != nullptr) {
    std::vector<double>& p = *adjoint_out;
    p.assign(n * d, 0.0);
    const double* c = model.head.data();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t r = 0; r < q; ++r) {
        const double g = dy[i * q + r];
        for (int64_t j = 0; j < d; ++j) p[i * d + j] += c[r * d + j] * g;
      }
  }
  return total / n;
}

double goal_regulariser(const ControlledOde& model, const GoalOptions& options) {
  const int64_t cs = model.control_size(), d = model.dim, q = model.outputs;
  double l2 = 0, h1 = 0, head = 0;
  for (int64_t k = 0; k < model.layers(); ++k) {
    const double* t = model.controls.data() + k * cs;
    double sq = 0;
    for (int64_t j = 0; j < cs; ++j) sq += t[j] * t[j];
    l2 += model.tau[k] * sq;
    if (k + 1 < model.layers()) {
      double diff = 0;
      for (int64_t j = 0; j < cs; ++j) diff += (t[cs + j] - t[j]) * (t[cs + j] - t[j]);
      h1 += diff / (0.5 * (model.tau[k] + model.tau[k + 1]));
    }
  }
  for (int64_t j = 0; j < q * d; ++j) head += model.head[j] * model.head[j];
  return 0.5 * (options.l2 * l2 + options.h1 * h1 + options.head_l2 * head);
}

GoalValue evaluate_goal(const ControlledOde& model, const ControlSamples& samples, const GoalOptions& options) {
  Trajectory tr;
  return evaluate_goal(model, samples, options, tr);
}

GoalValue evaluate_goal(const ControlledOde& model, const ControlSamples& samples, const GoalOptions& options,
                        Trajectory& workspace) {
  integrate_into(model, samples, workspace);
  GoalValue v;
  v.loss = goal_loss(model, samples, workspace.states.back(), options, nullptr);
  v.regulariser = goal_regulariser(model, options);
  return v;
}

GoalGradient goal_gradient(const ControlledOde& model, const ControlSamples& samples, const GoalOptions& options) {
  GoalGradient g;
  goal_gradient_into(model, samples, options, g);
  return g;
}

void goal_gradient_into(const ControlledOde& model, const ControlSamples& samples, const GoalOptions& options,
                        GoalGradient& g) {
  integrate_into(model, samples, g.trajectory);
  const int64_t n = samples.count, d = model.dim, q = model.outputs, cs = model.control_size();
  const int64_t layers = model.layers();
  g.adjoints.resize(layers + 1);
  g.value.loss = goal_loss(model, samples, g.trajectory.states.back(), options, &g.adjoints[layers]);
  g.value.regulariser = goal_regulariser(model, options);

  // Head: ∂J/∂C = Σ_i (∂ℓ/∂y_i / N) x_Kᵢᵀ. The adjoint p_K = Cᵀ dy already folds C in, so dy is
  // recomputed here from the outputs (cheap: N × q).
  g.head.assign(model.head.size(), 0.0);
  std::vector<double> dy(q);
  if (options.train_head) {
    const std::vector<double>& xk = g.trajectory.states.back();
    const std::vector<double> y = head_outputs(model, xk, n);
    for (int64_t i = 0; i < n; ++i) {
      if (options.loss == GoalLoss::kCrossEntropy) {
        const double* yi = y.data() + i * q;
        const double top = *std::max_element(yi, yi + q);
        double z = 0;
        for (int64_t r = 0; r < q; ++r) z += std::exp(yi[r] - top);
        for (int64_t r = 0; r < q; ++r) dy[r] = (std::exp(yi[r] - top) / z - (r == samples.labels[i] ? 1.0 : 0.0)) / n;
      } else {
        for (int64_t r = 0; r < q; ++r) dy[r] = (y[i * q + r] - samples.targets[i * q + r]) / n;
      }
      for (int64_t r = 0; r < q; ++r) {
        for (int64_t j = 0; j < d; ++j) g.head[r * d + j] += dy[r] * xk[i * d + j];
        g.head[q * d + r] += dy[r];
      }
    }
    for (int64_t j = 0; j < q * d; ++j) g.head[j] += options.head_l2 * model.head[j];
  }

  // Backward sweep: p_k = p_{k+1} + τ_k W_kᵀ (σ'(z_k) ⊙ p_{k+1}), and the control gradients.
  g.controls.assign(model.controls.size(), 0.0);
  std::vector<double> a(n * d);  // τ_k σ'(z_k) ⊙ p_{k+1}, per sample
  const int64_t grain = sample_grain(d);
  for (int64_t k = layers - 1; k >= 0; --k) {
    const double* w = model.controls.data() + k * cs;
    double* gw = g.controls.data() + k * cs;
    double* gb = gw + d * d;
    const double h = model.tau[k];
    const std::vector<double>& x = g.trajectory.states[k];
    const std::vector<double>& s = g.trajectory.activations[k];
    const std::vector<double>& p1 = g.adjoints[k + 1];
    std::vector<double>& p = g.adjoints[k];
    p.assign(p1.begin(), p1.end());
    parallel_for(0, n, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        double* ai = a.data() + i * d;
        for (int64_t r = 0; r < d; ++r) ai[r] = h * slope_from_value(model.activation, s[i * d + r]) * p1[i * d + r];
        double* pi = p.data() + i * d;
        for (int64_t r = 0; r < d; ++r) {
          const double ar = ai[r];
          for (int64_t c = 0; c < d; ++c) pi[c] += w[r * d + c] * ar;
        }
      }
    });
    // The sums over samples, in sample order on one thread (the same result at any thread count).
    for (int64_t i = 0; i < n; ++i) {
      const double* ai = a.data() + i * d;
      const double* xi = x.data() + i * d;
      for (int64_t r = 0; r < d; ++r) {
        const double ar = ai[r];
        gb[r] += ar;
        for (int64_t c = 0; c < d; ++c) gw[r * d + c] += ar * xi[c];
      }
    }
  }
  // Regulariser: L² gives λ τ_k θ_k; H¹ gives λ_H¹ (θ_k − θ_{k±1}) / τ̄ for each neighbour.
  for (int64_t k = 0; k < layers; ++k) {
    const double* t = model.controls.data() + k * cs;
    double* gt = g.controls.data() + k * cs;
    for (int64_t j = 0; j < cs; ++j) gt[j] += options.l2 * model.tau[k] * t[j];
    if (k + 1 < layers) {
      const double inv = options.h1 / (0.5 * (model.tau[k] + model.tau[k + 1]));
      for (int64_t j = 0; j < cs; ++j) {
        const double diff = t[cs + j] - t[j];
        gt[j] -= inv * diff;
        gt[cs + j] += inv * diff;
      }
    }
  }
}

std::vector<int64_t> predict_classes(const ControlledOde& model, const ControlSamples& samples) {
  const Trajectory tr = integrate(model, samples);
  const std::vector<double> y = head_outputs(model, tr.states.back(), samples.count);
  std::vector<int64_t> classes(samples.count);
  const int64_t q = model.outputs;
  for (int64_t i = 0; i < samples.count; ++i)
    classes[i] = std::max_element(y.begin() + i * q, y.begin() + (i + 1) * q) - (y.begin() + i * q);
  return classes;
}

double accuracy(const ControlledOde& model, const ControlSamples& samples) {
  if (samples.count == 0 || static_cast<int64_t>(samples.labels.size()) != samples.count)
    throw Error("accuracy: needs samples with one label each");
  const std::vector<int64_t> classes = predict_classes(model, samples);
  int64_t right = 0;
  for (int64_t i = 0; i < samples.count; ++i) right += classes[i] == samples.labels[i];
  return static_cast<double>(right) / static_cast<double>(samples.count);
}

void split_interval(ControlledOde& model, int64_t k) {
  if (k < 0 || k >= model.layers())
    throw Error("split_interval: interval " + std::to_string(k) + " outside 0.." + std::to_string(model.layers() - 1));
  const int64_t cs = model.control_size();
  const double half = 0.5 * model.tau[k];  // exact: a power-of-two scaling
  model.tau[k] = half;
  model.tau.insert(model.tau.begin() + k + 1, half);
  const std::vector<double> copy(model.controls.begin() + k * cs, model.controls.begin() + (k + 1) * cs);
  model.controls.insert(model.controls.begin() + (k + 1) * cs, copy.begin(), copy.end());
}

}  // namespace stablenn
