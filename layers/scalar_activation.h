// layers/scalar_activation.h — an element-wise activation together with the slope bounds the
// stability analysis needs (chapter 7).
//
// The step-size rules of chapter 7 need Lip(σ) = sup σ', and the contractive step of chapter 9 needs
// the smallest slope a = inf σ' (the gradient step x − hAᵀσ(Ax + b) is a gradient step of a convex
// function only when σ is non-decreasing, a >= 0). An element-wise σ satisfies, for every u, v and
// component i, σ(u_i) − σ(v_i) = d_i (u_i − v_i) with d_i in [a, Lip(σ)]: every bound in these
// blocks rests on that one fact.
#pragma once
#include <functional>
#include <string>

#include "autodiff/autodiff.h"

namespace stablenn {

// Chapter 7: σ with its slope bounds.
struct ScalarActivation {
  std::string name;
  std::function<Var(const Var&)> fn;
  double lipschitz = 1.0;  // sup σ'
  double min_slope = 0.0;  // inf σ' (negative: σ is not monotone)

  Var operator()(const Var& x) const { return fn(x); }
  // LeakyReLU with slope in [0, 1]: slopes in [slope, 1].
  static ScalarActivation leaky_relu(double slope);
  static ScalarActivation relu();      // slopes in [0, 1]
  static ScalarActivation tanh();      // slopes in (0, 1]
  static ScalarActivation identity();  // slope 1 (linear blocks, tests)
};

}  // namespace stablenn
