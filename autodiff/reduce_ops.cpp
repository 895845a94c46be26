// autodiff/reduce_ops.cpp — reductions with their backward rules (chapter 2).
// The backward of a reduction spreads the output gradient back over the reduced axes: reshape it to the
// keepdim shape, then expand (a stride-0 view, no copy) to the input's shape.
#include <algorithm>
#include <vector>

#include "autodiff/node.h"
#include "autodiff/ops.h"
#include "core/ops.h"

namespace stablenn {
namespace {

// The input shape with the reduced axes set to 1 (the keepdim shape).
Shape kept_shape(const Shape& input, const Shape& axes) {
  Shape kept = input;
  if (axes.empty()) {
    for (auto& d : kept) d = 1;
    return kept;
  }
  for (int64_t a : axes) kept[wrap_axis(a, static_cast<int64_t>(input.size()), "reduce")] = 1;
  return kept;
}

// g (the reduction's output gradient) broadcast back to the input's shape.
Var spread(const Var& g, const Shape& input, const Shape& axes) {
  return expand(reshape(g, kept_shape(input, axes)), input);
}

// How many input elements each output element reduces.
int64_t reduced_count(const Shape& input, const Shape& axes) {
  return shape_numel(input) / std::max<int64_t>(1, shape_numel(kept_shape(input, axes)));
}

}  // namespace

Var sum(const Var& x, const Shape& axes, bool keepdim) {
  return record("sum", sum(x.value(), axes, keepdim), {x}, Saves::nothing(), [axes](const BackwardContext& c) {
    return grads(spread(c.grad, c.inputs[0].shape(), axes));
  });
}

Var mean(const Var& x, const Shape& axes, bool keepdim) {
  return record("mean", mean(x.value(), axes, keepdim), {x}, Saves::nothing(), [axes](const BackwardContext& c) {
    const Shape& in = c.inputs[0].shape();
    return grads(spread(c.grad, in, axes) / static_cast<double>(reduced_count(in, axes)));
  });
}

namespace {
// amax/amin: the gradient goes to the elements equal to the extremum, shared evenly between ties.
Var extremum_reduce(const char* op, const Var& x, const Shape& axes, bool keepdim, bool is_max) {
  Tensor value = is_max ? amax(x.value(), axes, keepdim) : amin(x.value(), axes, keepdim);
  return record(op, std::move(value), {x}, Saves::inputs_and_output(), [axes](const BackwardContext& c) {
    const Tensor& v = c.inputs[0].value();
    const Tensor hits = eq(v, c.output.value().reshape(kept_shape(v.shape(), axes)));
    const Tensor share = div(hits, sum(hits, axes, true));
    return grads(spread(c.grad, v.shape(), axes) * Var(share));
  });
}
}  // namespace

Var amax(const Var& x, const Shape& axes, bool keepdim) { return extremum_reduce("amax", x, axes, keepdim, true); }
Var amin(const Var& x, const Shape& axes, bool keepdim) { return extremum_reduce("amin", x, axes, keepdim, false); }

Var var(const Var& x, const Shape& axes, int64_t correction, bool keepdim) {
  // d var = 2 (x - mean) / (n - correction) dx, written with Var ops so it has a second derivative.
  return record("var", var(x.value(), axes, correction, keepdim), {x}, Saves::inputs(),
                [axes, correction](const BackwardContext& c) {
                  const Var& in = c.inputs[0];
                  const int64_t n = reduced_count(in.shape(), axes);
                  const Var centred = in - mean(in, axes, true);
                  return grads(spread(c.grad, in.shape(), axes) * centred *
                               (2.0 / static_cast<double>(n - correction)));
                });
}

Var sum_to(const Var& x, const Shape& shape) {
  if (x.shape() == shape) return x;  // nothing was broadcast: no node
  return record("sum_to", sum_to(x.value(), shape), {x}, Saves::nothing(), [](const BackwardContext& c) {
    return grads(expand(c.grad, c.inputs[0].shape()));
  });
}

}  // namespace stablenn
