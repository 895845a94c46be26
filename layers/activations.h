// layers/activations.h — activation functions as modules (chapter 3).
#pragma once
#include <functional>

#include "layers/module.h"

namespace stablenn {

// Chapter 3: a parameter-free element-wise (or, for GroupSort, group-wise) function as a module.
class Activation : public Module {
 public:
  Activation(std::string name, std::function<Var(const Var&)> fn)
      : name_(std::move(name)), fn_(std::move(fn)) {}
  Var forward(const Var& x) override { return fn_(x); }
  std::string describe() const override { return name_; }

 private:
  std::string name_;
  std::function<Var(const Var&)> fn_;
};

// Chapter 3: the activations, each with Lipschitz constant 1 except where noted.
std::shared_ptr<Activation> ReLU();
std::shared_ptr<Activation> LeakyReLU(double slope = 0.01);
std::shared_ptr<Activation> Tanh();
std::shared_ptr<Activation> Sigmoid();  // Lipschitz 1/4
std::shared_ptr<Activation> Softplus();
std::shared_ptr<Activation> ELU(double alpha = 1.0);  // Lipschitz max(1, alpha)
// GroupSort along the channel/feature axis 1 (MaxMin when group_size = 2): a norm-preserving
// permutation, the activation of the 1-Lipschitz networks of chapter 7.
std::shared_ptr<Activation> GroupSort(int64_t group_size = 2);

// Chapter 3: reshapes [N, ...] to [N, rest].
class Flatten : public Module {
 public:
  Var forward(const Var& x) override { return flatten(x, 1); }
  std::string describe() const override { return "Flatten"; }
};

// Chapter 3: pooling layers.  x: [N, C, H, W] -> [N, C, Ho, Wo].
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(int64_t kernel, int64_t stride = 0, int64_t padding = 0)
      : kernel(kernel), stride(stride ? stride : kernel), padding(padding) {}
  Var forward(const Var& x) override { return avg_pool2d(x, kernel, stride, padding); }
  std::string describe() const override;
  int64_t kernel, stride, padding;
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(int64_t kernel, int64_t stride = 0, int64_t padding = 0)
      : kernel(kernel), stride(stride ? stride : kernel), padding(padding) {}
  Var forward(const Var& x) override { return max_pool2d(x, kernel, stride, padding); }
  std::string describe() const override;
  int64_t kernel, stride, padding;
};

// Chapter 3: mean over the spatial axes.  x: [N, C, H, W] -> [N, C].
class GlobalAvgPool2d : public Module {
 public:
  Var forward(const Var& x) override;
  std::string describe() const override { return "GlobalAvgPool2d"; }
};

}  // namespace stablenn
