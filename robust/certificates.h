// robust/certificates.h — robustness certificates from a Lipschitz bound, and an empirical lower
// bound of the Lipschitz constant (chapter 7).
//
// If the logits N(x) are ℓ-Lipschitz in ℓ2, every difference N_k − N_j is √2·ℓ-Lipschitz (its
// gradient is e_k − e_j applied to N, and ‖e_k − e_j‖ = √2). So with margin
// m(x) = N(x)_k̂ − max_{k≠k̂} N(x)_k, no perturbation with ‖δ‖₂ < m(x)/(√2·ℓ) can change the
// prediction k̂: that is the certified radius. Certified accuracy at ε is the fraction of examples
// that are classified correctly AND have m(x) > √2·ℓ·ε.
#pragma once
#include <cstdint>
#include <vector>

#include "layers/module.h"

namespace stablenn {

// Chapter 7: m(x) per row of logits [N, K] (K >= 2): largest minus second largest.
std::vector<double> logit_margins(const Tensor& logits);
// Chapter 7: the certified radius m(x) / (√2·ℓ) per row (of the predicted class).
std::vector<double> certified_radii(const Tensor& logits, double lipschitz);
// Chapter 7: the fraction of rows predicted correctly with m(x) > √2·ℓ·ε. labels: [N] Int64.
double certified_accuracy(const Tensor& logits, const Tensor& labels, double lipschitz,
                          double epsilon);
// Chapter 7: certified_accuracy at each ε.
std::vector<double> certified_accuracy_curve(const Tensor& logits, const Tensor& labels,
                                             double lipschitz, const std::vector<double>& epsilons);

// Chapter 7: options of the empirical lower bound.
struct EmpiricalLipschitzOptions {
  int64_t random_pairs = 512;   // pairs (x, x + δ), x from the inputs, ‖δ‖ log-uniform in
  double min_distance = 1e-3;   //   [min_distance, max_distance], half of them between two inputs
  double max_distance = 1.0;
  int64_t ascent_pairs = 32;    // the best random pairs are then improved by gradient ascent
  int64_t ascent_steps = 100;   // on ‖f(x) − f(y)‖/‖x − y‖ in both x and y
  double ascent_rate = 0.05;    // step as a fraction of ‖x − y‖ (for y) and of max_distance (for x)
  uint64_t seed = 0;
};

// Chapter 7: the result: lower bounds of Lip(f) found each way, and the best pair.
struct EmpiricalLipschitzResult {
  double random_pairs = 0;  // max ratio over the random pairs
  double ascent = 0;        // max ratio seen during gradient ascent
  double best() const { return random_pairs > ascent ? random_pairs : ascent; }
  Tensor x, y;              // [1, ...] the pair with the largest ratio
};

// Chapter 7: max ‖f(x) − f(y)‖/‖x − y‖ over random and adversarially searched pairs around
// `inputs` [N, ...]: a LOWER bound of Lip(f), to set against the upper bound of lipschitz_bound().
// Runs the model in evaluation mode (restoring its mode afterwards), in the inputs' dtype: use
// float64 (model and inputs) to measure to 1e-6, since float32 rounding alone moves the ratio of
// close pairs by ~1e-4.
EmpiricalLipschitzResult empirical_lipschitz(Module& model, const Tensor& inputs,
                                             const EmpiricalLipschitzOptions& options = {});

}  // namespace stablenn
