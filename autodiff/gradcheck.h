// autodiff/gradcheck.h — checking the tape's derivatives against finite differences (chapter 2).
//
// gradcheck compares the full Jacobian of f, row by row from the tape, with central differences
// (f(x + eps e_k) - f(x - eps e_k)) / (2 eps), column by column, all in float64. Its error is
// O(eps^2 f''') + O(machine eps / eps): with eps = 1e-6 both are far below the tolerance for smooth f.
// Keep inputs away from kinks (relu at 0, abs at 0, ties of max) where f is not differentiable.
#pragma once
#include <string>
#include <vector>

#include "autodiff/functional.h"

namespace stablenn {

// Chapter 2: tolerances of the comparison |analytic - numeric| <= atol + rtol * |numeric|.
struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-7;
  double rtol = 1e-5;
  uint64_t seed = 1234;  // gradgradcheck: seed of the random output gradient
};

// Chapter 2: the outcome, with the worst entry described when the check fails.
struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0.0;  // over all Jacobian entries
  std::string report;          // which input/output entry is worst, analytic vs numeric
  explicit operator bool() const { return ok; }
};

// Chapter 2: inputs are converted to Float64; f must keep that dtype.
GradcheckResult gradcheck(const VarFunction& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

// Chapter 2: second order. With a fixed random v of f's output shape, checks the function
// (x, v) -> v^T J_f(x) (computed with create_graph) by gradcheck, i.e. the derivatives of the backward
// pass itself, with respect to both the inputs and v.
GradcheckResult gradgradcheck(const VarFunction& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {});

}  // namespace stablenn
