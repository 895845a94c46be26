// core/dispatch.h — internal: dtype dispatch and strided iteration shared by the kernels (chapter 1).
#pragma once
#include <array>
#include <cstdint>

#include "core/parallel.h"
#include "core/tensor.h"

namespace stablenn::detail {

// Calls f(T{}) with T the C++ type of `dtype`: float/double only (maths ops).
template <class F>
decltype(auto) dispatch_float(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    default: fail(op, ": expected a float32 or float64 tensor, got ", dtype_name(dtype));
  }
}
// Calls f(T{}) for any dtype (copies, comparisons, joins).
template <class F>
decltype(auto) dispatch_all(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    default: return f(int64_t{});
  }
}

// Iterates N operands of one common shape with their own element strides (all as views on their
// storage). The shape is first simplified: size-1 axes dropped and axes merged where every operand
// is contiguous across them, so most loops end up 1-D. For each run of elements along the innermost
// axis, `segment(offsets, inner_strides, count)` is called; runs are split across threads by element
// count, so the work per call is large and the split never depends on anything but the shape.
template <size_t N, class Segment>
void for_each_strided(const Shape& shape, const std::array<const Shape*, N>& strides,
                      int64_t grain, const Segment& segment) {
  // simplify: drop size-1 axes, merge mergeable neighbours
  Shape dims;
  std::array<Shape, N> st;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !dims.empty();
    for (size_t k = 0; k < N && merge; ++k)
      merge = st[k].back() == (*strides[k])[d] * shape[d];
    if (merge) {
      dims.back() *= shape[d];
      for (size_t k = 0; k < N; ++k) st[k].back() = (*strides[k])[d];
    } else {
      dims.push_back(shape[d]);
      for (size_t k = 0; k < N; ++k) st[k].push_back((*strides[k])[d]);
    }
  }
  int64_t total = 1;
  for (int64_t s : dims) total *= s;
  if (total == 0) return;
  if (dims.empty()) {  // a single element
    std::array<int64_t, N> off{}, inner{};
    segment(off, inner, int64_t{1});
    return;
  }
  const int64_t nd = static_cast<int64_t>(dims.size());
  const int64_t inner_size = dims[nd - 1];
  std::array<int64_t, N> inner_stride;
  for (size_t k = 0; k < N; ++k) inner_stride[k] = st[k][nd - 1];
  parallel_for(0, total, grain, [&](int64_t lo, int64_t hi) {
    // multi-index of `lo` (outer axes) and position within the innermost run
    Shape idx(nd, 0);
    int64_t rest = lo;
    for (int64_t d = nd - 1; d >= 0; --d) {
      idx[d] = rest % dims[d];
      rest /= dims[d];
    }
    std::array<int64_t, N> off{};
    for (size_t k = 0; k < N; ++k)
      for (int64_t d = 0; d < nd; ++d) off[k] += idx[d] * st[k][d];
    int64_t pos = lo;
    while (pos < hi) {
      const int64_t count = std::min(inner_size - idx[nd - 1], hi - pos);
      segment(off, inner_stride, count);
      pos += count;
      // advance: finish this run, then carry into the outer axes
      for (size_t k = 0; k < N; ++k) off[k] += count * inner_stride[k];
      idx[nd - 1] += count;
      for (int64_t d = nd - 1; d > 0 && idx[d] == dims[d]; --d) {
        for (size_t k = 0; k < N; ++k) off[k] += st[k][d - 1] - dims[d] * st[k][d];
        idx[d] = 0;
        ++idx[d - 1];
      }
    }
  });
}

}  // namespace stablenn::detail
