// ode/state_var.h — the ODE state interface for autodiff Vars (chapter 4; used by chapter 5).
//
// With these overloads every solver of ode/ runs on Var states: lincomb is built from the recorded
// ops add and mul-by-scalar, so the steps of a solve land on the tape and backward() differentiates
// through them (discretise-then-optimise). The error norms only steer the step size, a
// non-differentiable decision, so they read the values and record nothing.
// Include this header before instantiating a solver on Var (it is found by argument-dependent lookup).
#pragma once
#include <vector>

#include "autodiff/var.h"

namespace stablenn {

// Chapter 4: y + h Σ_i coeffs[i] * ks[i], recorded on the tape; zero coefficients are skipped.
// Every ks[i] must have y's shape (no silent broadcasting).
Var lincomb(const Var& y, double h, const std::vector<const Var*>& ks,
            const std::vector<double>& coeffs);

// Chapter 4: as the std::vector<double> overloads (ode/state_vector.h), on the values.
double scaled_rms(const Var& x, const Var& reference, double rtol, double atol);
double error_ratio(const Var& y0, const Var& y1, double h, const std::vector<const Var*>& ks,
                   const std::vector<double>& err_coeffs, double rtol, double atol);

}  // namespace stablenn
