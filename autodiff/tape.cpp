// autodiff/tape.cpp — recording switch, the per-thread tape, and record() (chapter 2).
#include "autodiff/tape.h"

#include <algorithm>

namespace stablenn {
namespace {
thread_local bool recording = true;
}  // namespace

bool grad_enabled() { return recording; }
void set_grad_enabled(bool enabled) { recording = enabled; }

NoGrad::NoGrad() : previous_(recording) { recording = false; }
NoGrad::~NoGrad() { recording = previous_; }

GradModeScope::GradModeScope(bool enabled) : previous_(recording) { recording = enabled; }
GradModeScope::~GradModeScope() { recording = previous_; }

Tape& Tape::current() {
  thread_local Tape tape;
  return tape;
}

void Tape::append(const std::shared_ptr<Node>& node) {
  node->seq = next_seq_++;
  entries_.push_back({node->seq, node});
  if (walks_ == 0 && entries_.size() >= sweep_at_) sweep();
}

void Tape::sweep() {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [](const Entry& e) { return e.node.expired(); }),
                 entries_.end());
  // Amortised O(1) per append: sweep again only once the live part has doubled.
  sweep_at_ = std::max<size_t>(1024, 2 * entries_.size());
}

size_t Tape::index_of(uint64_t seq) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), seq,
                             [](const Entry& e, uint64_t s) { return e.seq < s; });
  SNN_CHECK(it != entries_.end() && it->seq == seq, "tape: node #", seq,
            " is not on this thread's tape; a value must be differentiated on the thread that "
            "computed it");
  return static_cast<size_t>(it - entries_.begin());
}

size_t Tape::live_nodes() const {
  return static_cast<size_t>(std::count_if(entries_.begin(), entries_.end(),
                                           [](const Entry& e) { return !e.node.expired(); }));
}

Var record(const std::string& op, Tensor value, std::vector<Var> inputs, Saves saves,
           BackwardFn backward) {
  auto out = std::make_shared<VarImpl>();
  out->value = std::move(value);
  // A view shares its source's data, hence its version counter: writing through either is seen by both.
  for (const Var& in : inputs)
    if (in.defined() && out->value.shares_storage(in.value())) {
      out->version = in.impl()->version;
      break;
    }
  if (!out->version) out->version = std::make_shared<uint64_t>(0);

  bool any_requires_grad = false;
  if (recording)
    for (const Var& in : inputs) any_requires_grad = any_requires_grad || in.requires_grad();
  if (!any_requires_grad) return Var(out);

  auto node = std::make_shared<Node>();
  node->op = op;
  node->saved_mask = saves.input_mask;
  node->saved_versions.resize(inputs.size(), 0);
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined()) node->saved_versions[i] = inputs[i].version();
  node->inputs = std::move(inputs);
  node->saves_output = saves.output;
  node->output_version = *out->version;
  node->backward = std::move(backward);
  node->output = out.get();
  out->grad_fn = node;
  Tape::current().append(node);
  return Var(out);
}

}  // namespace stablenn
