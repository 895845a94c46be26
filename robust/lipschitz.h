// robust/lipschitz.h — Lipschitz upper bounds of modules and whole networks (chapter 7).
//
// A network f = f_L ∘ ... ∘ f_1 has Lip(f) <= Π Lip(f_i) in the ℓ2 norm. Each layer reports a bound
// for the map it computes in EVALUATION mode (the map that is certified), through the
// LipschitzBounded interface (layers/stable/lipschitz_bounded.h); lipschitz_bound(module) multiplies
// along a Sequential and knows the built-in layers of chapter 3 (activations, pooling, Flatten,
// Dropout, BatchNorm, Linear, Conv2d).
// A layer with no known bound is an error naming it, never a silent 1: the bound must be in pixel
// space, input normalisation included (book/A-references.md §A.2).
#pragma once
#include <string>
#include <vector>

#include "layers/module.h"
#include "layers/stable/lipschitz_bounded.h"

namespace stablenn {

// Chapter 7: the bound of any module: a LipschitzBounded layer's own, the product of a Sequential's
// children, or the known bound of a built-in layer:
//   an Activation: the constant it carries (layers/activations.h: ReLU, Tanh, Softplus, MaxMin,
//   GroupSort: 1; LeakyReLU(s): max(1, |s|); Sigmoid: 1/4; ELU(α): max(1, |α|));
//   Flatten, Dropout (identity in evaluation): 1;
//   AvgPool2d(k, stride s): ⌈k/s⌉/k (see avg_pool_lipschitz); MaxPool2d: 1 when s >= k, else ⌈k/s⌉;
//   GlobalAvgPool2d: 1 (its exact 1/√(HW) needs the input size; use ScaledGlobalAvgPool2d);
//   BatchNorm (evaluation): max_c |γ_c| / √(running_var_c + eps);
//   Linear: σ_max(W) by SVD; Conv2d: convolution_norm_bound (valid at every input size).
// Throws, naming the layer, for a module with no known bound.
double lipschitz_bound(Module& module);

// Chapter 7: one row of a per-layer report.
struct LayerBound {
  std::string name;         // "0", "1.2", ... (as in named_parameters)
  std::string description;  // describe()
  double bound = 0;
};
// Chapter 7: the bound of each direct child of a Sequential (or of the module itself otherwise),
// for printing where a network's bound comes from.
std::vector<LayerBound> layer_bounds(Module& module);

// Chapter 7: ℓ2 Lipschitz constant bounds of pooling.
// Average pooling, window k, stride s: every output is the mean of k² inputs, |mean| <= ‖window‖/k by
// Cauchy–Schwarz (equality for a constant window), and each input lies in at most ⌈k/s⌉² windows, so
// ‖P‖² <= ‖P‖₁‖P‖∞ = (⌈k/s⌉²/k²)·1, i.e. ‖P‖ <= ⌈k/s⌉/k; exactly 1/k for s = k.
double avg_pool_lipschitz(int64_t kernel, int64_t stride);
// Max pooling: |max a − max b| <= max|a − b| <= ‖a − b‖ per window; windows overlap ⌈k/s⌉² times.
double max_pool_lipschitz(int64_t kernel, int64_t stride);

}  // namespace stablenn
