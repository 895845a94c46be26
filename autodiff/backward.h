// autodiff/backward.h — reverse-mode differentiation by replaying the tape backwards (chapter 2).
#pragma once
#include <vector>

#include "autodiff/var.h"

namespace stablenn {

// Chapter 2: accumulates d(root)/d(leaf) into leaf.grad() for every leaf marked requires_grad.
// `seed` is dL/d(root); it may be omitted only when root has one element (then it is 1).
// retain_graph keeps the tape for another backward; otherwise the rules and the values they saved are
// freed. create_graph records the backward pass itself, so the gradients can be differentiated again
// (it implies retain_graph). Note: with create_graph the stored .grad() refers back to the leaf through
// its graph; call zero_grad() when done, or prefer grad() below, which stores nothing.
void backward(const Var& root, const Var& seed = Var(), bool retain_graph = false,
              bool create_graph = false);

// Chapter 2: options of grad().
struct GradOptions {
  bool create_graph = false;  // record the backward pass (higher-order gradients); implies retain_graph
  bool retain_graph = false;  // keep the tape for another backward over the same outputs
  bool allow_unused = false;  // an input the outputs do not depend on gets an undefined Var, not an error
};

// Chapter 2: the gradients of sum_k <seeds[k], outputs[k]> with respect to `inputs`, returned instead of
// accumulated (nothing is written to .grad()). Inputs may be leaves or intermediate values.
// seeds may be empty when every output has one element.
std::vector<Var> grad(const std::vector<Var>& outputs, const std::vector<Var>& inputs,
                      const std::vector<Var>& seeds = {}, GradOptions options = {});

}  // namespace stablenn
