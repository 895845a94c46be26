// autodiff/softmax_ops.cpp — logsumexp, softmax and log_softmax with their backward rules (chapter 2).
// All three reuse their output in the rule, so no exponential is recomputed in backward.
#include "autodiff/node.h"
#include "autodiff/ops.h"
#include "core/ops.h"

namespace stablenn {

Var logsumexp(const Var& x, int64_t axis, bool keepdim) {
  const int64_t ax = wrap_axis(axis, x.dim(), "logsumexp");
  // d lse = softmax(x) dx = exp(x - lse) dx
  return record("logsumexp", logsumexp(x.value(), ax, keepdim), {x}, Saves::inputs_and_output(),
                [ax, keepdim](const BackwardContext& c) {
                  const Var lse = keepdim ? c.output : unsqueeze(c.output, ax);
                  const Var g = keepdim ? c.grad : unsqueeze(c.grad, ax);
                  return grads(g * exp(c.inputs[0] - lse));
                });
}

Var softmax(const Var& x, int64_t axis) {
  const int64_t ax = wrap_axis(axis, x.dim(), "softmax");
  // dx = y * (g - sum(g * y))
  return record("softmax", softmax(x.value(), ax), {x}, Saves::output_only(), [ax](const BackwardContext& c) {
    const Var& y = c.output;
    return grads(y * (c.grad - sum(c.grad * y, {ax}, true)));
  });
}

Var log_softmax(const Var& x, int64_t axis) {
  const int64_t ax = wrap_axis(axis, x.dim(), "log_softmax");
  // dx = g - softmax(x) * sum(g), with softmax(x) = exp(output)
  return record("log_softmax", log_softmax(x.value(), ax), {x}, Saves::output_only(),
                [ax](const BackwardContext& c) {
                  return grads(c.grad - exp(c.output) * sum(c.grad, {ax}, true));
                });
}

}  // namespace stablenn
