// layers/stable/norm_layers.cpp — normalised lift/head layers, scaled pooling, input normalisation
// (chapter 7).
#include "layers/stable/norm_layers.h"

#include <algorithm>
#include <cmath>

#include "layers/init.h"

namespace stablenn {

namespace {

// The divisor for a norm σ under a scaling rule.
double scale_for(double sigma, NormScaling scaling) {
  if (scaling == NormScaling::kExactlyOne) {
    SNN_CHECK(sigma > 0, "spectral normalisation: the weight is zero, cannot scale it to norm 1");
    return sigma;
  }
  return std::max(1.0, sigma);
}

// Evaluation: y·m with m = 1/scale rounded down in y's dtype (reciprocal_rounded_down), so the
// computed map never exceeds the norm its bound reports.
Var scale_for_evaluation(const Var& y, double scale) {
  if (scale == 1.0) return y;
  return mul(y, reciprocal_rounded_down(scale, y.dtype()));
}

// The bound of the evaluation-mode map W·m for σ̄ >= σ_max(W): σ̄·m, which is <= 1 since m <= 1/σ̄
// whenever the layer divides (its scale is σ̄ itself).
double bound_of_normalised(double upper, NormScaling scaling, DType dtype) {
  const double scale = scale_for(upper, scaling);
  return scale == 1.0 ? upper : upper * reciprocal_rounded_down(scale, dtype);
}

// y divided by the layer's norm: in training by σ = ‖A u‖ after one warm-started iteration moves u
// (a Var, so the gradient flows through σ), in evaluation by the stored upper bound. Stores the
// divisor in last_scale. The shards of a data-parallel step, or batches evaluated side by side,
// share the norm state (layers/module.h).
Var normalised(const Var& y, const LinearOperator& A, SpectralNormEstimator& norm, bool training,
               NormScaling scaling, double& last_scale) {
  std::unique_lock<std::mutex> lock(training_state_mutex());
  if (!training) {
    const double scale = last_scale = scale_for(norm.upper_bound(A), scaling);
    lock.unlock();
    return scale_for_evaluation(y, scale);
  }
  norm.estimate(A, true);
  const Var sigma = norm_of_image(A, norm.vector());
  last_scale = scale_for(sigma.item(), scaling);
  lock.unlock();
  const bool divide = scaling == NormScaling::kExactlyOne || sigma.item() > 1.0;
  return divide ? div(y, sigma) : y;
}

const char* scaling_text(NormScaling scaling) {
  return scaling == NormScaling::kExactlyOne ? "norm = 1" : "norm <= 1";
}

}  // namespace

// ---- SpectralNormLinear ----

SpectralNormLinear::SpectralNormLinear(int64_t in, int64_t out, bool has_bias, NormScaling scaling_,
                                       PowerIterationSchedule schedule, Generator& g, DType dtype)
    : in_features(in), out_features(out), scaling(scaling_) {
  SNN_CHECK(in > 0 && out > 0, "SpectralNormLinear: sizes must be positive, got ", in, " -> ", out);
  weight = register_parameter("weight", kaiming_uniform({out, in}, g, std::sqrt(5.0), dtype));
  if (has_bias) {
    const double bound = 1 / std::sqrt(double(in));
    bias = register_parameter("bias", g.uniform({out}, -bound, bound, dtype));
  }
  Tensor u = register_buffer("power_u", random_unit_vector({in}, g, dtype));
  Tensor eval_norm = register_buffer("eval_norm", SpectralNormEstimator::fresh_eval_norm());
  Tensor eval_key = register_buffer("eval_norm_key", SpectralNormEstimator::fresh_eval_key());
  norm_ = SpectralNormEstimator(op(), u, eval_norm, eval_key, schedule);
}

Var SpectralNormLinear::forward(const Var& x) {
  // x: [N, in] -> [N, out]
  SNN_CHECK(x.dim() == 2 && x.size(1) == in_features, describe(), ": expected input [N, ",
            in_features, "], got ", shape_str(x.shape()));
  const LinearOperator A = op();
  Var y = linear(x, weight, Var());
  y = normalised(y, A, norm_, training(), scaling, last_scale_);
  return bias.defined() ? add(y, bias) : y;
}

std::string SpectralNormLinear::describe() const {
  return "SpectralNormLinear(" + std::to_string(in_features) + " -> " +
         std::to_string(out_features) + ", " + scaling_text(scaling) + ")";
}

double SpectralNormLinear::lipschitz_bound() {
  return bound_of_normalised(norm_.upper_bound(op()), scaling, weight.dtype());
}

// ---- SpectralNormConv2d ----

SpectralNormConv2d::SpectralNormConv2d(int64_t in, int64_t out, int64_t k, int64_t h, int64_t w,
                                       int64_t s, int64_t p, bool has_bias, NormScaling scaling_,
                                       PowerIterationSchedule schedule, Generator& g, DType dtype)
    : in_channels(in), out_channels(out), kernel(k), height(h), width(w), stride(s),
      padding(p < 0 ? k / 2 : p), scaling(scaling_) {
  SNN_CHECK(in > 0 && out > 0 && k > 0 && h > 0 && w > 0 && s > 0,
            "SpectralNormConv2d: invalid arguments (in ", in, ", out ", out, ", kernel ", k,
            ", input ", h, "x", w, ", stride ", s, ")");
  weight = register_parameter("weight", kaiming_uniform({out, in, k, k}, g, std::sqrt(5.0), dtype));
  if (has_bias) {
    const double bound = 1 / std::sqrt(double(in * k * k));
    bias = register_parameter("bias", g.uniform({out}, -bound, bound, dtype));
  }
  Tensor u = register_buffer("power_u", random_unit_vector({in, h, w}, g, dtype));
  Tensor eval_norm = register_buffer("eval_norm", SpectralNormEstimator::fresh_eval_norm());
  Tensor eval_key = register_buffer("eval_norm_key", SpectralNormEstimator::fresh_eval_key());
  norm_ = SpectralNormEstimator(op(), u, eval_norm, eval_key, schedule);
}

LinearOperator SpectralNormConv2d::op() const {
  return LinearOperator::convolution(weight, stride, padding, height, width);
}

Var SpectralNormConv2d::forward(const Var& x) {
  // x: [N, C, H, W] -> [N, O, Ho, Wo]
  const LinearOperator A = op();
  SNN_CHECK(x.dim() == 4 && x.size(1) == in_channels && x.size(2) == height && x.size(3) == width,
            describe(), ": expected input [N, ", in_channels, ", ", height, ", ", width, "], got ",
            shape_str(x.shape()), " (the power iteration runs at the input size given at construction)");
  Var y = A.apply(x);
  y = normalised(y, A, norm_, training(), scaling, last_scale_);
  return bias.defined() ? add(y, reshape(bias, {1, out_channels, 1, 1})) : y;
}

std::string SpectralNormConv2d::describe() const {
  return "SpectralNormConv2d(" + std::to_string(in_channels) + " -> " +
         std::to_string(out_channels) + ", " + std::to_string(kernel) + "x" +
         std::to_string(kernel) + ", stride " + std::to_string(stride) + ", at " +
         std::to_string(height) + "x" + std::to_string(width) + ", " + scaling_text(scaling) + ")";
}

double SpectralNormConv2d::lipschitz_bound() {
  return bound_of_normalised(norm_.upper_bound(op()), scaling, weight.dtype());
}

// ---- InputNormalization ----

InputNormalization::InputNormalization(std::vector<double> mean_, std::vector<double> std_)
    : mean(std::move(mean_)), std(std::move(std_)) {
  SNN_CHECK(!mean.empty() && mean.size() == std.size(), "InputNormalization: mean and std must be ",
            "non-empty and of the same length, got ", mean.size(), " and ", std.size());
  for (double s : std)
    SNN_CHECK(s > 0 && std::isfinite(s), "InputNormalization: every std must be positive, got ", s);
}

Var InputNormalization::forward(const Var& x) {
  // x: [N, C, ...] -> same
  const int64_t c = static_cast<int64_t>(mean.size());
  SNN_CHECK(x.dim() >= 2 && x.size(1) == c, describe(), ": expected input [N, ", c, ", ...], got ",
            shape_str(x.shape()));
  Shape shape(x.dim(), 1);
  shape[1] = c;
  std::vector<double> inv(std.size());
  for (size_t i = 0; i < std.size(); ++i) inv[i] = 1.0 / std[i];
  const Tensor m = Tensor::from_vector(mean, shape, x.dtype());
  const Tensor s = Tensor::from_vector(inv, shape, x.dtype());
  return mul(sub(x, Var(m)), Var(s));
}

std::string InputNormalization::describe() const {
  return "InputNormalization(" + std::to_string(mean.size()) + " channels)";
}

double InputNormalization::lipschitz_bound() {
  return 1.0 / *std::min_element(std.begin(), std.end());
}

// ---- scaled pooling ----

ScaledAvgPool2d::ScaledAvgPool2d(int64_t kernel_) : kernel(kernel_) {
  SNN_CHECK(kernel > 0, "ScaledAvgPool2d: kernel must be positive, got ", kernel);
}

Var ScaledAvgPool2d::forward(const Var& x) {
  // x: [N, C, H, W] -> [N, C, H/k, W/k]
  SNN_CHECK(x.dim() == 4, describe(), ": expected [N, C, H, W], got ", shape_str(x.shape()));
  return mul(avg_pool2d(x, kernel, kernel), double(kernel));
}

std::string ScaledAvgPool2d::describe() const {
  return "ScaledAvgPool2d(" + std::to_string(kernel) + ")";
}

Var ScaledGlobalAvgPool2d::forward(const Var& x) {
  // x: [N, C, H, W] -> [N, C]
  SNN_CHECK(x.dim() == 4, describe(), ": expected [N, C, H, W], got ", shape_str(x.shape()));
  return mul(sum(x, {2, 3}), 1.0 / std::sqrt(double(x.size(2) * x.size(3))));
}

}  // namespace stablenn
