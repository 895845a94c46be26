// autodiff/node.h — one entry of the tape: an op's inputs, what it saved, and its backward rule
// (chapter 2).
//
// Every differentiable op is written as
//
//   Var exp(const Var& x) {
//     return record("exp", exp(x.value()), {x}, Saves::output_only(), [](const BackwardContext& c) {
//       return grads(c.grad * c.output);   // d exp(x) = exp(x) dx
//     });
//   }
//
// (autodiff/elementwise_ops.cpp defines exp this way; ARCHITECTURE.md indexes every op's forward and
// backward rule.)
// The backward rule is itself written with Var ops. Under plain backward it runs under NoGrad and costs
// what the Tensor code would; under create_graph it is recorded like any forward op, which is all that
// higher-order gradients need.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "autodiff/var.h"

namespace stablenn {

// Chapter 2: what a backward rule sees.
struct BackwardContext {
  const Var& grad;                  // dL/d(output), the output's shape
  const Var& output;                // the op's output, on the tape (rules such as exp reuse it)
  const std::vector<Var>& inputs;   // the op's inputs, in order
  const std::vector<bool>& wanted;  // wanted[i]: does input i need a gradient?
  bool needs_grad(size_t i) const { return wanted[i]; }
};

// Chapter 2: a backward rule returns one gradient per input (undefined Var: no gradient).
using BackwardFn = std::function<std::vector<Var>(const BackwardContext&)>;

// Chapter 2: which values a backward rule reads. The tape remembers their versions and refuses to run
// the rule if one was changed in place since the op was recorded.
struct Saves {
  uint32_t input_mask = 0;  // bit i: the rule reads input i's value
  bool output = false;      // the rule reads the output's value

  static Saves nothing() { return {}; }
  static Saves inputs() { return {0xffffffffu, false}; }
  static Saves input(int i) { return {1u << i, false}; }
  static Saves output_only() { return {0, true}; }
  static Saves inputs_and_output() { return {0xffffffffu, true}; }
};

// Chapter 2: a tape entry. Owned by its output's Var (grad_fn); the tape itself holds weak references.
struct Node {
  std::string op;
  uint64_t seq = 0;                      // position in execution order
  std::vector<Var> inputs;               // keeps the inputs (and their own nodes) alive
  std::vector<uint64_t> saved_versions;  // version of each saved input at record time
  uint32_t saved_mask = 0;
  bool saves_output = false;
  uint64_t output_version = 0;
  BackwardFn backward;
  VarImpl* output = nullptr;  // back-pointer: the output owns this node, so it outlives the node's use
  Var pending_grad;           // the gradient summed so far during a backward walk
  bool released = false;      // the backward rule and inputs were freed after a backward
};

// Chapter 2: the one place that appends to the tape. Returns `value` as a Var; when recording is on and
// some input requires grad, the Var gets a node holding `inputs` and `backward`.
Var record(const std::string& op, Tensor value, std::vector<Var> inputs, Saves saves,
           BackwardFn backward);

// Helper for rules: packs gradients in input order.
inline std::vector<Var> grads(Var g0) { return {std::move(g0)}; }
inline std::vector<Var> grads(Var g0, Var g1) { return {std::move(g0), std::move(g1)}; }
inline std::vector<Var> grads(Var g0, Var g1, Var g2) {
  return {std::move(g0), std::move(g1), std::move(g2)};
}

}  // namespace stablenn
