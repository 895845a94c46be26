// autodiff/dot.cpp — printing and drawing the tape behind a value (chapter 2).
#include "autodiff/dot.h"

#include <algorithm>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "autodiff/node.h"
#include "autodiff/tape.h"
#include "io/file_bytes.h"

namespace stablenn {
namespace {

// The ops `root` depends on (execution order), and a short name for every value they touch.
struct GraphView {
  std::vector<std::shared_ptr<Node>> ops;
  std::vector<const VarImpl*> leaves;  // leaves and constants, in order of first use
  std::unordered_map<const VarImpl*, std::string> names;
  std::unordered_map<const VarImpl*, size_t> op_index;  // op output -> index in ops
};

// Same reverse walk as backward, but it only marks what is reachable.
GraphView collect(const Var& root) {
  SNN_CHECK(root.defined(), "tape_listing/to_dot: the Var is undefined");
  GraphView g;
  const VarImpl* root_impl = root.impl().get();
  if (root_impl->grad_fn) {
    Tape& tape = Tape::current();
    std::unordered_set<const Node*> reachable{root_impl->grad_fn.get()};
    int64_t outstanding = 1;
    for (size_t i = tape.index_of(root_impl->grad_fn->seq) + 1; outstanding > 0 && i > 0;) {
      --i;
      std::shared_ptr<Node> node = tape.entry(i).node.lock();
      if (!node || !reachable.count(node.get())) continue;
      --outstanding;
      g.ops.push_back(node);
      for (const Var& in : node->inputs)
        if (in.defined() && in.impl()->grad_fn && reachable.insert(in.impl()->grad_fn.get()).second)
          ++outstanding;
    }
    std::reverse(g.ops.begin(), g.ops.end());
  }
  int leaf_count = 0, constant_count = 0;
  auto name_leaf = [&](const VarImpl* v) {
    if (g.names.count(v)) return;
    g.leaves.push_back(v);
    g.names[v] = !v->name.empty()   ? v->name
                 : v->requires_grad ? "x" + std::to_string(leaf_count++)
                                    : "c" + std::to_string(constant_count++);
  };
  for (size_t k = 0; k < g.ops.size(); ++k) {
    for (const Var& in : g.ops[k]->inputs)
      if (in.defined() && !in.impl()->grad_fn) name_leaf(in.impl().get());
    const VarImpl* out = g.ops[k]->output;
    g.op_index[out] = k;
    g.names[out] = "%" + std::to_string(k + 1) + (out->name.empty() ? "" : " " + out->name);
  }
  if (!root_impl->grad_fn) name_leaf(root_impl);
  return g;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

std::string leaf_kind(const VarImpl* v) { return v->requires_grad ? "requires_grad" : "constant"; }

}  // namespace

std::string tape_listing(const Var& root) {
  const GraphView g = collect(root);
  std::ostringstream os;
  for (const VarImpl* v : g.leaves)
    os << g.names.at(v) << " = leaf " << shape_str(v->value.shape()) << " " << leaf_kind(v) << "\n";
  for (const auto& node : g.ops) {
    os << g.names.at(node->output) << " = " << node->op << "(";
    for (size_t j = 0; j < node->inputs.size(); ++j) {
      if (j) os << ", ";
      os << (node->inputs[j].defined() ? g.names.at(node->inputs[j].impl().get()) : "none");
    }
    os << ") -> " << shape_str(node->output->value.shape());
    if (node->released) os << "  (released by backward)";
    os << "\n";
  }
  return os.str();
}

std::string to_dot(const Var& root) {
  const GraphView g = collect(root);
  std::unordered_map<const VarImpl*, std::string> id;
  std::ostringstream os;
  os << "digraph tape {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=11];\n";
  for (size_t k = 0; k < g.leaves.size(); ++k) {
    const VarImpl* v = g.leaves[k];
    id[v] = "leaf" + std::to_string(k);
    os << "  " << id[v] << " [label=\"" << escape(g.names.at(v)) << "\\n" << shape_str(v->value.shape())
       << "\", shape=ellipse, "
       << (v->requires_grad ? "style=filled, fillcolor=\"#cfe3ff\"" : "color=grey, fontcolor=grey")
       << "];\n";
  }
  for (size_t k = 0; k < g.ops.size(); ++k) {
    const Node& n = *g.ops[k];
    id[n.output] = "op" + std::to_string(k);
    os << "  " << id[n.output] << " [label=\"" << escape(g.names.at(n.output)) << " = " << escape(n.op)
       << "\\n" << shape_str(n.output->value.shape()) << "\", shape=box"
       << (n.output == root.impl().get() ? ", peripheries=2" : "") << "];\n";
    for (const Var& in : n.inputs)
      if (in.defined()) os << "  " << id.at(in.impl().get()) << " -> " << id[n.output] << ";\n";
  }
  os << "}\n";
  return os.str();
}

TapeGraph tape_graph(const Var& root) {
  const GraphView g = collect(root);
  TapeGraph out;
  std::unordered_map<const VarImpl*, int> index;
  for (const VarImpl* v : g.leaves) {
    index[v] = static_cast<int>(out.nodes.size());
    TapeGraphNode node;
    node.kind = v->requires_grad ? TapeGraphNode::Kind::Leaf : TapeGraphNode::Kind::Constant;
    node.name = g.names.at(v);
    node.shape = shape_str(v->value.shape());
    node.root = v == root.impl().get();
    out.nodes.push_back(node);
  }
  for (const auto& op : g.ops) {
    const int k = static_cast<int>(out.nodes.size());
    TapeGraphNode node;
    node.name = g.names.at(op->output);
    node.op = op->op;
    node.shape = shape_str(op->output->value.shape());
    node.root = op->output == root.impl().get();
    out.nodes.push_back(node);
    for (const Var& in : op->inputs)
      if (in.defined()) out.edges.emplace_back(index.at(in.impl().get()), k);
    index[op->output] = k;
  }
  return out;
}

void write_dot(const Var& root, const std::string& path) {
  write_file_atomic(path, to_dot(root));
}

}  // namespace stablenn
