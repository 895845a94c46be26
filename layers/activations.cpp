// layers/activations.cpp — activation and pooling modules (chapter 3).
#include "layers/activations.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace stablenn {

namespace {
// "0.1", not std::to_string's "0.100000": the number as a reader would write it.
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
}  // namespace

Activation::Activation(std::string name, std::function<Var(const Var&)> fn, double lipschitz,
                       std::optional<SlopeBounds> slopes)
    : name_(std::move(name)), fn_(std::move(fn)), lipschitz_(lipschitz), slopes_(slopes) {
  SNN_CHECK(fn_, "Activation '", name_, "': no function given");
  SNN_CHECK(std::isfinite(lipschitz_) && lipschitz_ >= 0, "Activation '", name_,
            "': the Lipschitz constant must be finite and >= 0, got ", lipschitz_);
  if (slopes_) {
    SNN_CHECK(slopes_->min <= slopes_->max, "Activation '", name_, "': slope bounds [", slopes_->min,
              ", ", slopes_->max, "] are not an interval");
    // |σ(u) − σ(v)| <= max(|a|, |b|)|u − v| is attained near a point of largest slope.
    SNN_CHECK(lipschitz_ >= std::max(std::abs(slopes_->min), std::abs(slopes_->max)),
              "Activation '", name_, "': Lipschitz constant ", lipschitz_,
              " is below the largest slope magnitude of [", slopes_->min, ", ", slopes_->max, "]");
  }
}

const SlopeBounds& Activation::slopes() const {
  SNN_CHECK(slopes_.has_value(), "Activation '", name_,
            "' is not element-wise: it has no slope bounds");
  return *slopes_;
}

Activation Activation::relu() {
  return {"ReLU", [](const Var& x) { return stablenn::relu(x); }, 1.0, SlopeBounds{0.0, 1.0}};
}
Activation Activation::leaky_relu(double slope) {
  return {"LeakyReLU(" + number(slope) + ")",
          [slope](const Var& x) { return stablenn::leaky_relu(x, slope); },
          std::max(1.0, std::abs(slope)), SlopeBounds{std::min(slope, 1.0), std::max(slope, 1.0)}};
}
Activation Activation::tanh() {
  return {"Tanh", [](const Var& x) { return stablenn::tanh(x); }, 1.0, SlopeBounds{0.0, 1.0}};
}
Activation Activation::sigmoid() {
  return {"Sigmoid", [](const Var& x) { return stablenn::sigmoid(x); }, 0.25, SlopeBounds{0.0, 0.25}};
}
Activation Activation::softplus() {
  return {"Softplus", [](const Var& x) { return stablenn::softplus(x); }, 1.0, SlopeBounds{0.0, 1.0}};
}
Activation Activation::elu(double alpha) {
  // σ'(x) = α eˣ on x < 0 (between 0 and α), 1 on x > 0.
  return {"ELU(" + number(alpha) + ")", [alpha](const Var& x) { return stablenn::elu(x, alpha); },
          std::max(1.0, std::abs(alpha)), SlopeBounds{std::min(0.0, alpha), std::max(1.0, alpha)}};
}
Activation Activation::slope_restricted(double alpha) {
  SNN_CHECK(alpha > 0 && alpha < 1, "slope-restricted activation: alpha must lie in (0, 1), got ",
            alpha);
  // One fused op whose backward (σ' times the gradient) is itself differentiable, so the Jacobian
  // regulariser of chapter 10 can differentiate through σ' as well.
  return {"SlopeRestricted(" + number(alpha) + ")",
          [alpha](const Var& x) { return stablenn::slope_restricted(x, alpha); }, 1.0,
          SlopeBounds{alpha, 1.0}};
}
Activation Activation::group_sort(int64_t group_size) {
  SNN_CHECK(group_size >= 2, "GroupSort: group size must be >= 2, got ", group_size);
  // A permutation of each group: norm-preserving, so Lip 1, but no per-component slope.
  return {group_size == 2 ? "MaxMin" : "GroupSort(" + std::to_string(group_size) + ")",
          [group_size](const Var& x) { return stablenn::group_sort(x, group_size, 1); }, 1.0,
          std::nullopt};
}
Activation Activation::identity() {
  return {"identity", [](const Var& x) { return x; }, 1.0, SlopeBounds{1.0, 1.0}};
}

std::shared_ptr<Activation> ReLU() { return std::make_shared<Activation>(Activation::relu()); }
std::shared_ptr<Activation> LeakyReLU(double slope) {
  return std::make_shared<Activation>(Activation::leaky_relu(slope));
}
std::shared_ptr<Activation> Tanh() { return std::make_shared<Activation>(Activation::tanh()); }
std::shared_ptr<Activation> Sigmoid() { return std::make_shared<Activation>(Activation::sigmoid()); }
std::shared_ptr<Activation> Softplus() {
  return std::make_shared<Activation>(Activation::softplus());
}
std::shared_ptr<Activation> ELU(double alpha) {
  return std::make_shared<Activation>(Activation::elu(alpha));
}
std::shared_ptr<Activation> SlopeRestricted(double alpha) {
  return std::make_shared<Activation>(Activation::slope_restricted(alpha));
}
std::shared_ptr<Activation> GroupSort(int64_t group_size) {
  return std::make_shared<Activation>(Activation::group_sort(group_size));
}

std::string AvgPool2d::describe() const {
  return "AvgPool2d(" + std::to_string(kernel) + ", stride " + std::to_string(stride) + ")";
}
std::string MaxPool2d::describe() const {
  return "MaxPool2d(" + std::to_string(kernel) + ", stride " + std::to_string(stride) + ")";
}

Var GlobalAvgPool2d::forward(const Var& x) {
  SNN_CHECK(x.dim() == 4, "GlobalAvgPool2d: expected input [N, C, H, W], got ",
            shape_str(x.shape()));
  return mean(x, {2, 3});
}

}  // namespace stablenn
