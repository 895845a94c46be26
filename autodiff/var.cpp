// autodiff/var.cpp — Var handles, leaves, in-place changes, and the non-recursive teardown of long
// chains (chapter 2).
#include "autodiff/var.h"

#include <vector>

#include "autodiff/node.h"
#include "autodiff/tape.h"
#include "core/ops.h"

namespace stablenn {
namespace {

// Nodes whose last owner just died, waiting to be destroyed by the outermost ~VarImpl. Destroying a
// node destroys its inputs, whose own nodes land here instead of being destroyed inside the call, so
// the C++ stack stays flat however long the chain.
struct Graveyard {
  std::vector<std::shared_ptr<Node>> nodes;
  bool draining = false;
  ~Graveyard();
};
thread_local bool graveyard_alive = true;  // false once this thread's graveyard itself was destroyed
Graveyard::~Graveyard() { graveyard_alive = false; }
thread_local Graveyard graveyard;

VarImpl& checked(const std::shared_ptr<VarImpl>& impl, const char* what) {
  SNN_CHECK(impl != nullptr, "Var::", what, ": the Var is undefined (default-constructed)");
  return *impl;
}

// In-place changes are not recorded, so they may not touch values the tape is differentiating by.
void check_inplace_allowed(const Var& v, const char* what) {
  checked(v.impl(), what);
  SNN_CHECK(!(grad_enabled() && v.requires_grad()), "Var::", what,
            ": in-place change of a value that requires grad while recording; do it inside a NoGrad "
            "scope (as an optimiser step does) or use the out-of-place op");
}

}  // namespace

VarImpl::~VarImpl() {
  if (!grad_fn || grad_fn.use_count() > 1 || !graveyard_alive) return;  // not the last owner: no chain
  Graveyard& g = graveyard;
  g.nodes.push_back(std::move(grad_fn));
  if (g.draining) return;  // an outer ~VarImpl is already emptying the list
  g.draining = true;
  while (!g.nodes.empty()) {
    std::shared_ptr<Node> node = std::move(g.nodes.back());
    g.nodes.pop_back();
    node.reset();  // may push more nodes
  }
  g.draining = false;
}

Var::Var(Tensor value, bool requires_grad) {
  if (!value.defined()) {
    SNN_CHECK(!requires_grad, "Var: an undefined Tensor cannot require grad");
    return;  // an undefined Tensor becomes an undefined Var ("no bias")
  }
  impl_ = std::make_shared<VarImpl>();
  impl_->value = std::move(value);
  impl_->version = std::make_shared<uint64_t>(0);
  if (requires_grad) requires_grad_(true);
}

const Tensor& Var::value() const { return checked(impl_, "value").value; }

bool Var::requires_grad() const {
  return impl_ && (impl_->requires_grad || impl_->grad_fn != nullptr);
}

Var& Var::requires_grad_(bool on) {
  VarImpl& v = checked(impl_, "requires_grad_");
  SNN_CHECK(v.grad_fn == nullptr, "Var::requires_grad_: only leaves can be marked (this value was made by '",
            v.grad_fn->op, "'); use detach().requires_grad_() for a new leaf");
  SNN_CHECK(!on || is_floating(v.value.dtype()), "Var::requires_grad_: only float tensors can require grad, got ",
            dtype_name(v.value.dtype()));
  v.requires_grad = on;
  return *this;
}

bool Var::is_leaf() const { return checked(impl_, "is_leaf").grad_fn == nullptr; }

Var Var::grad() const { return checked(impl_, "grad").grad; }

void Var::zero_grad() { checked(impl_, "zero_grad").grad = Var(); }

void Var::set_grad(const Var& grad) {
  VarImpl& v = checked(impl_, "set_grad");
  SNN_CHECK(!grad.defined() || grad.shape() == v.value.shape(), "Var::set_grad: gradient of shape ",
            shape_str(grad.shape()), " for a value of shape ", shape_str(v.value.shape()));
  v.grad = grad;
}

Var Var::detach() const {
  const VarImpl& v = checked(impl_, "detach");
  auto out = std::make_shared<VarImpl>();
  out->value = v.value;
  out->version = v.version;  // same data, so the same version counter
  out->name = v.name;
  return Var(out);
}

std::string Var::op_name() const {
  const VarImpl& v = checked(impl_, "op_name");
  return v.grad_fn ? v.grad_fn->op : "leaf";
}

Var& Var::set_name(const std::string& name) {
  checked(impl_, "set_name").name = name;
  return *this;
}

const std::string& Var::name() const { return checked(impl_, "name").name; }

uint64_t Var::version() const { return *checked(impl_, "version").version; }

void Var::add_(const Tensor& other, double alpha) {
  check_inplace_allowed(*this, "add_");
  stablenn::add_(impl_->value, other, alpha);
  ++*impl_->version;
}

void Var::mul_(double factor) {
  check_inplace_allowed(*this, "mul_");
  stablenn::mul_(impl_->value, factor);
  ++*impl_->version;
}

void Var::copy_(const Tensor& source) {
  check_inplace_allowed(*this, "copy_");
  impl_->value.copy_(source);
  ++*impl_->version;
}

void Var::fill_(double fill) {
  check_inplace_allowed(*this, "fill_");
  impl_->value.fill_(fill);
  ++*impl_->version;
}

Tensor& Var::mutable_value() {
  check_inplace_allowed(*this, "mutable_value");
  ++*impl_->version;
  return impl_->value;
}

}  // namespace stablenn
