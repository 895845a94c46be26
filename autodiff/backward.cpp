// autodiff/backward.cpp — the reverse walk over the tape (chapter 2).
//
// Each node keeps the gradient summed so far for its output (pending_grad). Starting from the roots'
// nodes, the walk goes down the tape: a node's pending gradient is complete when the walk reaches it,
// because every op that consumed its output was recorded later. Its rule turns it into input gradients,
// which are added to the inputs' nodes (or, for leaves, to a table). The walk stops as soon as no
// pending gradient is left, so unrelated work recorded earlier costs nothing.
#include "autodiff/backward.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "autodiff/ops.h"
#include "autodiff/tape.h"

namespace stablenn {
namespace {

void add_into(Var& slot, const Var& g) { slot = slot.defined() ? add(slot, g) : g; }

bool saves_input(const Node& node, size_t i) {
  return i < 32 ? ((node.saved_mask >> i) & 1u) != 0 : node.saved_mask == 0xffffffffu;
}

// Refuses to run a rule whose saved values were overwritten in place after the op was recorded.
void check_versions(const Node& node, const char* who) {
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (!saves_input(node, i) || !node.inputs[i].defined()) continue;
    const uint64_t now = node.inputs[i].version();
    SNN_CHECK(now == node.saved_versions[i], who, ": the backward of '", node.op, "' needs input #", i,
              " (shape ", shape_str(node.inputs[i].shape()), ", name '", node.inputs[i].name(),
              "'), but it was changed in place after the op was recorded (version ",
              node.saved_versions[i], " -> ", now,
              "). Clone the value before changing it, or change it before using it.");
  }
  if (node.saves_output) {
    const uint64_t now = *node.output->version;
    SNN_CHECK(now == node.output_version, who, ": the backward of '", node.op,
              "' needs its output (shape ", shape_str(node.output->value.shape()),
              "), but it was changed in place after the op was recorded (version ", node.output_version,
              " -> ", now, "). Clone the output before changing it.");
  }
}

// What one walk produces: gradients of leaves and of requested intermediate values.
struct WalkResult {
  std::unordered_map<const VarImpl*, Var> grads;
  // The leaves in `grads`, held: freeing the tape during the walk may drop the last other owner of
  // a leaf made inside the loss (a detached state, a constant), and backward() reads it afterwards.
  std::vector<std::shared_ptr<VarImpl>> leaves;
};

struct WalkSetup {
  const char* who;                              // "backward" or "grad", for messages
  bool retain_graph = false;
  bool create_graph = false;
  bool all_leaves = false;                      // backward(): every requires_grad leaf gets a gradient
  std::unordered_set<const VarImpl*> requested;  // grad(): only these values
};

// Clears pending gradients whatever happens, and frees the visited part of the tape after success.
struct VisitedNodes {
  std::vector<std::shared_ptr<Node>> nodes;
  bool release = false;
  ~VisitedNodes() {
    for (auto& n : nodes) {
      n->pending_grad = Var();
      if (release) {
        n->backward = nullptr;
        n->inputs.clear();
        n->released = true;
      }
    }
  }
};

// grad(): the nodes through which some requested value can be reached, so the walk sends gradients
// only along paths that end at a requested value. Found in two passes over the roots' part of the
// tape: down to collect what the roots depend on, then up to mark nodes with a requested input or a
// marked input node.
std::unordered_set<const Node*> nodes_leading_to(const std::vector<Var>& roots,
                                                 const std::unordered_set<const VarImpl*>& requested) {
  Tape& tape = Tape::current();
  std::unordered_set<const Node*> reachable;
  uint64_t start_seq = 0;
  for (const Var& r : roots)
    if (r.impl()->grad_fn && reachable.insert(r.impl()->grad_fn.get()).second)
      start_seq = std::max(start_seq, r.impl()->grad_fn->seq);
  std::vector<const Node*> order;  // reachable nodes, latest first
  int64_t outstanding = static_cast<int64_t>(reachable.size());
  for (size_t i = outstanding > 0 ? tape.index_of(start_seq) + 1 : 0; outstanding > 0 && i > 0;) {
    --i;
    const std::shared_ptr<Node> node = tape.entry(i).node.lock();
    if (!node || !reachable.count(node.get())) continue;
    --outstanding;
    order.push_back(node.get());
    for (const Var& in : node->inputs)
      if (in.defined() && in.impl()->grad_fn && reachable.insert(in.impl()->grad_fn.get()).second)
        ++outstanding;
  }
  std::unordered_set<const Node*> leading;
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    for (const Var& in : (*it)->inputs)
      if (in.defined() && (requested.count(in.impl().get()) ||
                           (in.impl()->grad_fn && leading.count(in.impl()->grad_fn.get())))) {
        leading.insert(*it);
        break;
      }
  return leading;
}

void walk_tape(const std::vector<Var>& roots, const std::vector<Var>& seeds, const WalkSetup& setup,
               WalkResult& result) {
  GradModeScope mode(setup.create_graph);
  Tape& tape = Tape::current();
  const std::unordered_set<const Node*> leading =
      setup.all_leaves ? std::unordered_set<const Node*>{} : nodes_leading_to(roots, setup.requested);
  VisitedNodes visited;
  int64_t outstanding = 0;  // nodes holding a pending gradient not yet processed
  uint64_t start_seq = 0;

  auto send = [&](const Var& target, const Var& g) {
    VarImpl* impl = target.impl().get();
    if (impl->grad_fn) {
      Node& n = *impl->grad_fn;
      if (!n.pending_grad.defined()) {
        ++outstanding;
        visited.nodes.push_back(impl->grad_fn);
      }
      add_into(n.pending_grad, g);
      return &n;
    }
    auto [entry, added] = result.grads.try_emplace(impl);
    if (added) result.leaves.push_back(target.impl());
    add_into(entry->second, g);
    return static_cast<Node*>(nullptr);
  };
  for (size_t k = 0; k < roots.size(); ++k) {
    const Node* n = send(roots[k], seeds[k]);
    if (n) start_seq = std::max(start_seq, n->seq);
  }
  if (outstanding == 0) return;

  tape.begin_walk();
  struct EndWalk {
    Tape& t;
    ~EndWalk() { t.end_walk(); }
  } end_walk{tape};

  std::vector<bool> wanted;
  for (size_t i = tape.index_of(start_seq) + 1; outstanding > 0 && i > 0;) {
    --i;
    std::shared_ptr<Node> node = tape.entry(i).node.lock();
    if (!node || !node->pending_grad.defined()) continue;
    --outstanding;
    Var g = node->pending_grad;
    node->pending_grad = Var();
    SNN_CHECK(!node->released, setup.who, ": the tape of '", node->op,
              "' was freed by an earlier backward; pass retain_graph=true to the first backward "
              "to go through the same graph twice");
    check_versions(*node, setup.who);
    if (setup.requested.count(node->output)) add_into(result.grads[node->output], g);

    const size_t n_in = node->inputs.size();
    wanted.assign(n_in, false);
    bool any = false;
    for (size_t j = 0; j < n_in; ++j) {
      const Var& in = node->inputs[j];
      if (!in.defined() || !in.requires_grad()) continue;
      const VarImpl* impl = in.impl().get();
      // backward(): everything. grad(): requested values, and nodes on a path to one.
      wanted[j] = setup.all_leaves || setup.requested.count(impl) > 0 ||
                  (impl->grad_fn && leading.count(impl->grad_fn.get()) > 0);
      any = any || wanted[j];
    }
    if (!any) continue;
    const Var output(node->output->shared_from_this());
    const BackwardContext ctx{g, output, node->inputs, wanted};
    const std::vector<Var> in_grads = node->backward(ctx);
    SNN_CHECK(in_grads.size() == n_in, setup.who, ": the backward rule of '", node->op, "' returned ",
              in_grads.size(), " gradients for ", n_in, " inputs");
    for (size_t j = 0; j < n_in; ++j) {
      if (!wanted[j] || !in_grads[j].defined()) continue;
      SNN_CHECK(in_grads[j].shape() == node->inputs[j].shape(), setup.who, ": the backward rule of '",
                node->op, "' returned a gradient of shape ", shape_str(in_grads[j].shape()),
                " for input #", j, " of shape ", shape_str(node->inputs[j].shape()));
      send(node->inputs[j], in_grads[j]);
    }
  }
  SNN_CHECK(outstanding == 0, setup.who,
            ": part of the graph is not on this thread's tape; differentiate on the thread that "
            "computed the values");
  visited.release = !setup.retain_graph && !setup.create_graph;
}

// The seed of each root: given, or 1 for one-element roots.
std::vector<Var> make_seeds(const std::vector<Var>& roots, const std::vector<Var>& seeds,
                            const char* who) {
  SNN_CHECK(seeds.empty() || seeds.size() == roots.size(), who, ": ", seeds.size(), " seeds for ",
            roots.size(), " outputs");
  std::vector<Var> out(roots.size());
  for (size_t k = 0; k < roots.size(); ++k) {
    const Var& r = roots[k];
    SNN_CHECK(r.defined(), who, ": output #", k, " is undefined");
    SNN_CHECK(r.requires_grad(), who, ": output #", k, " (shape ", shape_str(r.shape()),
              ") does not require grad, so it is not on the tape: it was computed from constants or "
              "under NoGrad. Mark the inputs with requires_grad_() before computing it.");
    if (!seeds.empty() && seeds[k].defined()) {
      SNN_CHECK(seeds[k].shape() == r.shape() && seeds[k].dtype() == r.dtype(), who, ": seed #", k,
                " has shape ", shape_str(seeds[k].shape()), " and dtype ", dtype_name(seeds[k].dtype()),
                ", expected the output's shape ", shape_str(r.shape()), " and dtype ",
                dtype_name(r.dtype()));
      out[k] = seeds[k];
    } else {
      SNN_CHECK(r.numel() == 1, who, ": output #", k, " has shape ", shape_str(r.shape()),
                " (not a scalar); reduce it to one element first, or pass a seed gradient of that "
                "shape, e.g. backward(y, ones_like(y))");
      out[k] = Var(Tensor::ones(r.shape(), r.dtype()));
    }
  }
  return out;
}

// A stored .grad must not alias other gradients or be a broadcast view: optimisers change it in place.
Var own_copy(const Var& g) {
  const Tensor& t = g.value();
  const bool unique = g.impl().use_count() == 1 && t.storage().use_count() == 1 && t.is_contiguous();
  return unique ? g : Var(t.clone());
}

}  // namespace

void backward(const Var& root, const Var& seed, bool retain_graph, bool create_graph) {
  const std::vector<Var> roots{root};
  const std::vector<Var> seeds = make_seeds(roots, {seed}, "backward");
  WalkSetup setup;
  setup.who = "backward";
  setup.retain_graph = retain_graph;
  setup.create_graph = create_graph;
  setup.all_leaves = true;
  WalkResult result;
  walk_tape(roots, seeds, setup, result);
  for (auto& [impl_ptr, g] : result.grads) {
    VarImpl* leaf = const_cast<VarImpl*>(impl_ptr);
    if (!leaf->requires_grad) continue;
    if (create_graph) {
      GradModeScope mode(true);
      leaf->grad = leaf->grad.defined() ? add(leaf->grad, g) : g;
    } else {
      Var owned = own_copy(g);
      g = Var();
      leaf->grad = leaf->grad.defined() ? Var(add(leaf->grad.value(), owned.value())) : owned;
    }
  }
}

std::vector<Var> grad(const std::vector<Var>& outputs, const std::vector<Var>& inputs,
                      const std::vector<Var>& seeds, GradOptions options) {
  SNN_CHECK(!outputs.empty(), "grad: no outputs given");
  const std::vector<Var> full_seeds = make_seeds(outputs, seeds, "grad");
  WalkSetup setup;
  setup.who = "grad";
  setup.retain_graph = options.retain_graph;
  setup.create_graph = options.create_graph;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Var& in = inputs[k];
    SNN_CHECK(in.defined(), "grad: input #", k, " is undefined");
    SNN_CHECK(in.requires_grad(), "grad: input #", k, " (shape ", shape_str(in.shape()),
              ") is not on the tape: it does not require grad. Call requires_grad_() on it before "
              "computing the outputs.");
    setup.requested.insert(in.impl().get());
  }
  WalkResult result;
  walk_tape(outputs, full_seeds, setup, result);
  std::vector<Var> out(inputs.size());
  for (size_t k = 0; k < inputs.size(); ++k) {
    auto it = result.grads.find(inputs[k].impl().get());
    if (it != result.grads.end()) {
      out[k] = it->second;
    } else {
      SNN_CHECK(options.allow_unused, "grad: input #", k, " (shape ", shape_str(inputs[k].shape()),
                ") is not used to compute the outputs; pass allow_unused to get an undefined "
                "gradient instead");
    }
  }
  return out;
}

}  // namespace stablenn
