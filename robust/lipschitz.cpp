// robust/lipschitz.cpp — bounds of modules and of whole networks (chapter 7).
#include "robust/lipschitz.h"

#include <algorithm>
#include <cmath>

#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/normalization.h"
#include "layers/stable/spectral_norm.h"

namespace stablenn {

namespace {

// The known bound of a built-in layer, or a negative value when the module is not one.
double builtin_bound(Module& m) {
  if (auto* a = dynamic_cast<Activation*>(&m)) return a->lipschitz();  // carried by the type
  if (dynamic_cast<Flatten*>(&m) || dynamic_cast<Dropout*>(&m) || dynamic_cast<GlobalAvgPool2d*>(&m))
    return 1.0;
  if (auto* p = dynamic_cast<AvgPool2d*>(&m)) return avg_pool_lipschitz(p->kernel, p->stride);
  if (auto* p = dynamic_cast<MaxPool2d*>(&m)) return max_pool_lipschitz(p->kernel, p->stride);
  if (auto* l = dynamic_cast<Linear*>(&m)) return singular_values(l->weight.value())[0];
  if (auto* c = dynamic_cast<Conv2d*>(&m)) return convolution_norm_bound(c->weight.value());
  if (auto* bn = dynamic_cast<BatchNorm*>(&m)) {
    const std::vector<double> gamma = bn->weight.value().to_vector();
    const std::vector<double> var = bn->running_var.to_vector();
    double bound = 0;
    for (size_t c = 0; c < gamma.size(); ++c)
      bound = std::max(bound, std::abs(gamma[c]) / std::sqrt(var[c] + bn->eps));
    return bound;
  }
  return -1.0;
}

}  // namespace

double avg_pool_lipschitz(int64_t kernel, int64_t stride) {
  SNN_CHECK(kernel > 0 && stride > 0, "avg_pool_lipschitz: kernel and stride must be positive, got ",
            kernel, ", ", stride);
  const int64_t overlap = (kernel + stride - 1) / stride;  // ⌈k/s⌉
  return double(overlap) / double(kernel);
}

double max_pool_lipschitz(int64_t kernel, int64_t stride) {
  SNN_CHECK(kernel > 0 && stride > 0, "max_pool_lipschitz: kernel and stride must be positive, got ",
            kernel, ", ", stride);
  return double((kernel + stride - 1) / stride);
}

double lipschitz_bound(Module& module) {
  if (auto* bounded = dynamic_cast<LipschitzBounded*>(&module)) return bounded->lipschitz_bound();
  if (dynamic_cast<Sequential*>(&module)) {
    double product = 1.0;
    for (const auto& [name, child] : module.children()) {
      try {
        product *= lipschitz_bound(*child);
      } catch (const Error& e) {
        fail("lipschitz_bound: layer '", name, "' (", child->describe(), "): ", e.what());
      }
    }
    return product;
  }
  const double known = builtin_bound(module);
  SNN_CHECK(known >= 0, "lipschitz_bound: module '", module.describe(),
            "' has no known Lipschitz bound (derive it from LipschitzBounded, or use a Sequential "
            "of layers that have one)");
  return known;
}

std::vector<LayerBound> layer_bounds(Module& module) {
  std::vector<LayerBound> rows;
  if (dynamic_cast<Sequential*>(&module) && dynamic_cast<LipschitzBounded*>(&module) == nullptr) {
    for (const auto& [name, child] : module.children())
      rows.push_back({name, child->describe(), lipschitz_bound(*child)});
  } else {
    rows.push_back({"", module.describe(), lipschitz_bound(module)});
  }
  return rows;
}

}  // namespace stablenn
