// layers/stable/contractivity.cpp — the convolutional neural ODE classifier and the contractivity
// regularisers (chapter 10).
#include "layers/stable/contractivity.h"

#include <algorithm>
#include <cmath>

#include "autodiff/backward.h"
#include "core/parallel.h"
#include "core/random.h"
#include "ode/stability.h"

namespace stablenn {

namespace {

// Axes 1 .. dim-1: everything but the sample axis.
Shape sample_axes(int64_t dim) {
  Shape axes;
  for (int64_t a = 1; a < dim; ++a) axes.push_back(a);
  return axes;
}

// Each sample's slice scaled to unit 2-norm (a zero slice stays zero).
Tensor normalise_samples(const Tensor& v) {
  NoGrad no_grad;
  const Var w(v);
  const Var norm = sqrt(sum(square(w), sample_axes(v.dim()), true));
  return (w / (norm + 1e-30)).value();
}

// One sample's Lanczos step after w = S q_j: α_j = <w, q_j>; unless it is the last step, w minus its
// components along q_1 … q_j (classical Gram–Schmidt, twice: enough in floating point,
// Kahan–Parlett) and β_j = ‖w‖. Plain loops over one sample's contiguous slice of d values,
// accumulated in double.
template <class T>
void lanczos_sample_step(T* w, const std::vector<const T*>& q, int64_t d, bool last, double& alpha, double& beta) {
  double a = 0;
  for (int64_t i = 0; i < d; ++i) a += static_cast<double>(w[i]) * q.back()[i];
  alpha = a;
  if (last) return;
  for (int pass = 0; pass < 2; ++pass)
    for (const T* qi : q) {
      double dot = 0;
      for (int64_t i = 0; i < d; ++i) dot += static_cast<double>(w[i]) * qi[i];
      const T c = static_cast<T>(dot);
      for (int64_t i = 0; i < d; ++i) w[i] -= c * qi[i];
    }
  double norm = 0;
  for (int64_t i = 0; i < d; ++i) norm += static_cast<double>(w[i]) * w[i];
  beta = std::sqrt(norm);
}

// Lanczos on the symmetric operator S (block diagonal over samples: one Krylov space per sample)
// from the unit start q_1 = v: k steps give the tridiagonal T_k = Q_kᵀ S Q_k, whose largest
// eigenvalue (the top Ritz value) approaches λ_max(S) much faster than k power iterations, since
// the Krylov space holds the best polynomial filter of degree k, not only the k-th power. Returns
// the unit Ritz vector Q_k y of each sample. Each new q is re-orthogonalised against all previous
// ones (k is small), and a sample whose Krylov space closes early (β ≈ 0) keeps its shorter T.
template <class T>
Tensor lanczos_top_vector_typed(const std::function<Tensor(const Tensor&)>& apply, const Tensor& v, int steps) {
  const int64_t n = v.size(0), d = v.numel() / std::max<int64_t>(1, n);
  std::vector<Tensor> q = {v.contiguous()};
  std::vector<std::vector<double>> alpha(n), beta(n);  // T's diagonal and off-diagonal, per sample
  std::vector<char> closed(static_cast<size_t>(n), 0);
  for (int j = 0; j < steps; ++j) {
    Tensor w = apply(q[j]).contiguous().clone();
    std::vector<const T*> qs;
    for (const Tensor& qi : q) qs.push_back(qi.data<T>());
    T* pw = w.data<T>();
    parallel_for(0, n, std::max<int64_t>(1, kDefaultGrain / (4 * d * (j + 1))), [&](int64_t lo, int64_t hi) {
      for (int64_t s = lo; s < hi; ++s) {
        T* ws = pw + s * d;
        if (closed[s]) {  // its T is complete; its q stays zero
          std::fill(ws, ws + d, T(0));
          continue;
        }
        std::vector<const T*> qs_s;
        for (const T* qi : qs) qs_s.push_back(qi + s * d);
        double a = 0, b = 0;
        lanczos_sample_step(ws, qs_s, d, j + 1 == steps, a, b);
        alpha[s].push_back(a);
        if (j + 1 == steps) continue;
        if (!(b > 1e-6 * std::max(1.0, std::fabs(a)))) {  // an invariant subspace: T is exact
          closed[s] = 1;
          std::fill(ws, ws + d, T(0));
          continue;
        }
        beta[s].push_back(b);
        const T inv = static_cast<T>(1.0 / b);
        for (int64_t i = 0; i < d; ++i) ws[i] *= inv;
      }
    });
    if (j + 1 < steps) q.push_back(w);
  }
  // The top eigenvector y of each sample's T, then the unit Ritz vector Σ_j y_j q_j.
  Tensor ritz = Tensor::zeros(v.shape(), v.dtype());
  T* pr = ritz.data<T>();
  for (int64_t s = 0; s < n; ++s) {
    const int64_t m = static_cast<int64_t>(alpha[s].size());
    std::vector<double> t(static_cast<size_t>(m * m), 0.0);
    for (int64_t i = 0; i < m; ++i) {
      t[i * m + i] = alpha[s][i];
      if (i + 1 < m) t[i * m + i + 1] = t[(i + 1) * m + i] = beta[s][i];
    }
    const SymmetricEigen e = symmetric_eigen(t, m);
    T* rs = pr + s * d;
    for (int64_t k = 0; k < m; ++k) {
      const T y = static_cast<T>(e.vectors[k * m + (m - 1)]);
      const T* qk = q[k].data<T>() + s * d;
      for (int64_t i = 0; i < d; ++i) rs[i] += y * qk[i];
    }
    double norm = 0;
    for (int64_t i = 0; i < d; ++i) norm += static_cast<double>(rs[i]) * rs[i];
    const T inv = static_cast<T>(1.0 / std::max(std::sqrt(norm), 1e-30));
    for (int64_t i = 0; i < d; ++i) rs[i] *= inv;
  }
  return ritz;
}

Tensor lanczos_top_vector(const std::function<Tensor(const Tensor&)>& apply, const Tensor& v, int steps) {
  if (v.dtype() == DType::Float64) return lanczos_top_vector_typed<double>(apply, v, steps);
  SNN_CHECK(v.dtype() == DType::Float32, "log_norm2_estimate: expected float32 or float64 states, got ",
            dtype_name(v.dtype()));
  return lanczos_top_vector_typed<float>(apply, v, steps);
}

}  // namespace

ConvContractiveField::ConvContractiveField(int64_t c, int64_t k, Activation s, Generator& g, DType dtype)
    : sigma(std::move(s)), channels(c), kernel(k) {
  SNN_CHECK(c > 0 && k > 0 && k % 2 == 1, "ConvContractiveField: need channels > 0 and an odd kernel, got ",
            c, " channels, kernel ", k);
  SNN_CHECK(sigma.elementwise(), "ConvContractiveField: the activation '", sigma.name(),
            "' has no slope bounds; the contraction conditions need an element-wise σ");
  // Small weights: f starts near σ(β), a gentle field, and the Euler steps start well inside
  // their stability region.
  const double bound = 0.2 / std::sqrt(static_cast<double>(c * k * k));
  weight = register_parameter("weight", g.uniform({c, c, k, k}, -bound, bound, dtype));
  bias = register_parameter("bias", g.uniform({c}, -bound, bound, dtype));
}

Var ConvContractiveField::forward(const Var& x) {
  SNN_CHECK(x.dim() == 4 && x.size(1) == channels, "ConvContractiveField: expected a state [N, ",
            channels, ", H, W], got ", shape_str(x.shape()));
  return sigma.apply(conv2d(x, weight, bias, 1, kernel / 2));
}

Var ConvContractiveField::drive(const Var& x, const Var& u) {
  SNN_CHECK(x.dim() == 4 && x.size(1) == channels && u.shape() == x.shape(),
            "ConvContractiveField::drive: expected a state [N, ", channels, ", H, W] and an input of its shape, got ",
            shape_str(x.shape()), " and ", shape_str(u.shape()));
  return sigma.apply(conv2d(x, weight, bias, 1, kernel / 2) + u);
}

std::string ConvContractiveField::describe() const {
  return "ConvContractiveField(" + sigma.name() + "(K⋆x + β), C " + std::to_string(channels) + ", " +
         std::to_string(kernel) + "x" + std::to_string(kernel) + ")";
}

ConvNodeClassifier::ConvNodeClassifier(const ConvNodeConfig& c, Generator& g, DType dtype)
    : config(c), lift_sigma(c.relu_lift ? Activation::relu() : Activation::slope_restricted(c.alpha)) {
  SNN_CHECK(c.pool >= 1 && c.image_size % (2 * c.pool) == 0, "ConvNodeClassifier: image_size must be a "
            "multiple of 2·pool (lift stride 2, then pool ", c.pool, "), got ", c.image_size);
  SNN_CHECK(c.steps >= 1 && c.horizon > 0, "ConvNodeClassifier: need steps >= 1 and horizon > 0, got ",
            c.steps, " and ", c.horizon);
  lift = register_module("lift", std::make_shared<Conv2d>(c.in_channels, c.channels, 4, 2, 1, true, g, dtype));
  field = register_module("field", std::make_shared<ConvContractiveField>(
                                       c.channels, c.kernel, Activation::slope_restricted(c.alpha), g, dtype));
  const int64_t side = c.image_size / (2 * c.pool);
  head = register_module("head", std::make_shared<Linear>(c.channels * side * side, c.classes, true, g, dtype));
}

Var ConvNodeClassifier::lift_state(const Var& images) { return lift_sigma.apply((*lift)(images)); }

Var ConvNodeClassifier::forward(const Var& images) {
  const Var u = lift_state(images);
  Var x = u;
  const double h = step_size();
  if (keep_states) last_states.clear();
  for (int64_t k = 0; k < config.steps; ++k) {
    if (keep_states) last_states.push_back(x.value());  // the values only: no tape is kept alive
    x = axpy(x, field->drive(x, u), h);  // x + h·f(x, u), one pass
  }
  return (*head)(flatten(config.pool > 1 ? avg_pool2d(x, config.pool, config.pool) : x, 1));
}

std::vector<Tensor> ConvNodeClassifier::trajectory(const Tensor& images, const Tensor* start) {
  NoGrad no_grad;
  const Var u = lift_state(Var(images));
  Var x = start ? lift_state(Var(*start)) : u;
  std::vector<Tensor> states = {x.value()};
  for (int64_t k = 0; k < config.steps; ++k) {
    x = axpy(x, field->drive(x, u), step_size());
    states.push_back(x.value());
  }
  return states;
}

std::string ConvNodeClassifier::describe() const {
  return "ConvNodeClassifier(C " + std::to_string(config.channels) + ", " + std::to_string(config.steps) +
         " Euler steps on [0, " + std::to_string(config.horizon).substr(0, 4) + "])";
}

// ---- Jacobian-based ----

Var log_norm2_estimate(const std::function<Var(const Var&)>& f, const Tensor& x, const LogNormOptions& o) {
  SNN_CHECK(o.iterations >= 1, "log_norm2_estimate: iterations must be >= 1, got ", o.iterations);
  SNN_CHECK(o.shift >= 0 && std::isfinite(o.shift), "log_norm2_estimate: shift must be finite and >= 0, got ",
            o.shift);
  SNN_CHECK(x.dim() >= 2, "log_norm2_estimate: expected states [N, ...], got ", shape_str(x.shape()));
  GradModeScope recording(true);  // the products come from the tape, even when called under NoGrad
  // One forward; then g(u) = Jᵀu recorded as a graph of the dummy u (the double-vjp trick of
  // autodiff/functional.h, written out so the forward and that graph are built once, not per product).
  const Var xl = Var(x.clone(), true);
  const Var y = f(xl);
  SNN_CHECK(y.shape() == x.shape(), "log_norm2_estimate: f must map states to states of the same shape, got ",
            shape_str(x.shape()), " -> ", shape_str(y.shape()));
  const Var u(Tensor::zeros(y.shape(), y.dtype()), true);
  GradOptions record;
  record.create_graph = true;
  const Var jt_u = grad({y}, {xl}, {u}, record)[0];
  GradOptions keep;
  keep.retain_graph = true;
  const auto symmetric_part_times = [&](const Tensor& v) {  // S v = (J v + Jᵀ v) / 2
    const Tensor jv = grad({jt_u}, {u}, {Var(v)}, keep)[0].value();  // J v = d/du <Jᵀu, v>
    const Tensor jtv = grad({y}, {xl}, {Var(v)}, keep)[0].value();   // Jᵀ v
    NoGrad no_grad;
    return ((Var(jv) + Var(jtv)) * 0.5).value();
  };
  Generator gen(o.seed);
  Tensor v = normalise_samples(gen.normal(x.shape(), 0.0, 1.0, x.dtype()));
  if (o.method == LogNormOptions::Method::kPower) {
    for (int it = 0; it < o.iterations; ++it) {
      const Tensor sv = symmetric_part_times(v);
      NoGrad no_grad;
      v = normalise_samples((Var(sv) + Var(v) * o.shift).value());
    }
  } else {
    v = lanczos_top_vector(symmetric_part_times, v, o.iterations);
  }
  // vᵀ S v = vᵀ Jᵀ v, recorded so that its gradient reaches the parameters.
  const Var jtv = grad({y}, {xl}, {Var(v)}, record)[0];
  return sum(jtv * Var(v), sample_axes(x.dim()));
}

Var log_norm_penalty(const Var& mu, double rho) { return mean(relu(mu + rho)); }

double field_norm_bound(const ConvContractiveField& field) {
  const Tensor a = abs(field.weight.value());
  const double rows = stablenn::amax(sum(a, {1, 2, 3})).item();  // ‖K‖∞ <= max_c Σ_{c',taps} |K|
  const double cols = stablenn::amax(sum(a, {0, 2, 3})).item();  // ‖K‖₁ <= max_c' Σ_{c,taps} |K|
  return field.sigma.slopes().max * std::sqrt(rows * cols);
}

// ---- weight-based ----

DominanceSums dense_dominance(const Var& w) {
  SNN_CHECK(w.dim() == 2 && w.size(0) == w.size(1), "dense_dominance: expected a square weight [n, n], got ",
            shape_str(w.shape()));
  const Var eye(Tensor::eye(w.size(0), w.dtype()));
  DominanceSums s;
  s.diagonal = sum(w * eye, {1});
  const Var a = abs(w), abs_diag = abs(s.diagonal);
  s.row_off = sum(a, {1}) - abs_diag;
  s.col_off = sum(a, {0}) - abs_diag;
  return s;
}

DominanceSums conv_dominance(const Var& k) {
  SNN_CHECK(k.dim() == 4 && k.size(0) == k.size(1) && k.size(2) == k.size(3) && k.size(2) % 2 == 1,
            "conv_dominance: expected a kernel [C, C, k, k] with k odd, got ", shape_str(k.shape()));
  const int64_t m = k.size(2) / 2;
  // Row (c, p) of the convolution matrix holds K[c, c', ·, ·] for every input channel c' and tap; its
  // diagonal entry is the centre tap of channel c on itself. Column (c', q) holds K[·, c', ·, ·].
  const Var centre = select(select(k, 3, m), 2, m);  // [C, C]
  const Var eye(Tensor::eye(k.size(0), k.dtype()));
  DominanceSums s;
  s.diagonal = sum(centre * eye, {1});
  const Var a = abs(k), abs_diag = abs(s.diagonal);
  s.row_off = sum(a, {1, 2, 3}) - abs_diag;
  s.col_off = sum(a, {0, 2, 3}) - abs_diag;
  return s;
}

Var weight_condition(const DominanceSums& s, const SlopeBounds& slopes) {
  SNN_CHECK(slopes.min > 0 && slopes.max >= slopes.min, "weight_condition: needs slopes 0 < a <= b, got [",
            slopes.min, ", ", slopes.max, "]");
  const Var centre = s.diagonal + s.row_off * 0.5;
  // max over d in [a, b] of d·s is a·s for s < 0 and b·s for s >= 0.
  const Var phi = relu(centre) * slopes.max - relu(-centre) * slopes.min;
  return phi + s.col_off * (0.5 * slopes.max);
}

Var weight_penalty(const Var& gamma, double rho) { return sum(relu(gamma + rho)); }

double enforce_weight_condition(ConvContractiveField& field, double rho, double margin) {
  const SlopeBounds& sb = field.sigma.slopes();
  NoGrad no_grad;
  const DominanceSums s = conv_dominance(field.weight);
  const std::vector<double> row = s.row_off.value().to_vector(), col = s.col_off.value().to_vector();
  const std::vector<double> diag = s.diagonal.value().to_vector();
  Tensor w = field.weight.value().to(DType::Float64).contiguous();
  const int64_t c_count = field.channels, k = field.kernel, m = k / 2;
  double largest = 0;
  for (int64_t c = 0; c < c_count; ++c) {
    // γ_c <= t needs φ(s_c) <= t − ½ b col_c < 0, i.e. s_c = K_cc + ½ row_c <= (t − ½ b col_c) / a.
    const double target = (-rho - margin - 0.5 * sb.max * col[c]) / sb.min;
    const double new_diag = target - 0.5 * row[c];
    if (diag[c] > new_diag) {
      largest = std::max(largest, diag[c] - new_diag);
      w.data<double>()[((c * c_count + c) * k + m) * k + m] = new_diag;
    }
  }
  if (largest > 0) field.weight.mutable_value().copy_(w.to(field.weight.dtype()));
  return largest;
}

}  // namespace stablenn
