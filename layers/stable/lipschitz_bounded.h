// layers/stable/lipschitz_bounded.h — the interface of a layer that knows an upper bound of its
// Lipschitz constant (chapter 7). The stable layers and blocks implement it; robust/lipschitz.h
// multiplies the bounds along a network.
#pragma once

namespace stablenn {

// Chapter 7: a module that knows an upper bound of its Lipschitz constant (ℓ2 norm in, ℓ2 out).
// Derive a layer from both Module and LipschitzBounded.
class LipschitzBounded {
 public:
  virtual ~LipschitzBounded() = default;
  // The bound of the evaluation-mode map. Not const: it may run a power iteration to convergence.
  virtual double lipschitz_bound() = 0;
};

}  // namespace stablenn
