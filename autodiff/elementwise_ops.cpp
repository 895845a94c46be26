// autodiff/elementwise_ops.cpp — element-wise arithmetic and maths with their backward rules
// (chapter 2). Each rule is written with Var ops, so it can be recorded for second derivatives.
#include "autodiff/node.h"
#include "autodiff/ops.h"
#include "core/dispatch.h"
#include "core/ops.h"

namespace stablenn {
namespace {


Var constant_like(const Var& x, double value) { return Var(Tensor::scalar(value, x.dtype())); }

}  // namespace

Var ones_like(const Var& x) { return Var(Tensor::ones(x.shape(), x.dtype())); }
Var zeros_like(const Var& x) { return Var(Tensor::zeros(x.shape(), x.dtype())); }

// ---- binary: a broadcast input gets the gradient summed back to its shape (sum_to) ----

Var add(const Var& a, const Var& b) {
  return record("add", add(a.value(), b.value()), {a, b}, Saves::nothing(), [](const BackwardContext& c) {
    return grads(c.needs_grad(0) ? sum_to(c.grad, c.inputs[0].shape()) : Var(),
                 c.needs_grad(1) ? sum_to(c.grad, c.inputs[1].shape()) : Var());
  });
}

Var sub(const Var& a, const Var& b) {
  return record("sub", sub(a.value(), b.value()), {a, b}, Saves::nothing(), [](const BackwardContext& c) {
    return grads(c.needs_grad(0) ? sum_to(c.grad, c.inputs[0].shape()) : Var(),
                 c.needs_grad(1) ? sum_to(neg(c.grad), c.inputs[1].shape()) : Var());
  });
}

Var mul(const Var& a, const Var& b) {
  return record("mul", mul(a.value(), b.value()), {a, b}, Saves::inputs(), [](const BackwardContext& c) {
    const Var &x = c.inputs[0], &y = c.inputs[1];
    return grads(c.needs_grad(0) ? sum_to(c.grad * y, x.shape()) : Var(),
                 c.needs_grad(1) ? sum_to(c.grad * x, y.shape()) : Var());
  });
}

Var div(const Var& a, const Var& b) {
  // d(a/b) = da / b - (a/b) db / b
  return record("div", div(a.value(), b.value()), {a, b}, Saves::inputs_and_output(),
                [](const BackwardContext& c) {
                  const Var &x = c.inputs[0], &y = c.inputs[1];
                  return grads(c.needs_grad(0) ? sum_to(c.grad / y, x.shape()) : Var(),
                               c.needs_grad(1) ? sum_to(neg(c.grad * c.output / y), y.shape()) : Var());
                });
}

Var pow(const Var& a, const Var& b) {
  // d(a^b) = b a^(b-1) da + a^b log(a) db
  return record("pow", pow(a.value(), b.value()), {a, b}, Saves::inputs_and_output(),
                [](const BackwardContext& c) {
                  const Var &x = c.inputs[0], &y = c.inputs[1];
                  return grads(
                      c.needs_grad(0) ? sum_to(c.grad * y * pow(x, y - 1.0), x.shape()) : Var(),
                      c.needs_grad(1) ? sum_to(c.grad * c.output * log(x), y.shape()) : Var());
                });
}

namespace {
// maximum/minimum: the gradient goes to the winning operand; on a tie each gets half.
Var extremum(const char* op, const Var& a, const Var& b, bool is_max) {
  Tensor value = is_max ? maximum(a.value(), b.value()) : minimum(a.value(), b.value());
  return record(op, std::move(value), {a, b}, Saves::inputs(), [is_max](const BackwardContext& c) {
    const Tensor &x = c.inputs[0].value(), &y = c.inputs[1].value();
    const Tensor wins = is_max ? gt(x, y) : lt(x, y);
    const Tensor share_a = add(wins, mul(eq(x, y), 0.5));  // 1 win, 0.5 tie, 0 loss
    const Tensor share_b = sub(Tensor::scalar(1.0, x.dtype()), share_a);
    return grads(c.needs_grad(0) ? sum_to(c.grad * Var(share_a), x.shape()) : Var(),
                 c.needs_grad(1) ? sum_to(c.grad * Var(share_b), y.shape()) : Var());
  });
}
}  // namespace

Var maximum(const Var& a, const Var& b) { return extremum("maximum", a, b, true); }
Var minimum(const Var& a, const Var& b) { return extremum("minimum", a, b, false); }

Var where(const Tensor& cond, const Var& a, const Var& b) {
  return record("where", where(cond, a.value(), b.value()), {a, b}, Saves::nothing(),
                [cond](const BackwardContext& c) {
                  const Var zero = constant_like(c.grad, 0.0);
                  return grads(c.needs_grad(0) ? sum_to(where(cond, c.grad, zero), c.inputs[0].shape()) : Var(),
                               c.needs_grad(1) ? sum_to(where(cond, zero, c.grad), c.inputs[1].shape()) : Var());
                });
}

Var clamp(const Var& x, double lo, double hi) {
  return record("clamp", clamp(x.value(), lo, hi), {x}, Saves::inputs(), [lo, hi](const BackwardContext& c) {
    const Tensor& v = c.inputs[0].value();
    const Tensor inside = mul(ge(v, Tensor::scalar(lo, v.dtype())), le(v, Tensor::scalar(hi, v.dtype())));
    return grads(c.grad * Var(inside));
  });
}

// ---- scalar forms ----

Var add(const Var& a, double s) {
  return record("add_scalar", add(a.value(), s), {a}, Saves::nothing(),
                [](const BackwardContext& c) { return grads(c.grad); });
}

Var sub(const Var& a, double s) {
  return record("sub_scalar", sub(a.value(), s), {a}, Saves::nothing(),
                [](const BackwardContext& c) { return grads(c.grad); });
}

Var sub(double s, const Var& a) {
  return record("rsub_scalar", add(neg(a.value()), s), {a}, Saves::nothing(),
                [](const BackwardContext& c) { return grads(neg(c.grad)); });
}

Var mul(const Var& a, double s) {
  return record("mul_scalar", mul(a.value(), s), {a}, Saves::nothing(),
                [s](const BackwardContext& c) { return grads(c.grad * s); });
}

Var div(const Var& a, double s) {
  return record("div_scalar", div(a.value(), s), {a}, Saves::nothing(),
                [s](const BackwardContext& c) { return grads(c.grad / s); });
}

Var div(double s, const Var& a) {
  // d(s/a) = -(s/a) da / a
  return record("rdiv_scalar", div(Tensor::scalar(s, a.dtype()), a.value()), {a},
                Saves::inputs_and_output(),
                [](const BackwardContext& c) { return grads(neg(c.grad * c.output / c.inputs[0])); });
}

Var pow(const Var& a, double s) {
  return record("pow_scalar", pow(a.value(), s), {a}, Saves::inputs(), [s](const BackwardContext& c) {
    return grads(c.grad * pow(c.inputs[0], s - 1.0) * s);
  });
}

Var operator+(const Var& a, const Var& b) { return add(a, b); }
Var operator-(const Var& a, const Var& b) { return sub(a, b); }
Var operator*(const Var& a, const Var& b) { return mul(a, b); }
Var operator/(const Var& a, const Var& b) { return div(a, b); }
Var operator+(const Var& a, double s) { return add(a, s); }
Var operator+(double s, const Var& a) { return add(a, s); }
Var operator-(const Var& a, double s) { return sub(a, s); }
Var operator-(double s, const Var& a) { return sub(s, a); }
Var operator*(const Var& a, double s) { return mul(a, s); }
Var operator*(double s, const Var& a) { return mul(a, s); }
Var operator/(const Var& a, double s) { return div(a, s); }
Var operator/(double s, const Var& a) { return div(s, a); }
Var operator-(const Var& a) { return neg(a); }

// ---- unary ----

Var neg(const Var& x) {
  return record("neg", neg(x.value()), {x}, Saves::nothing(),
                [](const BackwardContext& c) { return grads(neg(c.grad)); });
}

Var abs(const Var& x) {
  return record("abs", abs(x.value()), {x}, Saves::inputs(), [](const BackwardContext& c) {
    return grads(c.grad * Var(sign(c.inputs[0].value())));
  });
}

Var exp(const Var& x) {
  return record("exp", exp(x.value()), {x}, Saves::output_only(),
                [](const BackwardContext& c) { return grads(c.grad * c.output); });
}

Var log(const Var& x) {
  return record("log", log(x.value()), {x}, Saves::inputs(),
                [](const BackwardContext& c) { return grads(c.grad / c.inputs[0]); });
}

Var sqrt(const Var& x) {
  return record("sqrt", sqrt(x.value()), {x}, Saves::output_only(),
                [](const BackwardContext& c) { return grads(c.grad * 0.5 / c.output); });
}

Var square(const Var& x) {
  return record("square", square(x.value()), {x}, Saves::inputs(),
                [](const BackwardContext& c) { return grads(c.grad * c.inputs[0] * 2.0); });
}

Var reciprocal(const Var& x) {
  return record("reciprocal", reciprocal(x.value()), {x}, Saves::output_only(),
                [](const BackwardContext& c) { return grads(neg(c.grad * square(c.output))); });
}

Var sin(const Var& x) {
  return record("sin", sin(x.value()), {x}, Saves::inputs(),
                [](const BackwardContext& c) { return grads(c.grad * cos(c.inputs[0])); });
}

Var cos(const Var& x) {
  return record("cos", cos(x.value()), {x}, Saves::inputs(),
                [](const BackwardContext& c) { return grads(neg(c.grad * sin(c.inputs[0]))); });
}

Var axpy(const Var& y, const Var& x, double alpha) {
  // y, x: [...] of one shape and dtype -> y + alpha·x
  if (!y.defined() || !x.defined() || y.shape() != x.shape() || y.dtype() != x.dtype() || !is_floating(y.dtype()))
    return add(y, mul(x, alpha));
  const Tensor &a = y.value(), &b = x.value();
  Tensor out;
  if (a.is_contiguous() && b.is_contiguous() && a.device().is_cpu() && b.device().is_cpu()) {
    out = Tensor::empty(a.shape(), a.dtype());
    detail::dispatch_float(a.dtype(), "axpy", [&](auto tag) {
      using T = decltype(tag);
      const T *pa = a.data<T>(), *pb = b.data<T>();
      T* po = out.data<T>();
      const T c = static_cast<T>(alpha);
      parallel_for(0, a.numel(), kDefaultGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t k = lo; k < hi; ++k) po[k] = pa[k] + c * pb[k];  // as add_ rounds
      });
    });
  } else {
    out = a.clone();
    add_(out, b, alpha);  // out += T(alpha)·x: the product rounded, then the sum, as mul and add
  }
  return record("axpy", out, {y, x}, Saves::nothing(), [alpha](const BackwardContext& c) {
    const bool scale = alpha != 1.0;  // a residual block's h = 1 passes the gradient through
    return grads(c.needs_grad(0) ? c.grad : Var(),
                 c.needs_grad(1) ? (scale ? mul(c.grad, alpha) : c.grad) : Var());
  });
}

}  // namespace stablenn
