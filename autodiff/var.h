// autodiff/var.h — Var, the differentiable handle around a core Tensor (chapter 2).
//
// A Var is a shared handle (copying it copies the handle, not the data) holding:
//   value          the core Tensor computed by the forward pass;
//   requires_grad  for a leaf: backward() accumulates dL/dvalue into .grad();
//   grad_fn        for an intermediate: the tape node of the op that produced it (null for leaves);
//   version        a counter bumped by every in-place change, shared by views of the same data, so a
//                  backward rule can tell that a value it saved was overwritten after it was recorded.
// Ops on Vars (autodiff/ops.h) compute their value with the core and, when gradients are wanted, append
// a node to the tape (autodiff/tape.h); backward (autodiff/backward.h) replays the tape in reverse.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "core/tensor.h"

namespace stablenn {

struct VarImpl;
struct Node;

// Chapter 2: a value that can carry a gradient.
class Var {
 public:
  Var() = default;  // undefined (defined() == false): "no gradient", "no bias"
  // A leaf. Not explicit on purpose: a plain Tensor used in a Var expression is a constant.
  Var(Tensor value, bool requires_grad = false);  // NOLINT(google-explicit-constructor)
  explicit Var(std::shared_ptr<VarImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const Tensor& value() const;
  const Shape& shape() const { return value().shape(); }
  int64_t dim() const { return value().dim(); }
  int64_t size(int64_t axis) const { return value().size(axis); }
  int64_t numel() const { return value().numel(); }
  DType dtype() const { return value().dtype(); }
  double item() const { return value().item(); }

  // True for leaves marked requires_grad and for every value computed from them while recording.
  bool requires_grad() const;
  // Marks a leaf as a variable to differentiate by (float dtypes only); throws on non-leaves.
  Var& requires_grad_(bool on = true);
  bool is_leaf() const;
  // The gradient accumulated by backward(); undefined before the first backward or after zero_grad().
  Var grad() const;
  void zero_grad();                // drops the gradient (the next backward starts from nothing)
  void set_grad(const Var& grad);  // e.g. for gradient clipping; must have the value's shape
  // The same data, cut off from the tape: a constant that shares storage (and the version counter).
  Var detach() const;
  // "leaf", or the name of the op that produced this value.
  std::string op_name() const;
  // A name for printing the tape and drawing it (e.g. "W1"); empty by default.
  Var& set_name(const std::string& name);
  const std::string& name() const;

  // ---- in-place changes (not recorded on the tape; each bumps the version counter) ----
  // Allowed under NoGrad or on values that do not require grad: optimisers update parameters this way.
  uint64_t version() const;
  void add_(const Tensor& other, double alpha = 1.0);  // value += alpha * other
  void mul_(double factor);
  void copy_(const Tensor& source);
  void fill_(double fill);
  // Writable access to the value for other in-place changes: counts as one in-place change.
  Tensor& mutable_value();

  const std::shared_ptr<VarImpl>& impl() const { return impl_; }

 private:
  std::shared_ptr<VarImpl> impl_;
};

// The shared state behind a Var. Public so that the tape and DOT code can read it; users need only Var.
struct VarImpl : std::enable_shared_from_this<VarImpl> {
  Tensor value;
  bool requires_grad = false;          // leaf flag
  std::shared_ptr<Node> grad_fn;       // null for leaves and constants
  Var grad;                            // accumulated gradient (leaves)
  std::shared_ptr<uint64_t> version;   // shared with views of the same storage
  std::string name;
  // Hands grad_fn to an explicit work list instead of destroying it here, so that freeing a chain of
  // 100,000 nodes does not recurse 100,000 destructors deep (autodiff/var.cpp).
  ~VarImpl();
};

}  // namespace stablenn
