// autodiff/functional.cpp — vjp, jvp (double-vjp trick), hvp and jacobian (chapter 2).
#include "autodiff/functional.h"

#include "autodiff/backward.h"
#include "autodiff/ops.h"
#include "autodiff/tape.h"

namespace stablenn {
namespace {

// The leaves f is evaluated at: the inputs themselves when their graph must be kept, else fresh leaves.
std::vector<Var> as_leaves(const std::vector<Var>& x, bool create_graph, const char* who) {
  std::vector<Var> out;
  for (size_t i = 0; i < x.size(); ++i) {
    SNN_CHECK(x[i].defined(), who, ": input #", i, " is undefined");
    SNN_CHECK(is_floating(x[i].dtype()), who, ": input #", i, " must be a float tensor, got ",
              dtype_name(x[i].dtype()));
    out.push_back(create_graph && x[i].requires_grad() ? x[i] : x[i].detach().requires_grad_(true));
  }
  return out;
}

// Undefined gradients (inputs f does not depend on) become zeros of the input's shape.
std::vector<Var> zeros_for_unused(std::vector<Var> g, const std::vector<Var>& x) {
  for (size_t i = 0; i < g.size(); ++i)
    if (!g[i].defined()) g[i] = zeros_like(x[i]);
  return g;
}

void check_same_shapes(const std::vector<Var>& v, const std::vector<Var>& x, const char* who) {
  SNN_CHECK(v.size() == x.size(), who, ": ", v.size(), " directions for ", x.size(), " inputs");
  for (size_t i = 0; i < v.size(); ++i)
    SNN_CHECK(v[i].defined() && v[i].shape() == x[i].shape(), who, ": direction #", i, " has shape ",
              v[i].defined() ? shape_str(v[i].shape()) : "undefined", ", expected ", shape_str(x[i].shape()));
}

}  // namespace

VjpResult vjp(const VarFunction& f, const std::vector<Var>& x, const Var& v, bool create_graph) {
  const std::vector<Var> leaves = as_leaves(x, create_graph, "vjp");
  VjpResult r;
  r.output = f(leaves);
  if (!r.output.requires_grad()) {  // f ignores its inputs
    r.vjp = zeros_for_unused(std::vector<Var>(x.size()), x);
    return r;
  }
  GradOptions opts;
  opts.create_graph = create_graph;
  opts.allow_unused = true;
  r.vjp = zeros_for_unused(grad({r.output}, leaves, {v}, opts), x);
  return r;
}

JvpResult jvp(const VarFunction& f, const std::vector<Var>& x, const std::vector<Var>& v, bool create_graph) {
  check_same_shapes(v, x, "jvp");
  const std::vector<Var> leaves = as_leaves(x, create_graph, "jvp");
  JvpResult r;
  r.output = f(leaves);
  if (!r.output.requires_grad()) {
    r.jvp = zeros_like(r.output);
    return r;
  }
  // g(u) = J^T u is linear in the dummy u; differentiating <g(u), v> by u gives J v.
  Var u = Var(Tensor::zeros(r.output.shape(), r.output.dtype()), true);
  GradOptions first;
  first.create_graph = true;
  first.allow_unused = true;
  const std::vector<Var> g = grad({r.output}, leaves, {u}, first);
  std::vector<Var> outs, seeds;
  for (size_t i = 0; i < g.size(); ++i)
    if (g[i].defined() && g[i].requires_grad()) {
      outs.push_back(g[i]);
      seeds.push_back(v[i]);
    }
  if (outs.empty()) {
    r.jvp = zeros_like(r.output);
    return r;
  }
  GradOptions second;
  second.create_graph = create_graph;
  second.allow_unused = true;
  const Var jv = grad(outs, {u}, seeds, second)[0];
  r.jvp = jv.defined() ? jv : zeros_like(r.output);
  return r;
}

HvpResult hvp(const VarFunction& f, const std::vector<Var>& x, const std::vector<Var>& v, bool create_graph) {
  check_same_shapes(v, x, "hvp");
  const std::vector<Var> leaves = as_leaves(x, create_graph, "hvp");
  HvpResult r;
  r.output = f(leaves);
  SNN_CHECK(r.output.numel() == 1, "hvp: f must return one element, got shape ", shape_str(r.output.shape()));
  if (!r.output.requires_grad()) {
    r.gradient = zeros_for_unused(std::vector<Var>(x.size()), x);
    r.hvp = r.gradient;
    return r;
  }
  GradOptions first;
  first.create_graph = true;
  first.allow_unused = true;
  const std::vector<Var> g = grad({r.output}, leaves, {}, first);
  r.gradient = zeros_for_unused(g, x);
  std::vector<Var> outs, seeds;
  for (size_t i = 0; i < g.size(); ++i)
    if (g[i].defined() && g[i].requires_grad()) {
      outs.push_back(g[i]);
      seeds.push_back(v[i]);
    }
  if (outs.empty()) {  // f is at most linear: H = 0
    r.hvp = zeros_for_unused(std::vector<Var>(x.size()), x);
    return r;
  }
  GradOptions second;
  second.create_graph = create_graph;
  second.allow_unused = true;
  r.hvp = zeros_for_unused(grad(outs, leaves, seeds, second), x);
  if (!create_graph)
    for (Var& gi : r.gradient) gi = gi.detach();
  return r;
}

std::vector<Tensor> jacobian(const VarFunction& f, const std::vector<Var>& x) {
  const std::vector<Var> leaves = as_leaves(x, false, "jacobian");
  const Var y = f(leaves);
  const int64_t rows = y.numel();
  std::vector<Tensor> jac;
  for (const Var& xi : x) jac.push_back(Tensor::zeros({rows, xi.numel()}, DType::Float64));
  if (!y.requires_grad()) return jac;
  GradOptions opts;
  opts.retain_graph = true;
  opts.allow_unused = true;
  for (int64_t r = 0; r < rows; ++r) {
    Tensor seed = Tensor::zeros({rows}, y.dtype());
    seed.set({r}, 1.0);
    const std::vector<Var> g = grad({y}, leaves, {Var(seed.reshape(y.shape()))}, opts);
    for (size_t i = 0; i < x.size(); ++i)
      if (g[i].defined()) jac[i].select(0, r).copy_(g[i].value().reshape({-1}));
  }
  return jac;
}

}  // namespace stablenn
