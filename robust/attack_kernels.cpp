// robust/attack_kernels.cpp — fused per-example kernels of the attacks and their references (chapter 8).
#include "robust/attack_kernels.h"

#include <cmath>
#include <cstring>

#include "core/dispatch.h"
#include "core/parallel.h"

namespace stablenn::attack_kernels {

namespace {

Shape per_example_shape(const Tensor& x) {
  Shape s(x.dim(), 1);
  s[0] = x.size(0);
  return s;
}

// The fused l2 paths need float tensors of one shape, contiguous, at least one example.
bool fusable(AttackNorm norm, std::initializer_list<const Tensor*> ts) {
  if (norm != AttackNorm::L2) return false;
  const Tensor& first = **ts.begin();
  if (!is_floating(first.dtype()) || first.dim() < 2 || first.numel() == 0 || !first.device().is_cpu()) return false;
  for (const Tensor* t : ts)
    if (t->shape() != first.shape() || t->dtype() != first.dtype() || !t->is_contiguous() ||
        !t->device().is_cpu())
      return false;
  return true;
}

// per_example_norm of one row: float squares, summed in double in order, rounded, square-rooted.
template <class T>
T row_norm(const T* p, int64_t d) {
  double s = 0;
  for (int64_t k = 0; k < d; ++k) {
    const T sq = p[k] * p[k];
    s += sq;
  }
  return std::sqrt(T(s));
}

template <class T>
T clamp_to(T v, T lo, T hi) {  // clamp()'s expression
  return v < lo ? lo : (v > hi ? hi : v);
}

// out[i, :] = point(i, k) for every k, then out projected as project_reference does: delta = out − x,
// scale = clamp(eps / (‖delta‖ + 1e-12), 0, 1), out = clamp(x + delta·scale, lo, hi).
template <class T, class Point>
Tensor project_rows(const Tensor& x, double eps, double lo, double hi, const Point& point) {
  const int64_t n = x.size(0), d = x.numel() / n;
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  const T* xp = x.data<T>();
  T* op = out.data<T>();
  const T teps = T(eps), tiny = T(1e-12), tlo = T(lo), thi = T(hi);
  parallel_for(0, n, std::max<int64_t>(1, kDefaultGrain / (8 * d)), [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      const T* xr = xp + i * d;
      T* o = op + i * d;
      for (int64_t k = 0; k < d; ++k) o[k] = point(i, k) - xr[k];
      const T scale = clamp_to(T(teps / (row_norm(o, d) + tiny)), T(0), T(1));
      for (int64_t k = 0; k < d; ++k) o[k] = clamp_to(T(xr[k] + o[k] * scale), tlo, thi);
    }
  });
  return out;
}

}  // namespace

Tensor project_reference(const Tensor& x, const Tensor& x_adv, AttackNorm norm, double eps, double lo,
                         double hi) {
  return clamp(add(x, project_to_ball(sub(x_adv, x), norm, eps)), lo, hi);
}

Tensor project(const Tensor& x, const Tensor& x_adv, AttackNorm norm, double eps, double lo, double hi) {
  if (!fusable(norm, {&x, &x_adv})) return project_reference(x, x_adv, norm, eps, lo, hi);
  const int64_t d = x.numel() / x.size(0);
  return detail::dispatch_float(x.dtype(), "project", [&](auto tag) {
    using T = decltype(tag);
    const T* a = x_adv.data<T>();
    return project_rows<T>(x, eps, lo, hi, [&](int64_t i, int64_t k) { return a[i * d + k]; });
  });
}

Tensor step_and_project_reference(const Tensor& x, const Tensor& cur, const Tensor& g,
                                  const std::vector<double>& eta, AttackNorm norm, double eps, double lo,
                                  double hi) {
  Tensor direction;
  if (norm == AttackNorm::Linf) {
    direction = sign(g);
  } else {
    const Tensor n = per_example_norm(g).reshape(per_example_shape(g));
    direction = div(g, add(n, 1e-12));
  }
  const Tensor step = mul(direction, Tensor::from_vector(eta, per_example_shape(cur), cur.dtype()));
  return project_reference(x, add(cur, step), norm, eps, lo, hi);
}

Tensor step_and_project(const Tensor& x, const Tensor& cur, const Tensor& g, const std::vector<double>& eta,
                        AttackNorm norm, double eps, double lo, double hi) {
  if (!fusable(norm, {&x, &cur, &g}) || static_cast<int64_t>(eta.size()) != x.size(0))
    return step_and_project_reference(x, cur, g, eta, norm, eps, lo, hi);
  const int64_t n = x.size(0), d = x.numel() / n;
  return detail::dispatch_float(x.dtype(), "step_and_project", [&](auto tag) {
    using T = decltype(tag);
    const T *c = cur.data<T>(), *gp = g.data<T>();
    // ‖g_i‖ + 1e-12 and eta_i in T, as the reference's tensors hold them
    std::vector<T> denom(n), step(n);
    for (int64_t i = 0; i < n; ++i) {
      denom[i] = T(row_norm(gp + i * d, d) + T(1e-12));
      step[i] = T(eta[i]);
    }
    return project_rows<T>(x, eps, lo, hi, [&](int64_t i, int64_t k) {
      const T direction = gp[i * d + k] / denom[i];
      return T(c[i * d + k] + T(direction * step[i]));
    });
  });
}

Tensor momentum_and_project_reference(const Tensor& x, const Tensor& cur, const Tensor& z, const Tensor& prev,
                                      double a, AttackNorm norm, double eps, double lo, double hi) {
  return project_reference(x, add(cur, add(mul(sub(z, cur), a), mul(sub(cur, prev), 1.0 - a))), norm, eps, lo, hi);
}

Tensor momentum_and_project(const Tensor& x, const Tensor& cur, const Tensor& z, const Tensor& prev, double a,
                            AttackNorm norm, double eps, double lo, double hi) {
  if (!fusable(norm, {&x, &cur, &z, &prev})) return momentum_and_project_reference(x, cur, z, prev, a, norm, eps, lo, hi);
  const int64_t d = x.numel() / x.size(0);
  return detail::dispatch_float(x.dtype(), "momentum_and_project", [&](auto tag) {
    using T = decltype(tag);
    const T *c = cur.data<T>(), *zp = z.data<T>(), *pp = prev.data<T>();
    const T ta = T(a), tb = T(1.0 - a);
    return project_rows<T>(x, eps, lo, hi, [&](int64_t i, int64_t k) {
      const int64_t j = i * d + k;
      return T(c[j] + T(T((zp[j] - c[j]) * ta) + T((c[j] - pp[j]) * tb)));
    });
  });
}

Tensor choose_rows_reference(const std::vector<bool>& mask, const Tensor& t, const Tensor& otherwise) {
  std::vector<double> m(mask.begin(), mask.end());
  return where(Tensor::from_vector(m, per_example_shape(t), t.dtype()), t, otherwise);
}

Tensor choose_rows(const std::vector<bool>& mask, const Tensor& t, const Tensor& otherwise) {
  if (t.shape() != otherwise.shape() || t.dtype() != otherwise.dtype() || t.dim() < 1 ||
      static_cast<int64_t>(mask.size()) != t.size(0) || !t.is_contiguous() || !otherwise.is_contiguous() ||
      !t.device().is_cpu() || !otherwise.device().is_cpu())
    return choose_rows_reference(mask, t, otherwise);
  const int64_t n = t.size(0);
  Tensor out = Tensor::empty(t.shape(), t.dtype());
  const size_t row_bytes = n == 0 ? 0 : t.numel() / n * dtype_size(t.dtype());
  const char *a = static_cast<const char*>(t.raw_data()), *b = static_cast<const char*>(otherwise.raw_data());
  char* o = static_cast<char*>(out.raw_data());
  for (int64_t i = 0; i < n; ++i) std::memcpy(o + i * row_bytes, (mask[i] ? a : b) + i * row_bytes, row_bytes);
  return out;
}

}  // namespace stablenn::attack_kernels
