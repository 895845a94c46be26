// autodiff/functional.h — vector-Jacobian, Jacobian-vector and Hessian-vector products of a function,
// and its full Jacobian (chapter 2).
//
// All of them are built from grad(): reverse mode gives v^T J directly; J v comes from the "double vjp"
// trick (J v = d/du <J^T u, v>, exact because J^T u is linear in u); H v = d/dx <grad f(x), v>.
#pragma once
#include <functional>
#include <vector>

#include "autodiff/var.h"

namespace stablenn {

// Chapter 2: a differentiable function of several Vars with one Var result.
using VarFunction = std::function<Var(const std::vector<Var>&)>;

// With create_graph = false the inputs are treated as new leaves (the results are plain values). With
// create_graph = true, inputs that already require grad are used as they are, so the results can be
// differentiated further, e.g. with respect to parameters that f closes over (gradient penalties,
// Jacobian-norm regularisers).

// Chapter 2: f(x) and v^T J_f(x), one gradient per input (zeros where f does not depend on an input).
struct VjpResult {
  Var output;
  std::vector<Var> vjp;
};
VjpResult vjp(const VarFunction& f, const std::vector<Var>& x, const Var& v, bool create_graph = false);

// Chapter 2: f(x) and J_f(x) v = sum_i J_i v_i, where v has one direction per input.
struct JvpResult {
  Var output;
  Var jvp;
};
JvpResult jvp(const VarFunction& f, const std::vector<Var>& x, const std::vector<Var>& v,
              bool create_graph = false);

// Chapter 2: for a scalar f, the gradient and the Hessian-vector product H v (one block per input).
struct HvpResult {
  Var output;
  std::vector<Var> gradient;
  std::vector<Var> hvp;
};
HvpResult hvp(const VarFunction& f, const std::vector<Var>& x, const std::vector<Var>& v,
              bool create_graph = false);

// Chapter 2: the full Jacobian by reverse mode, one backward per output element: for each input a
// Float64 tensor [numel(f(x)), numel(x_i)].
std::vector<Tensor> jacobian(const VarFunction& f, const std::vector<Var>& x);

}  // namespace stablenn
