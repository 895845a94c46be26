// core/cuda/elementwise_ops.h — the per-element and per-row bodies of the CUDA kernels (chapter 12).
//
// Each function is written once, SNN_HOST_DEVICE: the kernels in core/cuda/*.cu call them per
// thread, and tests/ch12_cuda_host_test.cpp calls them on the CPU against the CPU ops (core/ops.h,
// train/optim.h, layers/losses.h), so the maths is checked on a machine without a GPU. Backward
// bodies take the upstream gradient g and what the forward saved (x or y), like the tape's rules.
#pragma once
#include <cstdint>

#include "core/cuda/host_device.h"

namespace stablenn::cuda {

// ---- binary (chapter 12) ----
template <class T> SNN_HOST_DEVICE inline T add_forward(T a, T b) { return a + b; }
template <class T> SNN_HOST_DEVICE inline T sub_forward(T a, T b) { return a - b; }
template <class T> SNN_HOST_DEVICE inline T mul_forward(T a, T b) { return a * b; }
template <class T> SNN_HOST_DEVICE inline T div_forward(T a, T b) { return a / b; }
// d(a*b): the gradient for a is g*b, for b it is g*a.
template <class T> SNN_HOST_DEVICE inline T mul_backward_a(T g, T b) { return g * b; }
template <class T> SNN_HOST_DEVICE inline T mul_backward_b(T g, T a) { return g * a; }

// ---- activations (chapter 12) ----
template <class T> SNN_HOST_DEVICE inline T relu_forward(T x) { return x > T(0) ? x : T(0); }
// The subgradient 0 at x = 0, as the CPU tape's relu_gate.
template <class T> SNN_HOST_DEVICE inline T relu_backward(T g, T x) { return x > T(0) ? g : T(0); }
// Two branches so that exp never overflows (the same as core/elementwise.cpp).
template <class T> SNN_HOST_DEVICE inline T sigmoid_forward(T x) {
  if (x >= T(0)) return T(1) / (T(1) + math_exp(-x));
  const T e = math_exp(x);
  return e / (T(1) + e);
}
template <class T> SNN_HOST_DEVICE inline T sigmoid_backward(T g, T y) { return g * y * (T(1) - y); }
// The CUDA tanh; the CPU's float32 tanh is a rational approximation within a few ulp of it.
template <class T> SNN_HOST_DEVICE inline T tanh_forward(T x) { return math_tanh(x); }
template <class T> SNN_HOST_DEVICE inline T tanh_backward(T g, T y) { return g * (T(1) - y * y); }

// ---- optimiser updates (chapter 12) ----
// y + alpha x: gradient accumulation and SGD (core/ops.h add_).
template <class T> SNN_HOST_DEVICE inline T axpy(T y, T alpha, T x) { return y + alpha * x; }

// Chapter 12: the constants of one Adam step, computed once on the host as train/optim.cpp does.
template <class T>
struct AdamConstants {
  T beta1, beta2, eps, weight_decay;
  T decay;      // 1 - lr * weight_decay (AdamW's decoupled decay)
  T step_size;  // lr / (1 - beta1^t)
  T sqrt_c2;    // sqrt(1 - beta2^t)
  bool decoupled;
};
// Chapter 12: host-side constants for step t (1-based) in the parameter's type.
template <class T>
AdamConstants<T> adam_constants(double lr, double beta1, double beta2, double eps,
                                 double weight_decay, bool decoupled, int64_t t) {
  const double c1 = 1 - std::pow(beta1, double(t)), c2 = 1 - std::pow(beta2, double(t));
  return {T(beta1), T(beta2), T(eps), T(weight_decay), T(1 - lr * weight_decay),
          T(lr / c1), T(std::sqrt(c2)), decoupled};
}
// Chapter 12: one element of Adam / AdamW, in PyTorch's form (train/optim.cpp adam_loop):
// p -= (lr / c1) m / (sqrt(v) / sqrt(c2) + eps).
template <class T>
SNN_HOST_DEVICE inline void adam_update(T& p, T g, T& m, T& v, const AdamConstants<T>& c) {
  if (c.decoupled) p *= c.decay;
  const T gk = c.decoupled ? g : g + c.weight_decay * p;
  m = c.beta1 * m + (T(1) - c.beta1) * gk;
  v = c.beta2 * v + (T(1) - c.beta2) * gk * gk;
  p -= c.step_size * m / (math_sqrt(v) / c.sqrt_c2 + c.eps);
}

// ---- rows of a [rows, n] matrix: softmax family (chapter 12) ----
// One thread per row in the kernels: the class counts here are small (10 for CIFAR-10).
template <class T> SNN_HOST_DEVICE inline T row_max(const T* x, int64_t n) {
  T m = x[0];
  for (int64_t j = 1; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}
// log sum exp, with the maximum subtracted first (core/ops.h logsumexp).
template <class T> SNN_HOST_DEVICE inline T row_logsumexp(const T* x, int64_t n) {
  const T m = row_max(x, n);
  T s = T(0);
  for (int64_t j = 0; j < n; ++j) s += math_exp(x[j] - m);
  return m + math_log(s);
}
template <class T> SNN_HOST_DEVICE inline void row_log_softmax(const T* x, T* y, int64_t n) {
  const T lse = row_logsumexp(x, n);
  for (int64_t j = 0; j < n; ++j) y[j] = x[j] - lse;
}
template <class T> SNN_HOST_DEVICE inline void row_softmax(const T* x, T* y, int64_t n) {
  const T m = row_max(x, n);
  T s = T(0);
  for (int64_t j = 0; j < n; ++j) {
    y[j] = math_exp(x[j] - m);
    s += y[j];
  }
  for (int64_t j = 0; j < n; ++j) y[j] /= s;
}
// Chapter 12: -log softmax(x)[label], the cross-entropy of one row (layers/losses.h averages it).
template <class T> SNN_HOST_DEVICE inline T row_cross_entropy(const T* x, int64_t n, int64_t label) {
  return row_logsumexp(x, n) - x[label];
}
// Its gradient with respect to the row, times `scale` (1/rows for the mean): softmax - one_hot.
template <class T>
SNN_HOST_DEVICE inline void row_cross_entropy_backward(const T* x, T* gx, int64_t n, int64_t label,
                                                       T scale) {
  row_softmax(x, gx, n);
  for (int64_t j = 0; j < n; ++j) gx[j] = scale * (gx[j] - (j == label ? T(1) : T(0)));
}

}  // namespace stablenn::cuda
