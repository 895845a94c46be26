// notebooks_cpp/ch07_model.h — the dense non-expansive classifier of chapter 7
// (book/A-references.md §A.4), shared by the chapter program and its benchmark
// (bench/bench_lipschitz.cpp), so both run the same model.
#pragma once
#include <memory>

#include "layers/activations.h"
#include "layers/losses.h"
#include "layers/stable/gradient_step_block.h"
#include "layers/stable/norm_layers.h"

namespace stablenn::ch07 {

// The sizes of the network: width 256 and 5 blocks as in book/A-references.md §A.4.
struct NetConfig {
  int64_t inputs = 784, width = 256, classes = 10, blocks = 5;
  double time = 1.0;   // T of every block
  double slope = 0.1;  // LeakyReLU slope
  BlockIntegrator integrator = BlockIntegrator::kEuler;
};

// Flatten, a lift Linear(inputs -> width) normalised to spectral norm <= 1, `blocks` gradient-step
// blocks (A: width x width, T, adaptive sub-steps), a head Linear(width -> classes) normalised to
// <= 1: 1-Lipschitz from pixels to logits.
inline std::shared_ptr<Sequential> make_nonexpansive_mlp(const NetConfig& c, Generator& g,
                                                         DType dtype = DType::Float32) {
  auto net = std::make_shared<Sequential>();
  net->add(std::make_shared<Flatten>());
  net->add(std::make_shared<SpectralNormLinear>(c.inputs, c.width, true, NormScaling::kAtMostOne,
                                                PowerIterationSchedule{}, g, dtype));
  GradientStepOptions block;
  block.time = c.time;
  block.integrator = c.integrator;
  block.activation = Activation::leaky_relu(c.slope);
  for (int64_t i = 0; i < c.blocks; ++i) net->add(dense_gradient_step(c.width, c.width, block, g, dtype));
  net->add(std::make_shared<SpectralNormLinear>(c.width, c.classes, true, NormScaling::kAtMostOne,
                                                PowerIterationSchedule{}, g, dtype));
  return net;
}

// The sub-steps each block took in the last forward pass, in order.
inline std::vector<int64_t> substeps_per_block(const Sequential& net) {
  std::vector<int64_t> n;
  for (const auto& child : net.children())
    if (auto* b = dynamic_cast<const GradientStepBlock*>(child.second.get())) n.push_back(b->last_step().substeps);
  return n;
}

// The sub-steps the blocks took in the last forward pass, added up.
inline int64_t total_substeps(const Sequential& net) {
  int64_t n = 0;
  for (int64_t s : substeps_per_block(net)) n += s;
  return n;
}

// Cross-entropy of temperature·logits: a 1-Lipschitz network's logits move little, and plain
// cross-entropy under-trains it (book/A-references.md §A.4: temperature 16 gave 88.2 %, 8 gave 86.4 %).
inline Var temperature_cross_entropy(const Var& logits, const Tensor& labels, double temperature) {
  return cross_entropy(mul(logits, temperature), labels);
}

}  // namespace stablenn::ch07
