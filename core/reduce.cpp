// core/reduce.cpp — reductions over any set of axes, and the softmax family (chapter 1).
//
// One layout step serves them all: the reduced axes are moved last and the data made contiguous, so
// each output element is the reduction of one contiguous row. Sums accumulate in double.
#include <cmath>
#include <limits>
#include <numeric>

#include "core/device_ops.h"
#include "core/dispatch.h"
#include "core/ops.h"

namespace stablenn {
namespace {

struct RowLayout {
  Tensor rows;       // [outer, inner] contiguous: row i holds the elements reduced into output i
  Shape out_shape;   // the result's shape (with or without the kept size-1 axes)
  Shape perm;        // the permutation applied to x (kept axes first, then reduced ones)
  int64_t outer = 1, inner = 1;
};

// Sorted, wrapped, duplicate-free axes; empty input means all axes.
std::vector<bool> reduced_mask(const Tensor& x, const Shape& axes, const char* op) {
  std::vector<bool> mask(x.dim(), axes.empty());
  for (int64_t a : axes) {
    const int64_t w = wrap_axis(a, x.dim(), op);
    SNN_CHECK(!mask[w], op, ": axis ", a, " repeated in ", shape_str(axes));
    mask[w] = true;
  }
  return mask;
}

RowLayout row_layout(const Tensor& x, const Shape& axes, bool keepdim, const char* op) {
  SNN_CHECK(x.defined(), op, ": the operand is undefined");
  const std::vector<bool> mask = reduced_mask(x, axes, op);
  RowLayout L;
  Shape reduced;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (mask[d]) {
      reduced.push_back(d);
      L.inner *= x.shape()[d];
      if (keepdim) L.out_shape.push_back(1);
    } else {
      L.perm.push_back(d);
      L.outer *= x.shape()[d];
      L.out_shape.push_back(x.shape()[d]);
    }
  }
  L.perm.insert(L.perm.end(), reduced.begin(), reduced.end());
  L.rows = x.permute(L.perm).contiguous().reshape({L.outer, L.inner});
  return L;
}

// out[i] = f(row i, inner) for each of the `outer` rows, in parallel. TO is the output element type.
template <class T, class TO, class F>
Tensor reduce_rows(const RowLayout& L, DType out_dtype, const F& f) {
  Tensor out = Tensor::empty(L.out_shape, out_dtype);
  TO* o = out.data<TO>();
  const T* in = L.rows.data<T>();
  const int64_t inner = L.inner;
  parallel_for(0, L.outer, std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(1, inner)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t i = lo; i < hi; ++i) o[i] = static_cast<TO>(f(in + i * inner, inner));
               });
  return out;
}

template <class T>
double row_sum(const T* p, int64_t n) {
  double s = 0;
  for (int64_t k = 0; k < n; ++k) s += p[k];
  return s;
}

template <class T>
double row_max(const T* p, int64_t n) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t k = 0; k < n; ++k)
    if (p[k] > m || p[k] != p[k]) m = p[k];
  return m;
}

template <class T>
double row_logsumexp(const T* p, int64_t n) {
  const double m = row_max(p, n);
  if (std::isinf(m) || m != m) return m;  // all -inf, a +inf, or a NaN: nothing to rescale
  double s = 0;
  for (int64_t k = 0; k < n; ++k) s += std::exp(static_cast<double>(p[k]) - m);
  return m + std::log(s);
}

// Sum of a contiguous tensor [R, K, P] over R and P: the kept axes are one block between reduced
// ones, as for a bias gradient ([N, C] over N, or [N, C, H, W] over N, H, W). Reading in place
// avoids the transposed copy the row layout would make.
template <class T>
void sum_around_block(const Tensor& x, int64_t R, int64_t K, int64_t P, Tensor& out) {
  const T* in = x.data<T>();
  T* o = out.data<T>();
  const int64_t grain = std::max<int64_t>(P == 1 ? 16 : 1, kDefaultGrain / std::max<int64_t>(1, R * P));
  parallel_for(0, K, grain, [&](int64_t lo, int64_t hi) {
    std::vector<double> acc(hi - lo, 0.0);
    for (int64_t r = 0; r < R; ++r) {
      const T* block = in + r * K * P;
      // Each output's sum runs in the row layout's order (r, then p), so results match it bit for
      // bit; the outputs' sums advance side by side, independent chains of adds the core overlaps.
      for (int64_t p = 0; p < P; ++p)
        for (int64_t k = lo; k < hi; ++k) acc[k - lo] += block[k * P + p];
    }
    for (int64_t k = lo; k < hi; ++k) o[k] = static_cast<T>(acc[k - lo]);
  });
}

}  // namespace

Tensor sum(const Tensor& x, const Shape& axes, bool keepdim) {
  SNN_CHECK(x.defined(), "sum: the operand is undefined");
  if (detail::off_cpu(x)) {
    SNN_CHECK(axes.empty() && !keepdim, "sum: on ", x.device().str(),
              " only the sum of all elements is written so far (axes {}, keepdim false)");
    return detail::run_on_device(DeviceOp::SumAll, x);
  }
  // fast path: a contiguous tensor whose kept axes are one block [first, last) after reduced ones
  // (with none before it, the row layout below needs no copy)
  const std::vector<bool> mask = reduced_mask(x, axes, "sum");
  int64_t first = 0, last = x.dim();
  while (first < x.dim() && mask[first]) ++first;
  while (last > first && mask[last - 1]) --last;
  bool one_block = x.is_contiguous() && is_floating(x.dtype()) && first > 0 && first < last;
  for (int64_t d = first; d < last && one_block; ++d) one_block = !mask[d];
  if (one_block) {
    int64_t R = 1, K = 1, P = 1;
    Shape out_shape;
    for (int64_t d = 0; d < x.dim(); ++d) {
      const int64_t n = x.shape()[d];
      if (d >= first && d < last) {
        K *= n;
        out_shape.push_back(n);
      } else {
        (d < first ? R : P) *= n;
        if (keepdim) out_shape.push_back(1);
      }
    }
    Tensor out = Tensor::empty(out_shape, x.dtype());
    if (K > 0)
      detail::dispatch_float(x.dtype(), "sum", [&](auto tag) { sum_around_block<decltype(tag)>(x, R, K, P, out); });
    return out;
  }
  const RowLayout L = row_layout(x, axes, keepdim, "sum");
  return detail::dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return reduce_rows<T, T>(L, x.dtype(), [](const T* p, int64_t n) { return row_sum(p, n); });
  });
}

Tensor mean(const Tensor& x, const Shape& axes, bool keepdim) {
  const RowLayout L = row_layout(x, axes, keepdim, "mean");
  return detail::dispatch_float(x.dtype(), "mean", [&](auto tag) {
    using T = decltype(tag);
    return reduce_rows<T, T>(L, x.dtype(), [](const T* p, int64_t n) {
      return n == 0 ? std::numeric_limits<double>::quiet_NaN() : row_sum(p, n) / n;
    });
  });
}

static Tensor extreme(const Tensor& x, const Shape& axes, bool keepdim, bool is_max,
                      const char* op) {
  const RowLayout L = row_layout(x, axes, keepdim, op);
  SNN_CHECK(L.inner > 0 || L.outer == 0, op, ": cannot reduce over an empty axis (shape ",
            shape_str(x.shape()), ")");
  return detail::dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return reduce_rows<T, T>(L, x.dtype(), [is_max](const T* p, int64_t n) {
      T m = p[0];
      for (int64_t k = 1; k < n; ++k)
        if ((is_max ? p[k] > m : p[k] < m) || p[k] != p[k]) m = p[k];
      return m;
    });
  });
}

Tensor amax(const Tensor& x, const Shape& axes, bool keepdim) {
  return extreme(x, axes, keepdim, true, "amax");
}
Tensor amin(const Tensor& x, const Shape& axes, bool keepdim) {
  return extreme(x, axes, keepdim, false, "amin");
}

Tensor var(const Tensor& x, const Shape& axes, int64_t correction, bool keepdim) {
  const RowLayout L = row_layout(x, axes, keepdim, "var");
  return detail::dispatch_float(x.dtype(), "var", [&](auto tag) {
    using T = decltype(tag);
    return reduce_rows<T, T>(L, x.dtype(), [correction](const T* p, int64_t n) {
      if (n - correction <= 0) return std::numeric_limits<double>::quiet_NaN();
      const double m = row_sum(p, n) / n;
      double s = 0;
      for (int64_t k = 0; k < n; ++k) s += (p[k] - m) * (p[k] - m);
      return s / static_cast<double>(n - correction);
    });
  });
}

static Tensor arg_extreme(const Tensor& x, int64_t axis, bool keepdim, bool is_max, const char* op) {
  const RowLayout L = row_layout(x, {axis}, keepdim, op);
  SNN_CHECK(L.inner > 0 || L.outer == 0, op, ": cannot reduce over an empty axis (shape ",
            shape_str(x.shape()), ")");
  return detail::dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return reduce_rows<T, int64_t>(L, DType::Int64, [is_max](const T* p, int64_t n) {
      int64_t best = 0;
      for (int64_t k = 1; k < n; ++k) {
        if (p[best] != p[best]) break;  // a NaN wins, as in NumPy
        if ((is_max ? p[k] > p[best] : p[k] < p[best]) || p[k] != p[k]) best = k;
      }
      return best;
    });
  });
}

Tensor argmax(const Tensor& x, int64_t axis, bool keepdim) {
  return arg_extreme(x, axis, keepdim, true, "argmax");
}
Tensor argmin(const Tensor& x, int64_t axis, bool keepdim) {
  return arg_extreme(x, axis, keepdim, false, "argmin");
}

Tensor logsumexp(const Tensor& x, int64_t axis, bool keepdim) {
  const RowLayout L = row_layout(x, {axis}, keepdim, "logsumexp");
  return detail::dispatch_float(x.dtype(), "logsumexp", [&](auto tag) {
    using T = decltype(tag);
    return reduce_rows<T, T>(L, x.dtype(),
                             [](const T* p, int64_t n) { return row_logsumexp(p, n); });
  });
}

// softmax and log_softmax: each row is transformed (not reduced); the result is permuted back.
static Tensor softmax_family(const Tensor& x, int64_t axis, bool take_log, const char* op) {
  const RowLayout L = row_layout(x, {axis}, true, op);
  Tensor rows_out = Tensor::empty({L.outer, L.inner}, x.dtype());
  detail::dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* in = L.rows.data<T>();
    T* o = rows_out.data<T>();
    const int64_t n = L.inner;
    parallel_for(0, L.outer, std::max<int64_t>(1, kDefaultGrain / 8 / std::max<int64_t>(1, n)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t i = lo; i < hi; ++i) {
                     const T* p = in + i * n;
                     T* q = o + i * n;
                     // shift by the maximum first: exp never overflows, and x - max is exact
                     // where x - logsumexp would round at large |x|
                     const double m = row_max(p, n);
                     double s = 0;
                     for (int64_t k = 0; k < n; ++k) s += std::exp(static_cast<double>(p[k]) - m);
                     const double log_s = std::log(s);
                     for (int64_t k = 0; k < n; ++k) {
                       const double z = static_cast<double>(p[k]) - m;
                       q[k] = static_cast<T>(take_log ? z - log_s : std::exp(z) / s);
                     }
                   }
                 });
  });
  // rows_out is x permuted by L.perm; undo the permutation
  Shape permuted_shape;
  for (int64_t d : L.perm) permuted_shape.push_back(x.shape()[d]);
  Shape inverse(L.perm.size());
  for (size_t i = 0; i < L.perm.size(); ++i) inverse[L.perm[i]] = static_cast<int64_t>(i);
  return rows_out.reshape(permuted_shape).permute(inverse).contiguous();
}

Tensor softmax(const Tensor& x, int64_t axis) { return softmax_family(x, axis, false, "softmax"); }
Tensor log_softmax(const Tensor& x, int64_t axis) {
  return softmax_family(x, axis, true, "log_softmax");
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  SNN_CHECK(broadcast_shapes(shape, x.shape(), "sum_to") == x.shape(), "sum_to: shape ",
            shape_str(x.shape()), " is not a broadcast of ", shape_str(shape));
  if (x.shape() == shape) return x;
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  Shape axes;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && x.shape()[d] != 1)) axes.push_back(d);
  return sum(x, axes, true).reshape(shape);
}

// ---- joining ----
Tensor concat(const std::vector<Tensor>& parts, int64_t axis) {
  SNN_CHECK(!parts.empty(), "concat: no tensors given");
  const Tensor& first = parts[0];
  axis = wrap_axis(axis, first.dim(), "concat");
  Shape out_shape = first.shape();
  out_shape[axis] = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Tensor& p = parts[i];
    SNN_CHECK(p.dtype() == first.dtype(), "concat: tensor ", i, " is ", dtype_name(p.dtype()),
              " but tensor 0 is ", dtype_name(first.dtype()));
    bool ok = p.dim() == first.dim();
    for (int64_t d = 0; ok && d < first.dim(); ++d) ok = d == axis || p.shape()[d] == first.shape()[d];
    SNN_CHECK(ok, "concat: tensor ", i, " has shape ", shape_str(p.shape()),
              ", which does not match ", shape_str(first.shape()), " except along axis ", axis);
    out_shape[axis] += p.shape()[axis];
  }
  Tensor out = Tensor::empty(out_shape, first.dtype());
  int64_t at = 0;
  for (const Tensor& p : parts) {
    out.narrow(axis, at, p.shape()[axis]).copy_(p);
    at += p.shape()[axis];
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& parts, int64_t axis) {
  SNN_CHECK(!parts.empty(), "stack: no tensors given");
  axis = wrap_axis(axis, parts[0].dim() + 1, "stack");
  std::vector<Tensor> lifted;
  for (size_t i = 0; i < parts.size(); ++i) {
    SNN_CHECK(parts[i].shape() == parts[0].shape(), "stack: tensor ", i, " has shape ",
              shape_str(parts[i].shape()), " but tensor 0 has ", shape_str(parts[0].shape()));
    lifted.push_back(parts[i].unsqueeze(axis));
  }
  return concat(lifted, axis);
}

}  // namespace stablenn
