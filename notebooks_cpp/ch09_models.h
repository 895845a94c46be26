// notebooks_cpp/ch09_models.h — the CIFAR-10 architecture of Celledoni et al.
// (book/A-references.md §A.5) with four kinds of dynamic layers, shared by the chapter 9 program
// (and, later, the CUDA full runs).
//
// Three stages with C₁, C₂, C₃ channels (32/64/128 in the paper), each: a lift convolution
// (3x3, C_in -> C), four dynamic layers, a 2x2 max-pool; then Linear(C₃·4·4 -> 10). The dynamic
// layers are 4 Euler ResNet steps (unconstrained), 4 non-expansive gradient steps, or one
// contractive/expansive pair with S = 2 sub-steps (= 2 contractive + 2 expansive layers),
// prescribed or flexible. All but the ResNet normalise their lift and head to spectral norm <= 1,
// so their Lipschitz bound is computed in pixel space (no input normalisation).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/stable/gradient_step_block.h"
#include "layers/stable/norm_layers.h"
#include "layers/stable/resnet_block.h"
#include "layers/stable/switching_blocks.h"

namespace stablenn::ch09 {

// The dynamic layers of a model.
enum class Dynamics { kResNet, kNonExpansive, kPrescribed, kFlexible };

inline const char* dynamics_name(Dynamics d) {
  switch (d) {
    case Dynamics::kResNet: return "unconstrained ResNet";
    case Dynamics::kNonExpansive: return "non-expansive";
    case Dynamics::kPrescribed: return "prescribed switching";
    case Dynamics::kFlexible: return "flexible switching";
  }
  return "?";
}

// "resnet", "nonexpansive", "prescribed", "flexible" -> Dynamics; throws naming the choices.
inline Dynamics parse_dynamics(const std::string& name) {
  if (name == "resnet") return Dynamics::kResNet;
  if (name == "nonexpansive") return Dynamics::kNonExpansive;
  if (name == "prescribed") return Dynamics::kPrescribed;
  if (name == "flexible") return Dynamics::kFlexible;
  fail("--models: unknown model '", name, "' (choose from resnet, nonexpansive, prescribed, flexible)");
}

// The model; widths = {C1, C2, C3}, input 3 x 32 x 32. dtype Float64 builds the copy that verifies
// adversarial examples (robust/robust_eval.h).
inline std::shared_ptr<Sequential> make_cifar_model(Dynamics dynamics, const std::vector<int64_t>& widths,
                                                    Generator& g, DType dtype = DType::Float32) {
  SNN_CHECK(widths.size() == 3, "make_cifar_model: expected three stage widths, got ", widths.size());
  const bool constrained = dynamics != Dynamics::kResNet;
  auto net = std::make_shared<Sequential>();
  int64_t in = 3, size = 32;
  for (int64_t c : widths) {
    if (constrained)
      net->add(std::make_shared<SpectralNormConv2d>(in, c, 3, size, size, 1, 1, true, NormScaling::kAtMostOne,
                                                    PowerIterationSchedule{}, g, dtype));
    else
      net->add(std::make_shared<Conv2d>(in, c, 3, 1, 1, true, g, dtype));
    const MapGeometry geometry = MapGeometry::convolution(c, c, size, size, 3);
    switch (dynamics) {
      case Dynamics::kResNet:
        for (int i = 0; i < 4; ++i) net->add(std::make_shared<EulerResNetBlock>(geometry, ResNetStepOptions{}, g, dtype));
        break;
      case Dynamics::kNonExpansive:
        for (int i = 0; i < 4; ++i) net->add(std::make_shared<GradientStepBlock>(geometry, GradientStepOptions{}, g, dtype));
        break;
      case Dynamics::kPrescribed:
      case Dynamics::kFlexible: {
        SwitchingOptions o;
        o.mode = dynamics == Dynamics::kPrescribed ? SwitchingMode::kPrescribed : SwitchingMode::kFlexible;
        o.contractive_step = dynamics == Dynamics::kPrescribed ? 1.0 : 0.65;
        net->add(std::make_shared<SwitchingPair>(geometry, o, g, dtype));
        break;
      }
    }
    net->add(std::make_shared<MaxPool2d>(2));
    in = c;
    size /= 2;
  }
  net->add(std::make_shared<Flatten>());
  const int64_t features = widths[2] * size * size;
  if (constrained)
    net->add(std::make_shared<SpectralNormLinear>(features, 10, true, NormScaling::kAtMostOne, PowerIterationSchedule{}, g, dtype));
  else
    net->add(std::make_shared<Linear>(features, 10, true, g, dtype));
  return net;
}

}  // namespace stablenn::ch09
