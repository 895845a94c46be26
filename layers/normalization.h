// layers/normalization.h — Dropout and BatchNorm, for the unconstrained baselines (chapter 3).
#pragma once
#include "layers/module.h"

namespace stablenn {

// Chapter 3: in training, zeroes each element with probability p and scales the rest by 1/(1-p);
// the identity in evaluation mode.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator& g = default_generator());
  Var forward(const Var& x) override;
  std::string describe() const override { return "Dropout(" + std::to_string(p) + ")"; }
  double p;

 private:
  Generator* generator_;
};

// Chapter 3: batch normalisation over all axes but the channel axis 1 (works for [N, C] and
// [N, C, H, W]). Training uses the batch statistics (biased variance) and updates the running ones
// (unbiased variance, momentum as in PyTorch); evaluation uses the running statistics.
class BatchNorm : public Module {
 public:
  explicit BatchNorm(int64_t channels, double momentum = 0.1, double eps = 1e-5,
                     DType dtype = DType::Float32);
  Var forward(const Var& x) override;
  std::string describe() const override { return "BatchNorm(" + std::to_string(channels) + ")"; }
  Var weight, bias;
  Tensor running_mean, running_var;
  int64_t channels;
  double momentum, eps;

};

}  // namespace stablenn
