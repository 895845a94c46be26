// autodiff/dot.h — the tape that produced a value, as text and as a Graphviz drawing (chapter 2).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "autodiff/var.h"

namespace stablenn {

// Chapter 2: the part of the tape `root` depends on, in execution order, one op per line:
//   x      = leaf [3] requires_grad
//   %1     = mul(x, x) -> [3]
//   %2     = sum(%1) -> []
// Leaves print their name (Var::set_name) or x0, x1, ...; constants print c0, c1, ...
std::string tape_listing(const Var& root);

// Chapter 2: the same graph in Graphviz DOT: ops are boxes, leaves that require grad are filled
// ellipses, constants are grey; edges point from a value to the op that consumes it.
std::string to_dot(const Var& root);

// Chapter 2: the same graph as plain data, for drawing it without Graphviz (the chapter program
// draws it with plot/graph_plot.h; autodiff does not depend on plot). Nodes are the leaves and
// constants in order of first use, then the ops in execution order; edges point from a value to
// the op that consumes it, as in to_dot.
struct TapeGraphNode {
  enum class Kind { Leaf, Constant, Op };  // Leaf: requires grad; Constant: does not
  Kind kind = Kind::Op;
  std::string name;   // "x", "c0", "%3", as in tape_listing
  std::string op;     // the op's name ("matmul"); empty for leaves and constants
  std::string shape;  // "[4, 3]"
  bool root = false;  // the value the graph was taken from
};
struct TapeGraph {
  std::vector<TapeGraphNode> nodes;
  std::vector<std::pair<int, int>> edges;  // (input, consumer) indices into nodes
};
TapeGraph tape_graph(const Var& root);

// Writes to_dot(root) to `path` atomically (temporary file, then rename); throws naming the path.
void write_dot(const Var& root, const std::string& path);

}  // namespace stablenn
