// layers/scalar_activation.cpp — activations with slope bounds (chapter 7).
#include "layers/scalar_activation.h"

namespace stablenn {

ScalarActivation ScalarActivation::leaky_relu(double slope) {
  SNN_CHECK(slope >= 0 && slope <= 1, "ScalarActivation::leaky_relu: slope must be in [0, 1], got ",
            slope);
  return {"LeakyReLU(" + std::to_string(slope).substr(0, 4) + ")",
          [slope](const Var& x) { return stablenn::leaky_relu(x, slope); }, 1.0, slope};
}

ScalarActivation ScalarActivation::relu() {
  return {"ReLU", [](const Var& x) { return stablenn::relu(x); }, 1.0, 0.0};
}

ScalarActivation ScalarActivation::tanh() {
  return {"tanh", [](const Var& x) { return stablenn::tanh(x); }, 1.0, 0.0};
}

ScalarActivation ScalarActivation::identity() {
  return {"identity", [](const Var& x) { return x; }, 1.0, 1.0};
}

}  // namespace stablenn
