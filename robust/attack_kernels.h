// robust/attack_kernels.h — the per-iteration tensor work of the attacks (chapter 8), fused into one
// pass over each example, beside the plain tensor-op compositions they replace (the references).
//
// An APGD iteration steps along the normalised gradient, projects onto the eps-ball and the pixel
// range, mixes in momentum and projects again: as tensor ops that is ~25 passes over [N, 784] and as
// many allocations, which cost more than the model's forward pass on small batches. The fused
// versions make the same float operations in the same order (l2 norms as sqrt of float squares
// summed in double, as per_example_norm does), so they give the references' results bit for bit;
// other norms, dtypes or layouts fall back to the references. x, cur, g, z, prev: [N, ...].
#pragma once
#include <vector>

#include "robust/attacks.h"

namespace stablenn::attack_kernels {

// x_adv projected onto the eps-ball around x, then clipped to [lo, hi].
Tensor project(const Tensor& x, const Tensor& x_adv, AttackNorm norm, double eps, double lo, double hi);
Tensor project_reference(const Tensor& x, const Tensor& x_adv, AttackNorm norm, double eps, double lo,
                         double hi);

// project(x, cur + ascent_direction(g)·eta_i): APGD's step, eta [N] per example.
Tensor step_and_project(const Tensor& x, const Tensor& cur, const Tensor& g, const std::vector<double>& eta,
                        AttackNorm norm, double eps, double lo, double hi);
Tensor step_and_project_reference(const Tensor& x, const Tensor& cur, const Tensor& g,
                                  const std::vector<double>& eta, AttackNorm norm, double eps, double lo,
                                  double hi);

// project(x, cur + ((z − cur)·a + (cur − prev)·(1 − a))): APGD's momentum.
Tensor momentum_and_project(const Tensor& x, const Tensor& cur, const Tensor& z, const Tensor& prev, double a,
                            AttackNorm norm, double eps, double lo, double hi);
Tensor momentum_and_project_reference(const Tensor& x, const Tensor& cur, const Tensor& z, const Tensor& prev,
                                      double a, AttackNorm norm, double eps, double lo, double hi);

// Rows of t where mask[i], else rows of otherwise (both [N, ...]): row copies.
Tensor choose_rows(const std::vector<bool>& mask, const Tensor& t, const Tensor& otherwise);
Tensor choose_rows_reference(const std::vector<bool>& mask, const Tensor& t, const Tensor& otherwise);

}  // namespace stablenn::attack_kernels
