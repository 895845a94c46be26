// ode/state_vector.h — the ODE state interface for plain std::vector<double> states (chapter 4).
//
// The solvers (ode/rk_step.h, ode/solve_fixed.h, ode/solve_adaptive.h, ode/symplectic.h) are written
// once against a `State` type and need exactly three free functions of it, found by overloading:
//   lincomb(y, h, ks, coeffs)   y + h Σ_i coeffs_i ks_i         (the only op the steps are made of)
//   scaled_rms(x, ref, rtol, atol)
//                               sqrt(mean_i (x_i / (atol + rtol |ref_i|))²)   (initial step size)
//   error_ratio(y0, y1, h, ks, err_coeffs, rtol, atol)
//                               rms_i(e_i / (atol + rtol max(|y0_i|, |y1_i|))), e = h Σ err_coeffs_j ks_j
// This file has the overloads for std::vector<double>; ode/state_var.h has those for autodiff Vars,
// whose lincomb is recorded on the tape so that gradients flow through the solver's steps.
#pragma once
#include <vector>

namespace stablenn {

// Chapter 4: y + h Σ_i coeffs[i] * ks[i]; zero coefficients are skipped. All vectors have y's length.
std::vector<double> lincomb(const std::vector<double>& y, double h,
                            const std::vector<const std::vector<double>*>& ks,
                            const std::vector<double>& coeffs);

// Chapter 4: the root mean square of x measured in units of atol + rtol |reference|.
double scaled_rms(const std::vector<double>& x, const std::vector<double>& reference, double rtol,
                  double atol);

// Chapter 4: the adaptive controller's error ratio (book/A-references.md §A.3): accept when <= 1.
double error_ratio(const std::vector<double>& y0, const std::vector<double>& y1, double h,
                   const std::vector<const std::vector<double>*>& ks,
                   const std::vector<double>& err_coeffs, double rtol, double atol);

}  // namespace stablenn
