// autodiff/view_ops.cpp — views and joining with their backward rules (chapter 2).
// Views move no data forward; backward moves the gradient back into the input's layout (reshape back,
// inverse permutation, zero-padded slice, sum over broadcast axes, split).
#include <numeric>
#include <vector>

#include "autodiff/node.h"
#include "autodiff/ops.h"
#include "core/ops.h"

namespace stablenn {

Var reshape(const Var& x, const Shape& shape) {
  return record("reshape", x.value().reshape(shape), {x}, Saves::nothing(), [](const BackwardContext& c) {
    return grads(reshape(c.grad, c.inputs[0].shape()));
  });
}

Var flatten(const Var& x, int64_t start_axis, int64_t end_axis) {
  return record("flatten", x.value().flatten(start_axis, end_axis), {x}, Saves::nothing(),
                [](const BackwardContext& c) { return grads(reshape(c.grad, c.inputs[0].shape())); });
}

Var permute(const Var& x, const Shape& order) {
  Tensor value = x.value().permute(order);
  Shape inverse(order.size());
  for (size_t i = 0; i < order.size(); ++i) inverse[wrap_axis(order[i], x.dim(), "permute")] = static_cast<int64_t>(i);
  return record("permute", std::move(value), {x}, Saves::nothing(),
                [inverse](const BackwardContext& c) { return grads(permute(c.grad, inverse)); });
}

Var transpose(const Var& x, int64_t a, int64_t b) {
  return record("transpose", x.value().transpose(a, b), {x}, Saves::nothing(),
                [a, b](const BackwardContext& c) { return grads(transpose(c.grad, a, b)); });
}

Var t(const Var& x) {
  SNN_CHECK(x.dim() == 2, "t: expected a 2-D Var, got shape ", shape_str(x.shape()));
  return transpose(x, 0, 1);
}

Var slice(const Var& x, int64_t axis, int64_t start, int64_t end, int64_t step) {
  return record("slice", x.value().slice(axis, start, end, step), {x}, Saves::nothing(),
                [axis, start, end, step](const BackwardContext& c) {
                  return grads(slice_adjoint(c.grad, c.inputs[0].shape(), axis, start, end, step));
                });
}

Var slice_adjoint(const Var& g, const Shape& input_shape, int64_t axis, int64_t start, int64_t end,
                  int64_t step) {
  // [input_shape] zeros with g written through the same slice view: exactly the adjoint of slice.
  Tensor out = Tensor::zeros(input_shape, g.dtype());
  Tensor window = out.slice(axis, start, end, step);
  SNN_CHECK(window.shape() == g.shape(), "slice_adjoint: gradient of shape ", shape_str(g.shape()),
            " does not fit the slice of shape ", shape_str(window.shape()), " of ", shape_str(input_shape));
  window.copy_(g.value());
  return record("slice_adjoint", std::move(out), {g}, Saves::nothing(),
                [axis, start, end, step](const BackwardContext& c) {
                  return grads(slice(c.grad, axis, start, end, step));
                });
}

Var narrow(const Var& x, int64_t axis, int64_t start, int64_t length) {
  const int64_t ax = wrap_axis(axis, x.dim(), "narrow");
  SNN_CHECK(start >= 0 && length >= 0 && start + length <= x.size(ax), "narrow: range [", start, ", ",
            start + length, ") is out of bounds for axis ", axis, " of shape ", shape_str(x.shape()));
  return slice(x, ax, start, start + length);
}

Var select(const Var& x, int64_t axis, int64_t index) {
  const int64_t ax = wrap_axis(axis, x.dim(), "select");
  const int64_t n = x.size(ax);
  SNN_CHECK(index >= -n && index < n, "select: index ", index, " is out of range for axis ", axis,
            " of shape ", shape_str(x.shape()));
  const int64_t i = index < 0 ? index + n : index;
  return squeeze(slice(x, ax, i, i + 1), ax);
}

Var expand(const Var& x, const Shape& shape) {
  return record("expand", x.value().expand(shape), {x}, Saves::nothing(), [](const BackwardContext& c) {
    return grads(sum_to(c.grad, c.inputs[0].shape()));
  });
}

Var squeeze(const Var& x, int64_t axis) {
  return record("squeeze", x.value().squeeze(axis), {x}, Saves::nothing(),
                [](const BackwardContext& c) { return grads(reshape(c.grad, c.inputs[0].shape())); });
}

Var squeeze(const Var& x) {
  return record("squeeze", x.value().squeeze(), {x}, Saves::nothing(),
                [](const BackwardContext& c) { return grads(reshape(c.grad, c.inputs[0].shape())); });
}

Var unsqueeze(const Var& x, int64_t axis) {
  return record("unsqueeze", x.value().unsqueeze(axis), {x}, Saves::nothing(),
                [](const BackwardContext& c) { return grads(reshape(c.grad, c.inputs[0].shape())); });
}

Var contiguous(const Var& x) {
  return record("contiguous", x.value().contiguous(), {x}, Saves::nothing(),
                [](const BackwardContext& c) { return grads(c.grad); });
}

Var clone(const Var& x) {
  return record("clone", x.value().clone(), {x}, Saves::nothing(),
                [](const BackwardContext& c) { return grads(c.grad); });
}

Var cast(const Var& x, DType dtype) {
  SNN_CHECK(is_floating(dtype) && is_floating(x.dtype()), "cast: only float dtypes are differentiable, got ",
            dtype_name(x.dtype()), " -> ", dtype_name(dtype));
  const DType from = x.dtype();
  return record("cast", x.value().to(dtype), {x}, Saves::nothing(),
                [from](const BackwardContext& c) { return grads(cast(c.grad, from)); });
}

Var concat(const std::vector<Var>& parts, int64_t axis) {
  SNN_CHECK(!parts.empty(), "concat: no parts given");
  std::vector<Tensor> values;
  for (const Var& p : parts) values.push_back(p.value());
  Tensor value = concat(values, axis);
  const int64_t ax = wrap_axis(axis, value.dim(), "concat");
  return record("concat", std::move(value), parts, Saves::nothing(), [ax](const BackwardContext& c) {
    std::vector<Var> out(c.inputs.size());
    int64_t offset = 0;
    for (size_t k = 0; k < c.inputs.size(); ++k) {
      const int64_t len = c.inputs[k].size(ax);
      if (c.needs_grad(k)) out[k] = slice(c.grad, ax, offset, offset + len);
      offset += len;
    }
    return out;
  });
}

Var stack(const std::vector<Var>& parts, int64_t axis) {
  SNN_CHECK(!parts.empty(), "stack: no parts given");
  std::vector<Tensor> values;
  for (const Var& p : parts) values.push_back(p.value());
  Tensor value = stack(values, axis);
  const int64_t ax = wrap_axis(axis, value.dim(), "stack");
  return record("stack", std::move(value), parts, Saves::nothing(), [ax](const BackwardContext& c) {
    std::vector<Var> out(c.inputs.size());
    for (size_t k = 0; k < c.inputs.size(); ++k)
      if (c.needs_grad(k)) out[k] = select(c.grad, ax, static_cast<int64_t>(k));
    return out;
  });
}

}  // namespace stablenn
