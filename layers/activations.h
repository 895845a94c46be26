// layers/activations.h — activation functions as modules (chapter 3).
#pragma once
#include <functional>
#include <optional>
#include <string>

#include "layers/module.h"

namespace stablenn {

// Chapter 3 (the bounds are used from chapter 7 on): the slopes of an element-wise σ, a <= σ' <= b.
// For every u, v and component i, σ(u_i) − σ(v_i) = d_i (u_i − v_i) with d_i in [a, b]: the bounds of
// the stable blocks rest on that one fact. a >= 0 means σ is non-decreasing (the gradient step of
// chapter 7 needs it: x − hAᵀσ(Ax + b) is a gradient step of a convex function only then).
struct SlopeBounds {
  double min;  // a = inf σ' (negative: σ is not monotone)
  double max;  // b = sup σ'
};

// Chapter 3: a parameter-free element-wise (or, for GroupSort, group-wise) function as a module,
// together with the constants the stability analysis of chapters 6, 7 and 9 needs. The one
// constructor takes them all, with no defaults, so an activation without its Lipschitz constant does
// not compile; robust/lipschitz.cpp and the stable blocks read them from here.
class Activation : public Module {
 public:
  // lipschitz: an upper bound of Lip(σ) in ℓ2 (>= max(|a|, |b|) when element-wise).
  // slopes: [a, b] for an element-wise σ; std::nullopt for one that is not element-wise (GroupSort
  // permutes within groups, so no per-component slope exists).
  Activation(std::string name, std::function<Var(const Var&)> fn, double lipschitz,
             std::optional<SlopeBounds> slopes);

  Var forward(const Var& x) override { return fn_(x); }
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override { return name_; }
  // σ(x) as a plain function, for the blocks that hold σ in their options (not a child module, so
  // summaries do not list it).
  Var apply(const Var& x) const { return fn_(x); }

  const std::string& name() const { return name_; }
  double lipschitz() const { return lipschitz_; }
  bool elementwise() const { return slopes_.has_value(); }
  // [a, b]; throws, naming the activation, when it is not element-wise.
  const SlopeBounds& slopes() const;

  // Chapter 7: the activations as values, for the options of the stable blocks.
  static Activation relu();                   // slopes [0, 1]
  static Activation leaky_relu(double slope);  // slopes [min(s, 1), max(s, 1)], Lip max(1, |s|)
  static Activation tanh();                   // slopes (0, 1]
  static Activation sigmoid();                // slopes (0, 1/4], Lip 1/4
  static Activation softplus();               // slopes (0, 1)
  static Activation elu(double alpha);        // slopes [min(0, α), max(1, α)], Lip max(1, |α|)
  static Activation group_sort(int64_t group_size);  // Lip 1, not element-wise
  static Activation identity();               // slope 1 (linear blocks, tests)
  // Chapter 10: σ(s) = αs + (1 − α)·log(1 + eˢ), α in (0, 1): σ' = α + (1 − α)·sigmoid(s), so the
  // slopes lie in [α, 1] with a = α > 0 — strictly increasing, what the contraction conditions need.
  static Activation slope_restricted(double alpha);

 private:
  std::string name_;
  std::function<Var(const Var&)> fn_;
  double lipschitz_;
  std::optional<SlopeBounds> slopes_;
};

// Chapter 3: the activations as modules (the values above, shared), each with Lipschitz constant 1
// except where noted.
std::shared_ptr<Activation> ReLU();
std::shared_ptr<Activation> LeakyReLU(double slope = 0.01);  // Lipschitz max(1, |slope|)
std::shared_ptr<Activation> Tanh();
std::shared_ptr<Activation> Sigmoid();  // Lipschitz 1/4
std::shared_ptr<Activation> Softplus();
std::shared_ptr<Activation> ELU(double alpha = 1.0);  // Lipschitz max(1, |alpha|)
// Chapter 10: αs + (1 − α)·softplus(s), slopes [α, 1].
std::shared_ptr<Activation> SlopeRestricted(double alpha = 0.5);
// GroupSort along the channel/feature axis 1 (MaxMin when group_size = 2): a norm-preserving
// permutation, the activation of the 1-Lipschitz networks of chapter 7.
std::shared_ptr<Activation> GroupSort(int64_t group_size = 2);

// Chapter 3: reshapes [N, ...] to [N, rest].
class Flatten : public Module {
 public:
  Var forward(const Var& x) override { return flatten(x, 1); }
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override { return "Flatten"; }
};

// Chapter 3: pooling layers.  x: [N, C, H, W] -> [N, C, Ho, Wo].
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(int64_t kernel, int64_t stride = 0, int64_t padding = 0)
      : kernel(kernel), stride(stride ? stride : kernel), padding(padding) {}
  Var forward(const Var& x) override { return avg_pool2d(x, kernel, stride, padding); }
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override;
  int64_t kernel, stride, padding;
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(int64_t kernel, int64_t stride = 0, int64_t padding = 0)
      : kernel(kernel), stride(stride ? stride : kernel), padding(padding) {}
  Var forward(const Var& x) override { return max_pool2d(x, kernel, stride, padding); }
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override;
  int64_t kernel, stride, padding;
};

// Chapter 3: mean over the spatial axes.  x: [N, C, H, W] -> [N, C].
class GlobalAvgPool2d : public Module {
 public:
  Var forward(const Var& x) override;
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override { return "GlobalAvgPool2d"; }
};

}  // namespace stablenn
