// plot/graph_plot.h — directed acyclic graphs as layered box-and-arrow drawings, e.g. the tape
// behind a value (chapter 2), without Graphviz.
//
//   GraphPlot graph;
//   graph.title = "the tape of the tiny net";
//   graph.nodes = {{"x"}, {"W"}, {"%1 = matmul"}};
//   graph.edges = {{0, 2}, {1, 2}};  // from -> to
//   graph.save(ctx.out_path("tape.png"));
//
// Nodes are placed in layers by depth, top to bottom: the sinks (e.g. the loss) one layer below
// their deepest input, and every other node just above its first consumer, so edges stay short. Within a
// layer nodes are ordered by the mean position of their inputs, which avoids most crossings.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "plot/canvas.h"

namespace stablenn {

// Chapter 2: one node of a GraphPlot: a box with a (UTF-8, possibly multi-line) label.
struct GraphNode {
  std::string label;
  Color fill = colors::kWhite;
  Color ink = colors::kBlack;  // text and border
  bool emphasised = false;     // a double border, e.g. the value backward starts from
};

// Chapter 2: where GraphPlot puts each node, in canvas pixels.
struct GraphBox {
  int x = 0, y = 0, w = 0, h = 0;  // top-left corner and size
  int layer = 0;                   // 0 at the top
};
struct GraphLayout {
  int width = 0, height = 0;   // the canvas
  int title_height = 0;        // pixels above the first layer taken by the title
  FittedText title;            // the title as drawn (wrapped/shrunk to the canvas width)
  std::vector<GraphBox> boxes;  // one per node, same order as GraphPlot::nodes
};

// Chapter 2: a layered drawing of a directed acyclic graph.
struct GraphPlot {
  std::string title;
  std::vector<GraphNode> nodes;
  std::vector<std::pair<int, int>> edges;  // (from, to) node indices; drawn as arrows from -> to
  int min_width = 400;                     // pixels; the canvas grows to fit the widest layer

  // The positions of the boxes and the canvas size. Throws naming the plot and the edge when an
  // edge names a node that does not exist, and naming a node on a cycle when there is one.
  GraphLayout layout() const;
  Canvas render() const;
  // Writes render() as a PNG, atomically; errors name the file.
  void save(const std::string& path) const;
};

}  // namespace stablenn
