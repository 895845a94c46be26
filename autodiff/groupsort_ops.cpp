// autodiff/groupsort_ops.cpp — MaxMin and GroupSort with their backward rules (chapter 2).
//
// Both activations only permute their input (within pairs / groups), so they are 1-Lipschitz and
// gradient-norm preserving: the backward applies the inverse permutation to the gradient. MaxMin has
// its own forward (two strided views and maximum/minimum); GroupSort gathers through an index.
#include <algorithm>
#include <numeric>
#include <vector>

#include "autodiff/node.h"
#include "autodiff/ops.h"
#include "core/ops.h"

namespace stablenn {

Var maxmin(const Var& x, int64_t axis) {
  const int64_t ax = wrap_axis(axis, x.dim(), "maxmin");
  const int64_t n = x.size(ax);
  SNN_CHECK(n % 2 == 0, "maxmin: axis ", axis, " of shape ", shape_str(x.shape()),
            " must have even size (the entries are paired)");
  // even/odd: [..., n/2, ...]; stacking (max, min) after the paired axis and merging restores the layout.
  const Tensor& v = x.value();
  const Tensor even = v.slice(ax, 0, n, 2), odd = v.slice(ax, 1, n, 2);
  Tensor value = stack(std::vector<Tensor>{maximum(even, odd), minimum(even, odd)}, ax + 1).reshape(v.shape());
  return record("maxmin", std::move(value), {x}, Saves::inputs(), [ax, n](const BackwardContext& c) {
    const Tensor& in = c.inputs[0].value();
    const Tensor even_wins = ge(in.slice(ax, 0, n, 2), in.slice(ax, 1, n, 2));
    const Var g_max = slice(c.grad, ax, 0, n, 2), g_min = slice(c.grad, ax, 1, n, 2);
    const Var g_even = where(even_wins, g_max, g_min), g_odd = where(even_wins, g_min, g_max);
    return grads(reshape(stack({g_even, g_odd}, ax + 1), in.shape()));
  });
}

namespace {

template <class T>
Tensor gather_typed(const Tensor& x, const Tensor& index) {
  const Tensor xc = x.contiguous(), ic = index.contiguous();
  Tensor out = Tensor::empty(index.shape(), x.dtype());
  const T* src = xc.data<T>();
  const int64_t* idx = ic.data<int64_t>();
  T* dst = out.data<T>();
  for (int64_t i = 0; i < out.numel(); ++i) dst[i] = src[idx[i]];
  return out;
}

template <class T>
Tensor scatter_add_typed(const Tensor& g, const Tensor& index, const Shape& shape) {
  const Tensor gc = g.contiguous(), ic = index.contiguous();
  Tensor out = Tensor::zeros(shape, g.dtype());
  const T* src = gc.data<T>();
  const int64_t* idx = ic.data<int64_t>();
  T* dst = out.data<T>();
  for (int64_t i = 0; i < gc.numel(); ++i) dst[idx[i]] += src[i];
  return out;
}

void check_index(const Tensor& index, int64_t numel, const char* op) {
  SNN_CHECK(index.dtype() == DType::Int64, op, ": index must be Int64, got ", dtype_name(index.dtype()));
  for (int64_t i : index.to_int64())
    SNN_CHECK(i >= 0 && i < numel, op, ": index ", i, " is out of range for ", numel, " elements");
}

}  // namespace

Var gather_flat(const Var& x, const Tensor& index) {
  check_index(index, x.numel(), "gather_flat");
  Tensor value;
  switch (x.dtype()) {
    case DType::Float32: value = gather_typed<float>(x.value(), index); break;
    case DType::Float64: value = gather_typed<double>(x.value(), index); break;
    default: fail("gather_flat: expected a float tensor, got ", dtype_name(x.dtype()));
  }
  return record("gather_flat", std::move(value), {x}, Saves::nothing(), [index](const BackwardContext& c) {
    return grads(scatter_add_flat(c.grad, index, c.inputs[0].shape()));
  });
}

Var scatter_add_flat(const Var& g, const Tensor& index, const Shape& shape) {
  SNN_CHECK(index.numel() == g.numel(), "scatter_add_flat: ", index.numel(), " indices for ", g.numel(),
            " values");
  check_index(index, shape_numel(shape), "scatter_add_flat");
  Tensor value;
  switch (g.dtype()) {
    case DType::Float32: value = scatter_add_typed<float>(g.value(), index, shape); break;
    case DType::Float64: value = scatter_add_typed<double>(g.value(), index, shape); break;
    default: fail("scatter_add_flat: expected a float tensor, got ", dtype_name(g.dtype()));
  }
  return record("scatter_add_flat", std::move(value), {g}, Saves::nothing(), [index](const BackwardContext& c) {
    return grads(reshape(gather_flat(c.grad, index), c.inputs[0].shape()));
  });
}

Var group_sort(const Var& x, int64_t group_size, int64_t axis) {
  const int64_t ax = wrap_axis(axis, x.dim(), "group_sort");
  const int64_t n = x.size(ax);
  SNN_CHECK(group_size >= 1 && n % group_size == 0, "group_sort: axis ", axis, " of shape ",
            shape_str(x.shape()), " must be a multiple of the group size ", group_size);
  // Move the axis last so every group is a contiguous run, sort each run (descending) by index, gather.
  Shape order(x.dim());
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[ax], order.back());
  const Var moved = contiguous(permute(x, order));
  const std::vector<double> values = moved.value().to_vector();
  std::vector<int64_t> index(values.size());
  std::iota(index.begin(), index.end(), 0);
  for (size_t start = 0; start < index.size(); start += static_cast<size_t>(group_size))
    std::stable_sort(index.begin() + start, index.begin() + start + group_size,
                     [&](int64_t a, int64_t b) { return values[a] > values[b]; });
  const Var sorted = gather_flat(moved, Tensor::from_int64(index, moved.shape()));
  return permute(sorted, order);  // swapping two axes is its own inverse
}

}  // namespace stablenn
