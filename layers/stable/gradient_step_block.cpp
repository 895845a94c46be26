// layers/stable/gradient_step_block.cpp — the non-expansive gradient-step block (chapter 7).
#include "layers/stable/gradient_step_block.h"

#include <cmath>
#include <limits>

#include "layers/init.h"

namespace stablenn {

int64_t adaptive_substeps(double time, double lipschitz, double norm, double radius) {
  SNN_CHECK(time > 0 && lipschitz > 0 && norm >= 0 && radius > 0 && std::isfinite(norm),
            "adaptive_substeps: need T > 0, Lip > 0, a finite norm >= 0 and r > 0; got T = ", time,
            ", Lip = ", lipschitz, ", norm = ", norm, ", r = ", radius);
  const double n = std::ceil(time * lipschitz * norm * norm / (2.0 * radius));
  SNN_CHECK(n < 1e7, "adaptive_substeps: ", n, " sub-steps (‖A‖ = ", norm,
            "): the weights have blown up; lower the learning rate");
  int64_t substeps = std::max<int64_t>(1, static_cast<int64_t>(n));
  // The rounded quotient above may land one below the true ceiling; then h·Lip·‖A‖², computed as
  // lipschitz_bound computes it, would exceed 2r by an ulp.
  while (time / double(substeps) * lipschitz * norm * norm > 2.0 * radius) ++substeps;
  return substeps;
}

GradientStepBlock::GradientStepBlock(const MapGeometry& geometry_, GradientStepOptions options_,
                                     Generator& g, DType dtype)
    : geometry(geometry_), options(std::move(options_)) {
  SNN_CHECK(options.activation.elementwise(), "GradientStepBlock: the activation '",
            options.activation.name(), "' must be element-wise (the step bounds rest on its slopes)");
  SNN_CHECK(options.activation.slopes().min >= 0, "GradientStepBlock: the activation '",
            options.activation.name(), "' must be non-decreasing (min slope >= 0) for the step to be ",
            "a gradient step of a convex function");
  SNN_CHECK(options.activation.lipschitz() > 0, "GradientStepBlock: activation Lipschitz constant ",
            "must be positive");
  SNN_CHECK(options.time > 0, "GradientStepBlock: the integration time T must be positive, got ",
            options.time);
  weight = register_parameter("weight", kaiming_uniform(geometry.weight_shape(), g, std::sqrt(5.0), dtype));
  if (options.bias) {
    const double bound = 1 / std::sqrt(double(geometry.fan_in()));
    bias = register_parameter("bias", g.uniform({geometry.out}, -bound, bound, dtype));
  }
  if (options.step_rule == StepRule::kLearnableClamped) {
    SNN_CHECK(options.initial_step > 0, "GradientStepBlock: initial_step must be positive");
    step = register_parameter("step", Tensor::scalar(options.initial_step, dtype));
  }
  Tensor u = register_buffer("power_u", random_unit_vector(geometry.sample_shape(), g, dtype));
  Tensor eval_norm = register_buffer("eval_norm", SpectralNormEstimator::fresh_eval_norm());
  Tensor eval_key = register_buffer("eval_norm_key", SpectralNormEstimator::fresh_eval_key());
  norm_ = SpectralNormEstimator(op(), u, eval_norm, eval_key, options.power);
}

GradientStepBlock::StepInfo GradientStepBlock::step_for(double norm) const {
  const double lip = options.activation.lipschitz();
  const double r = block_integrator_radius(options.integrator);
  StepInfo info;
  info.norm = norm;
  if (options.step_rule == StepRule::kAdaptive) {
    info.substeps = adaptive_substeps(options.time, lip, norm, r);
    info.step = options.time / double(info.substeps);
  } else {
    info.substeps = 1;
    info.step = std::min(std::max(step.item(), 0.0), max_clamped_step(norm));
  }
  return info;
}

double GradientStepBlock::max_clamped_step(double norm) const {
  const double lip = options.activation.lipschitz();
  const double r = block_integrator_radius(options.integrator);
  if (!(norm > 0)) return std::numeric_limits<double>::infinity();
  double h_max = 2.0 * r / (lip * norm * norm);
  // as in adaptive_substeps: h·Lip·‖A‖², computed as lipschitz_bound computes it, stays <= 2r
  while (h_max * lip * norm * norm > 2.0 * r) h_max = std::nextafter(h_max, 0.0);
  return h_max;
}

Var GradientStepBlock::integrate(const Var& x, int64_t substeps, double h, const Var& h_var) const {
  const LinearOperator A = op();
  const Activation& act = options.activation;
  // ∇V(x) = Aᵀσ(Ax + b)
  auto gradient = [&](const Var& y) { return A.adjoint(act.apply(A.apply(y, bias))); };
  const ButcherTableau& tableau = block_integrator_tableau(options.integrator);
  Var y = x;
  for (int64_t k = 0; k < substeps; ++k) y = rk_step_negative_field(tableau, gradient, y, h, h_var);
  return y;
}

Var GradientStepBlock::forward(const Var& x) {
  // x: [N, ...sample] -> [N, ...sample]
  const Shape sample = geometry.sample_shape();
  bool ok = x.dim() == static_cast<int64_t>(sample.size()) + 1;
  for (size_t i = 0; ok && i < sample.size(); ++i) ok = x.size(i + 1) == sample[i];
  SNN_CHECK(ok, describe(), ": expected input [N, ", shape_str(sample).substr(1), ", got ",
            shape_str(x.shape()));
  const LinearOperator A = op();
  StepInfo info;
  {  // shards of a data-parallel step, or batches evaluated side by side, share the norm state
    std::lock_guard<std::mutex> lock(training_state_mutex());
    info = last_ = step_for(norm_.estimate(A, training()));
  }
  Var h_var;
  if (options.step_rule == StepRule::kLearnableClamped)
    h_var = clamp(step, 0.0, std::min(max_clamped_step(info.norm), 1e30));
  return integrate(x, info.substeps, info.step, h_var);
}

std::string GradientStepBlock::describe() const {
  std::string s = "GradientStep(" + geometry.str() + ", " + options.activation.name() + ", " +
                  block_integrator_name(options.integrator);
  if (options.step_rule == StepRule::kAdaptive) {
    std::string t = std::to_string(options.time);
    s += ", T " + t.substr(0, t.find('.') + 3) + " adaptive)";
  } else {
    s += ", learnable clamped h)";
  }
  return s;
}

double GradientStepBlock::lipschitz_bound() {
  // The evaluation-mode step is chosen with σ̄ >= ‖A‖, and gradient_step_lipschitz is
  // non-decreasing in z, so z computed with σ̄ bounds the true step.
  const double sigma = norm_.upper_bound(op());
  const StepInfo info = step_for(sigma);
  const double z = info.step * options.activation.lipschitz() * sigma * sigma;
  return std::pow(gradient_step_lipschitz(options.integrator, z), double(info.substeps));
}

std::shared_ptr<GradientStepBlock> dense_gradient_step(int64_t features, int64_t hidden,
                                                       GradientStepOptions options, Generator& g,
                                                       DType dtype) {
  return std::make_shared<GradientStepBlock>(MapGeometry::dense(features, hidden), std::move(options),
                                             g, dtype);
}

std::shared_ptr<GradientStepBlock> conv_gradient_step(int64_t channels, int64_t hidden_channels,
                                                      int64_t height, int64_t width,
                                                      GradientStepOptions options, int64_t kernel,
                                                      Generator& g, DType dtype) {
  return std::make_shared<GradientStepBlock>(
      MapGeometry::convolution(channels, hidden_channels, height, width, kernel), std::move(options),
      g, dtype);
}

}  // namespace stablenn
