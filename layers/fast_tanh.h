// layers/fast_tanh.h — tanh as a rational function the compiler vectorises (chapter 5).
//
// The core's tanh calls the C library's tanhf once per element; in the neural-ODE field of chapter 5
// (two tanh layers, 40+ evaluations per step) that was 60 % of a training step. This is the rational
// approximation Eigen uses (odd degree-13 numerator over even degree-6 denominator, input clamped to
// ±7.9, where tanh rounds to ±1 in float32): a few ulp in float32, branch-free, so the loop vectorises.
// Float64 tensors use std::tanh (the plain reference beside the fast path).
#pragma once
#include <memory>

#include "layers/activations.h"

namespace stablenn {

// Chapter 5: tanh(x) element-wise; float32 by the rational approximation, float64 by std::tanh.
Tensor fast_tanh(const Tensor& x);
// Chapter 5: the same on the tape; backward dx = dy (1 − y²).
Var fast_tanh(const Var& x);
// Chapter 5: as a module (the chapter 5 field uses it).
std::shared_ptr<Activation> FastTanh();

}  // namespace stablenn
