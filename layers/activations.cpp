// layers/activations.cpp — activation and pooling modules (chapter 3).
#include "layers/activations.h"

namespace stablenn {

std::shared_ptr<Activation> ReLU() {
  return std::make_shared<Activation>("ReLU", [](const Var& x) { return relu(x); });
}
std::shared_ptr<Activation> LeakyReLU(double slope) {
  return std::make_shared<Activation>("LeakyReLU(" + std::to_string(slope) + ")",
                                      [slope](const Var& x) { return leaky_relu(x, slope); });
}
std::shared_ptr<Activation> Tanh() {
  return std::make_shared<Activation>("Tanh", [](const Var& x) { return tanh(x); });
}
std::shared_ptr<Activation> Sigmoid() {
  return std::make_shared<Activation>("Sigmoid", [](const Var& x) { return sigmoid(x); });
}
std::shared_ptr<Activation> Softplus() {
  return std::make_shared<Activation>("Softplus", [](const Var& x) { return softplus(x); });
}
std::shared_ptr<Activation> ELU(double alpha) {
  return std::make_shared<Activation>("ELU(" + std::to_string(alpha) + ")",
                                      [alpha](const Var& x) { return elu(x, alpha); });
}
std::shared_ptr<Activation> GroupSort(int64_t group_size) {
  SNN_CHECK(group_size >= 2, "GroupSort: group size must be >= 2, got ", group_size);
  return std::make_shared<Activation>(
      group_size == 2 ? "MaxMin" : "GroupSort(" + std::to_string(group_size) + ")",
      [group_size](const Var& x) { return group_sort(x, group_size, 1); });
}

std::string AvgPool2d::describe() const {
  return "AvgPool2d(" + std::to_string(kernel) + ", stride " + std::to_string(stride) + ")";
}
std::string MaxPool2d::describe() const {
  return "MaxPool2d(" + std::to_string(kernel) + ", stride " + std::to_string(stride) + ")";
}

Var GlobalAvgPool2d::forward(const Var& x) {
  SNN_CHECK(x.dim() == 4, "GlobalAvgPool2d: expected input [N, C, H, W], got ",
            shape_str(x.shape()));
  return mean(x, {2, 3});
}

}  // namespace stablenn
