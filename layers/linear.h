// layers/linear.h — dense and convolutional layers (chapter 3).
#pragma once
#include "layers/module.h"

namespace stablenn {

// Chapter 3: y = x W^T + b.  x: [N, in] -> y: [N, out]. W: [out, in] (PyTorch's layout, so
// checkpoints load there unchanged). Initialised as PyTorch does: Kaiming-uniform with
// slope sqrt(5) for W, uniform(-1/sqrt(in), 1/sqrt(in)) for b.
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true,
         Generator& g = default_generator(), DType dtype = DType::Float32);
  Var forward(const Var& x) override;
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override;
  Var weight, bias;  // bias undefined when constructed without
  int64_t in_features, out_features;
};

// Chapter 3: y = conv2d(x, W, b).  x: [N, C, H, W] -> y: [N, O, Ho, Wo]. W: [O, C, k, k].
class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1,
         int64_t padding = 0, bool bias = true, Generator& g = default_generator(),
         DType dtype = DType::Float32);
  Var forward(const Var& x) override;
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override;
  Var weight, bias;
  int64_t in_channels, out_channels, kernel, stride, padding;
};

}  // namespace stablenn
