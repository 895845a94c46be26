// autodiff/activation_ops.cpp — activation functions with their backward rules (chapter 2).
// Piecewise-linear activations multiply the gradient by a constant mask: their second derivative is 0
// away from the kink, which is exactly what the mask gives when the rule is differentiated again.
#include "autodiff/node.h"
#include "autodiff/ops.h"
#include "core/ops.h"
#include "core/parallel.h"

namespace stablenn {
namespace {

Tensor positive_mask(const Tensor& x) { return gt(x, Tensor::scalar(0.0, x.dtype())); }

// out[i] = g[i] where x[i] > 0, else slope * g[i]. Arithmetic on the 0/1 mask instead of a branch
// (signs are random, so a branch mispredicts half the time), on restrict pointers so it vectorises.
template <class T>
void gate_range(const T* __restrict g, const T* __restrict x, T* __restrict out, T slope, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T positive = static_cast<T>(x[i] > T(0));
    out[i] = g[i] * (slope + (T(1) - slope) * positive);
  }
}

template <class T>
Tensor gate_contiguous(const Tensor& g, const Tensor& x, double slope) {
  Tensor out = Tensor::empty(g.shape(), g.dtype());
  const T* pg = g.data<T>();
  const T* px = x.data<T>();
  T* po = out.data<T>();
  parallel_for(0, g.numel(), kDefaultGrain, [&](int64_t lo, int64_t hi) {
    gate_range<T>(pg + lo, px + lo, po + lo, static_cast<T>(slope), hi - lo);
  });
  return out;
}

// g where x > 0, slope * g elsewhere: the backward of relu (slope 0) and leaky_relu. One pass for
// contiguous operands (the common case); other layouts go through the core's comparison and product.
Tensor gate_values(const Tensor& g, const Tensor& x, double slope) {
  if (g.shape() == x.shape() && g.dtype() == x.dtype() && g.is_contiguous() && x.is_contiguous()) {
    if (g.dtype() == DType::Float32) return gate_contiguous<float>(g, x, slope);
    if (g.dtype() == DType::Float64) return gate_contiguous<double>(g, x, slope);
  }
  return mul(g, add(mul(positive_mask(x), 1.0 - slope), slope));
}

// The gate as a tape op, linear in g, with x a constant: the derivative of the mask is zero away from
// the kink, so gating again is its whole backward (and relu's second derivative is 0, as it should be).
Var gate(const Var& g, const Tensor& x, double slope) {
  return record(slope == 0.0 ? "relu_gate" : "leaky_relu_gate", gate_values(g.value(), x, slope), {g},
                Saves::nothing(),
                [x, slope](const BackwardContext& c) { return grads(gate(c.grad, x, slope)); });
}

}  // namespace

Var relu(const Var& x) {
  return record("relu", relu(x.value()), {x}, Saves::inputs(), [](const BackwardContext& c) {
    return grads(gate(c.grad, c.inputs[0].value(), 0.0));
  });
}

Var leaky_relu(const Var& x, double slope) {
  return record("leaky_relu", leaky_relu(x.value(), slope), {x}, Saves::inputs(),
                [slope](const BackwardContext& c) { return grads(gate(c.grad, c.inputs[0].value(), slope)); });
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

// g·σ'(x) for chapter 10's σ(x) = αx + (1 − α)·softplus(x), as a tape op of both g and x so that the
// Jacobian regulariser can differentiate through it: linear in g (its g-rule gates again), and
// σ''(x) = (1 − α)·s(1 − s) with s = sigmoid(x) for the x-rule.
Var slope_restricted_gate(const Var& g, const Var& x, double alpha) {
  return record("slope_restricted_gate", slope_restricted_gate(g.value(), x.value(), alpha), {g, x},
                Saves::inputs(), [alpha](const BackwardContext& c) {
                  const Var& gv = c.inputs[0];
                  const Var& xv = c.inputs[1];
                  Var dg, dx;
                  if (c.needs_grad(0)) dg = slope_restricted_gate(c.grad, xv, alpha);
                  if (c.needs_grad(1)) {
                    const Var s = sigmoid(xv);
                    dx = c.grad * gv * (s * (1.0 - s)) * (1.0 - alpha);
                  }
                  return grads(dg, dx);
                });
}

Var slope_restricted(const Var& x, double alpha) {
  return record("slope_restricted", slope_restricted(x.value(), alpha), {x}, Saves::inputs(),
                [alpha](const BackwardContext& c) {
                  return grads(slope_restricted_gate(c.grad, c.inputs[0], alpha));
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
