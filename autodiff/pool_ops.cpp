// autodiff/pool_ops.cpp — average and max pooling with their backward rules (chapter 2).
// Both poolings are linear in the data once max pooling's argmax positions are fixed, so each backward
// is a linear map whose own backward is the forward map again: avg_pool2d <-> avg_pool2d_adjoint, and
// for max pooling, gather at the argmax positions <-> scatter to them.
#include <algorithm>

#include "autodiff/node.h"
#include "autodiff/ops.h"
#include "core/conv.h"
#include "core/parallel.h"

namespace stablenn {
namespace {

Shape spatial(const Shape& s) { return {s[2], s[3]}; }

// out[p, i] = x[p, indices[p, i]] for each plane p = (n, c). x: [N, C, H, W], indices: [N, C, Ho, Wo].
template <class T>
Tensor gather_planes_typed(const Tensor& x, const Tensor& indices) {
  const Tensor xc = x.contiguous(), ic = indices.contiguous();
  Tensor out = Tensor::empty(indices.shape(), x.dtype());
  const int64_t planes = x.size(0) * x.size(1), plane_in = x.size(2) * x.size(3);
  const int64_t plane_out = indices.size(2) * indices.size(3);
  const T* src = xc.data<T>();
  const int64_t* idx = ic.data<int64_t>();
  T* dst = out.data<T>();
  parallel_for(0, planes, std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(1, plane_out)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t p = lo; p < hi; ++p)
                   for (int64_t i = 0; i < plane_out; ++i)
                     dst[p * plane_out + i] = src[p * plane_in + idx[p * plane_out + i]];
               });
  return out;
}

Tensor gather_planes(const Tensor& x, const Tensor& indices) {
  SNN_CHECK(x.dim() == 4 && indices.dim() == 4 && x.size(0) == indices.size(0) &&
                x.size(1) == indices.size(1) && indices.dtype() == DType::Int64,
            "max_pool2d_gather: expected x [N, C, H, W] and Int64 indices [N, C, Ho, Wo], got ",
            shape_str(x.shape()), " and ", shape_str(indices.shape()));
  switch (x.dtype()) {
    case DType::Float32: return gather_planes_typed<float>(x, indices);
    case DType::Float64: return gather_planes_typed<double>(x, indices);
    default: fail("max_pool2d_gather: expected a float tensor, got ", dtype_name(x.dtype()));
  }
}

}  // namespace

Var avg_pool2d(const Var& x, int64_t kernel, int64_t stride, int64_t padding) {
  return record("avg_pool2d", avg_pool2d(x.value(), kernel, stride, padding), {x}, Saves::nothing(),
                [kernel, stride, padding](const BackwardContext& c) {
                  return grads(avg_pool2d_adjoint(c.grad, spatial(c.inputs[0].shape()), kernel, stride, padding));
                });
}

Var avg_pool2d_adjoint(const Var& gy, const Shape& input_hw, int64_t kernel, int64_t stride,
                       int64_t padding) {
  return record("avg_pool2d_adjoint", avg_pool2d_adjoint(gy.value(), input_hw, kernel, stride, padding),
                {gy}, Saves::nothing(), [kernel, stride, padding](const BackwardContext& c) {
                  return grads(avg_pool2d(c.grad, kernel, stride, padding));
                });
}

Var max_pool2d(const Var& x, int64_t kernel, int64_t stride, int64_t padding) {
  Tensor indices;
  Tensor value = max_pool2d(x.value(), kernel, stride, padding, &indices);
  return record("max_pool2d", std::move(value), {x}, Saves::nothing(), [indices](const BackwardContext& c) {
    return grads(max_pool2d_scatter(c.grad, indices, spatial(c.inputs[0].shape())));
  });
}

Var max_pool2d_scatter(const Var& gy, const Tensor& indices, const Shape& input_hw) {
  return record("max_pool2d_scatter", max_pool2d_adjoint(gy.value(), indices, input_hw), {gy},
                Saves::nothing(),
                [indices](const BackwardContext& c) { return grads(max_pool2d_gather(c.grad, indices)); });
}

Var max_pool2d_gather(const Var& gx, const Tensor& indices) {
  return record("max_pool2d_gather", gather_planes(gx.value(), indices), {gx}, Saves::nothing(),
                [indices](const BackwardContext& c) {
                  return grads(max_pool2d_scatter(c.grad, indices, spatial(c.inputs[0].shape())));
                });
}

}  // namespace stablenn
