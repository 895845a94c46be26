// layers/linear.cpp — dense and convolutional layers (chapter 3).
#include "layers/linear.h"

#include <cmath>

#include "layers/init.h"

namespace stablenn {

Linear::Linear(int64_t in, int64_t out, bool has_bias, Generator& g, DType dtype)
    : in_features(in), out_features(out) {
  SNN_CHECK(in > 0 && out > 0, "Linear: sizes must be positive, got ", in, " -> ", out);
  weight = register_parameter("weight", kaiming_uniform({out, in}, g, std::sqrt(5.0), dtype));
  if (has_bias) {
    const double bound = 1 / std::sqrt(double(in));
    bias = register_parameter("bias", g.uniform({out}, -bound, bound, dtype));
  }
}

Var Linear::forward(const Var& x) {
  SNN_CHECK(x.dim() >= 1 && x.size(-1) == in_features, "Linear(", in_features, " -> ",
            out_features, "): expected input [..., ", in_features, "], got ", shape_str(x.shape()));
  // The fused op: one GEMM forward, and dW computed in W's own layout in the backward pass.
  return linear(x, weight, bias);
}

std::string Linear::describe() const {
  return "Linear(" + std::to_string(in_features) + " -> " + std::to_string(out_features) +
         (bias.defined() ? ")" : ", no bias)");
}

Conv2d::Conv2d(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, bool has_bias,
               Generator& g, DType dtype)
    : in_channels(in), out_channels(out), kernel(k), stride(s), padding(p) {
  SNN_CHECK(in > 0 && out > 0 && k > 0 && s > 0 && p >= 0, "Conv2d: invalid arguments (in ", in,
            ", out ", out, ", kernel ", k, ", stride ", s, ", padding ", p, ")");
  weight = register_parameter("weight", kaiming_uniform({out, in, k, k}, g, std::sqrt(5.0), dtype));
  if (has_bias) {
    const double bound = 1 / std::sqrt(double(in * k * k));
    bias = register_parameter("bias", g.uniform({out}, -bound, bound, dtype));
  }
}

Var Conv2d::forward(const Var& x) { return conv2d(x, weight, bias, stride, padding); }

std::string Conv2d::describe() const {
  return "Conv2d(" + std::to_string(in_channels) + " -> " + std::to_string(out_channels) + ", " +
         std::to_string(kernel) + "x" + std::to_string(kernel) + ", stride " +
         std::to_string(stride) + ", pad " + std::to_string(padding) + ")";
}

}  // namespace stablenn
