// layers/stable/switching_blocks.cpp — contractive/expansive switching (chapter 9).
#include "layers/stable/switching_blocks.h"

#include <algorithm>
#include <cmath>

#include "layers/init.h"

namespace stablenn {

double contractive_factor(double h, double a) {
  SNN_CHECK(h >= 0 && a >= 0 && a <= 1, "contractive_factor: need h >= 0 and a in [0, 1], got h = ", h,
            ", a = ", a);
  return std::sqrt(std::max(0.0, 1.0 - 2.0 * a * h + h * h));
}

double prescribed_expansive_step(double h_c) {
  SNN_CHECK(h_c >= 0.3 - 1e-12 && h_c <= 1.0 + 1e-12,
            "prescribed_expansive_step: the prescribed scheme takes h_c in [0.3, 1], got ", h_c);
  const double root = std::sqrt(h_c * h_c - 2.0 * h_c + 4.0);
  return (4.0 - 2.0 * root) / root;
}

double max_expansive_step(double h_c, double a, int64_t substeps) {
  SNN_CHECK(substeps >= 1, "max_expansive_step: substeps must be >= 1, got ", substeps);
  const double c = contractive_factor(h_c / double(substeps), a);
  SNN_CHECK(c > 0, "max_expansive_step: the contractive step collapses (c = 0)");
  return double(substeps) * (1.0 / c - 1.0);
}

namespace {

double logit(double p) { return std::log(p / (1.0 - p)); }

// A kernel or matrix that starts as an isometry (scaled into the dtype).
Tensor isometric_init(const MapGeometry& geometry, Generator& g, DType dtype) {
  if (geometry.conv) return delta_orthogonal(geometry.weight_shape(), g, 1.0, dtype);
  return orthogonal(geometry.out, geometry.in, g, 1.0, dtype);
}

// 1 / max(1, σ): a Var with a gradient through σ = ‖A u‖ in training; in evaluation the constant
// 1/max(1, σ̄) rounded down in the dtype, σ̄ the stored upper bound (so ‖A‖·m <= 1 exactly).
Var inverse_scale(const LinearOperator& A, SpectralNormEstimator& norm, bool training, DType dtype) {
  // The shards of a data-parallel step, or batches evaluated side by side, share the norm state
  // (layers/module.h).
  std::unique_lock<std::mutex> lock(training_state_mutex());
  if (training) {
    norm.estimate(A, true);
    const Var sigma = norm_of_image(A, norm.vector());
    lock.unlock();
    if (sigma.item() > 1.0) return reciprocal(sigma);
    return Var(Tensor::scalar(1.0, dtype));
  }
  const double upper = norm.upper_bound(A);
  lock.unlock();
  return Var(Tensor::scalar(reciprocal_rounded_down(std::max(1.0, upper), dtype), dtype));
}



Var add_bias(const Var& y, const Var& bias, bool conv) {
  if (!bias.defined()) return y;
  return conv ? add(y, reshape(bias, {1, bias.size(0), 1, 1})) : add(y, bias);
}

}  // namespace

SwitchingPair::SwitchingPair(const MapGeometry& geometry_, SwitchingOptions options_, Generator& g,
                             DType dtype)
    : geometry(geometry_), options(std::move(options_)) {
  SNN_CHECK(geometry.in == geometry.out, "SwitchingPair: the maps must be square (C -> C), got ",
            geometry.str());
  SNN_CHECK(options.substeps >= 1, "SwitchingPair: substeps must be >= 1, got ", options.substeps);
  SNN_CHECK(options.min_slope > 0 && options.min_slope <= 1, "SwitchingPair: the contractive slope a ",
            "must be in (0, 1], got ", options.min_slope);
  SNN_CHECK(options.min_step > 0 && options.min_step < options.max_step &&
                options.contractive_step > 0,
            "SwitchingPair: need 0 < min_step < max_step and a positive contractive step");
  weight_c = register_parameter("weight_c", isometric_init(geometry, g, dtype));
  weight_e = register_parameter("weight_e", isometric_init(geometry, g, dtype));
  if (options.bias) {
    bias_c = register_parameter("bias_c", Tensor::zeros({geometry.out}, dtype));
    bias_e = register_parameter("bias_e", Tensor::zeros({geometry.out}, dtype));
  }
  if (options.mode == SwitchingMode::kFlexible) {
    const double p = (options.contractive_step - options.min_step) / (options.max_step - options.min_step);
    SNN_CHECK(p > 0 && p < 1, "SwitchingPair: the starting h_c must lie inside (min_step, max_step)");
    SNN_CHECK(options.initial_fraction > 0 && options.initial_fraction < 1,
              "SwitchingPair: initial_fraction must be in (0, 1)");
    raw_contractive = register_parameter("raw_contractive", Tensor::scalar(logit(p), dtype));
    raw_fraction = register_parameter("raw_fraction", Tensor::scalar(logit(options.initial_fraction), dtype));
  }
  for (const char* map : {"c", "e"}) {
    const std::string suffix = std::string("_") + map;
    Tensor u = register_buffer("power_u" + suffix, random_unit_vector(geometry.sample_shape(), g, dtype));
    Tensor norm = register_buffer("eval_norm" + suffix, SpectralNormEstimator::fresh_eval_norm());
    Tensor key = register_buffer("eval_norm_key" + suffix, SpectralNormEstimator::fresh_eval_key());
    (map[0] == 'c' ? norm_c_ : norm_e_) =
        SpectralNormEstimator(map[0] == 'c' ? op_c() : op_e(), u, norm, key, options.power);
  }
}

void SwitchingPair::steps(Var& h_c, Var& h_e) const {
  const DType dtype = weight_c.dtype();
  const double s = double(options.substeps), a = options.min_slope;
  if (options.mode == SwitchingMode::kPrescribed) {
    h_c = Var(Tensor::scalar(options.contractive_step, dtype));
    h_e = Var(Tensor::scalar(max_expansive_step(options.contractive_step, a, options.substeps), dtype));
    return;
  }
  h_c = add(mul(sigmoid(raw_contractive), options.max_step - options.min_step), options.min_step);
  const Var tau = div(h_c, s);
  const Var c = sqrt(add(sub(1.0, mul(tau, 2.0 * a)), square(tau)));  // c(h_c/S)
  h_e = mul(sigmoid(raw_fraction), mul(sub(reciprocal(c), 1.0), s));  // θ·S(1/c − 1)
}

double SwitchingPair::contractive_step() const {
  Var h_c, h_e;
  steps(h_c, h_e);
  return h_c.item();
}

double SwitchingPair::expansive_step() const {
  Var h_c, h_e;
  steps(h_c, h_e);
  return h_e.item();
}

Var SwitchingPair::forward(const Var& x) {
  // x: [N, ...sample] -> same
  const Shape sample = geometry.sample_shape();
  bool ok = x.dim() == static_cast<int64_t>(sample.size()) + 1;
  for (size_t i = 0; ok && i < sample.size(); ++i) ok = x.size(i + 1) == sample[i];
  SNN_CHECK(ok, describe(), ": expected input [N, ", shape_str(sample).substr(1), ", got ", shape_str(x.shape()));
  const LinearOperator Ac = op_c(), Ae = op_e();
  const Var inv_c = inverse_scale(Ac, norm_c_, training(), x.dtype());
  const Var inv_e = inverse_scale(Ae, norm_e_, training(), x.dtype());
  Var h_c, h_e;
  steps(h_c, h_e);
  const double s = double(options.substeps);
  const Var tau_c = div(h_c, s), tau_e = div(h_e, s);
  const double a = options.min_slope;
  Var y = x;
  for (int64_t k = 0; k < options.substeps; ++k) {
    // contractive: y − τ_c A'ᵀσ_a(A'y + b_c), A' = A_c / max(1, ‖A_c‖)
    const Var pre_c = add_bias(mul(Ac.apply(y), inv_c), bias_c, geometry.conv);
    y = sub(y, mul(mul(Ac.adjoint(leaky_relu(pre_c, a)), inv_c), tau_c));
    // expansive: y + τ_e σ(A''y + b_e), A'' = A_e / max(1, ‖A_e‖)
    const Var pre_e = add_bias(mul(Ae.apply(y), inv_e), bias_e, geometry.conv);
    y = add(y, mul(options.expansive_activation.apply(pre_e), tau_e));
  }
  return y;
}

std::string SwitchingPair::describe() const {
  return std::string(options.mode == SwitchingMode::kPrescribed ? "PrescribedSwitching(" : "FlexibleSwitching(") +
         geometry.str() + ", S " + std::to_string(options.substeps) + ")";
}

double SwitchingPair::lipschitz_bound() {
  // The evaluation-mode maps are A·m with m = 1/max(1, σ̄) rounded down (inverse_scale).
  const LinearOperator Ac = op_c(), Ae = op_e();
  const double upper_c = norm_c_.upper_bound(Ac), upper_e = norm_e_.upper_bound(Ae);
  const DType dtype = weight_c.dtype();
  const double m_c = reciprocal_rounded_down(std::max(1.0, upper_c), dtype);
  const double m_e = reciprocal_rounded_down(std::max(1.0, upper_e), dtype);
  const double top_c = upper_c * m_c, top_e = upper_e * m_e;
  double bottom_c = 0;  // a lower bound of σ_min(A_c·m_c): SVD where affordable, else 0
  if (!geometry.conv || Ac.input_numel() * Ac.output_numel() <= 300'000) {
    Generator g(0);
    // the SVD's σ_min may sit a rounding error (a small multiple of 1e-16·σ_max) above the truth
    bottom_c = std::max(0.0, smallest_singular_value(Ac, g) - 1e-12 * upper_c) * m_c;
  }
  const double s = double(options.substeps), a = options.min_slope;
  const double tau_c = contractive_step() / s, tau_e = expansive_step() / s;
  const double c = std::max(std::abs(1.0 - tau_c * a * bottom_c * bottom_c), std::abs(1.0 - tau_c * top_c * top_c));
  const double e = 1.0 + tau_e * options.expansive_activation.lipschitz() * top_e;
  return std::pow(c * e, s);
}

Var SwitchingPair::orthogonality_penalty() const {
  const Var& w = weight_c;
  if (!geometry.conv) {
    const bool tall = w.size(0) >= w.size(1);
    const Var gram = tall ? matmul(t(w), w) : matmul(w, t(w));
    const int64_t n = gram.size(0);
    return sum(square(sub(gram, Var(Tensor::eye(n, w.dtype())))));
  }
  const int64_t k = geometry.kernel, o = geometry.out;
  const Var auto_correlation = conv2d(w, w, Var(), 1, k - 1);  // [O, O, 2k−1, 2k−1]
  Tensor target = Tensor::zeros({o, o, 2 * k - 1, 2 * k - 1}, w.dtype());
  for (int64_t i = 0; i < o; ++i) target.set({i, i, k - 1, k - 1}, 1.0);
  return sum(square(sub(auto_correlation, Var(target))));
}

Var total_orthogonality_penalty(const Module& module) {
  Var total;
  if (auto* pair = dynamic_cast<const SwitchingPair*>(&module)) total = pair->orthogonality_penalty();
  for (const auto& child : module.children()) {
    const Var part = total_orthogonality_penalty(*child.second);
    if (part.defined()) total = total.defined() ? add(total, part) : part;
  }
  return total;
}

}  // namespace stablenn
