// autodiff/activation_ops.cpp — activation functions with their backward rules (chapter 2).
// Piecewise-linear activations multiply the gradient by a constant mask: their second derivative is 0
// away from the kink, which is exactly what the mask gives when the rule is differentiated again.
#include "autodiff/node.h"
#include "autodiff/ops.h"
#include "core/ops.h"

namespace stablenn {
namespace {
Tensor positive_mask(const Tensor& x) { return gt(x, Tensor::scalar(0.0, x.dtype())); }
}  // namespace

Var relu(const Var& x) {
  return record("relu", relu(x.value()), {x}, Saves::inputs(), [](const BackwardContext& c) {
    return grads(c.grad * Var(positive_mask(c.inputs[0].value())));
  });
}

Var leaky_relu(const Var& x, double slope) {
  return record("leaky_relu", leaky_relu(x.value(), slope), {x}, Saves::inputs(),
                [slope](const BackwardContext& c) {
                  const Tensor& v = c.inputs[0].value();
                  // slope + (1 - slope) * [x > 0]
                  const Tensor factor = add(mul(positive_mask(v), 1.0 - slope), slope);
                  return grads(c.grad * Var(factor));
                });
}

Var tanh(const Var& x) {
  return record("tanh", tanh(x.value()), {x}, Saves::output_only(), [](const BackwardContext& c) {
    return grads(c.grad * (1.0 - square(c.output)));
  });
}

Var sigmoid(const Var& x) {
  return record("sigmoid", sigmoid(x.value()), {x}, Saves::output_only(), [](const BackwardContext& c) {
    return grads(c.grad * c.output * (1.0 - c.output));
  });
}

Var softplus(const Var& x) {
  return record("softplus", softplus(x.value()), {x}, Saves::inputs(), [](const BackwardContext& c) {
    return grads(c.grad * sigmoid(c.inputs[0]));
  });
}

Var elu(const Var& x, double alpha) {
  // elu'(x) = 1 for x > 0, alpha e^x = elu(x) + alpha otherwise
  return record("elu", elu(x.value(), alpha), {x}, Saves::inputs_and_output(),
                [alpha](const BackwardContext& c) {
                  const Tensor positive = positive_mask(c.inputs[0].value());
                  return grads(where(positive, c.grad, c.grad * (c.output + alpha)));
                });
}

}  // namespace stablenn
