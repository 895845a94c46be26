// tests/ch02_tape_graph_plot_test.cpp — chapter 2's tape drawn without Graphviz: tape_graph gives
// the nodes and edges of the tape, GraphPlot lays them out in layers (one box per node, inside the
// canvas, no two overlapping, every arrow pointing down) and draws them.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "autodiff/autodiff.h"
#include "core/error.h"
#include "core/stablenn_core.h"
#include "plot/graph_plot.h"

namespace stablenn {
namespace {

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The layout properties every drawing must have.
void expect_readable_layout(const GraphPlot& plot) {
  const GraphLayout layout = plot.layout();
  ASSERT_EQ(layout.boxes.size(), plot.nodes.size());  // one box per node
  for (size_t i = 0; i < layout.boxes.size(); ++i) {
    const GraphBox& b = layout.boxes[i];
    EXPECT_GE(b.x, 0) << "node " << i;
    EXPECT_GE(b.y, layout.title_height) << "node " << i << " overlaps the title";
    EXPECT_LE(b.x + b.w, layout.width) << "node " << i;
    EXPECT_LE(b.y + b.h, layout.height) << "node " << i;
    // The label fits its box.
    EXPECT_GE(b.w, text_width(plot.nodes[i].label) + 2) << "node " << i;
    EXPECT_GE(b.h, text_height(plot.nodes[i].label) + 2) << "node " << i;
    for (size_t j = i + 1; j < layout.boxes.size(); ++j) {
      const GraphBox& c = layout.boxes[j];
      const bool apart = b.x + b.w <= c.x || c.x + c.w <= b.x || b.y + b.h <= c.y || c.y + c.h <= b.y;
      EXPECT_TRUE(apart) << "boxes " << i << " and " << j << " overlap";
    }
  }
  for (const auto& [from, to] : plot.edges) {
    EXPECT_LT(layout.boxes[from].layer, layout.boxes[to].layer) << from << " -> " << to;
    EXPECT_LE(layout.boxes[from].y + layout.boxes[from].h, layout.boxes[to].y) << from << " -> " << to;
  }
  EXPECT_LE(text_width(layout.title.text, layout.title.scale), layout.width);
}

GraphPlot figure_of(const TapeGraph& tape) {
  GraphPlot plot;
  plot.title = "tape";
  for (const TapeGraphNode& n : tape.nodes)
    plot.nodes.push_back({(n.op.empty() ? n.name : n.name + " = " + n.op) + "\n" + n.shape});
  plot.edges = tape.edges;
  return plot;
}

TEST(Ch02TapeGraph, NodesAndEdgesOfTheTape) {
  Var x = Var(Tensor::from_vector({1, 2}, {2}, DType::Float64), true).set_name("x");
  Var w = Var(Tensor::from_vector({3, 4}, {2}, DType::Float64), true).set_name("w");
  Var c = Var(Tensor::from_vector({1, 1}, {2}, DType::Float64)).set_name("c");
  Var y = sum(tanh(x * w) + x * c);
  const TapeGraph tape = tape_graph(y);
  // Leaves x, w, c; ops mul, tanh, mul, add, sum.
  ASSERT_EQ(tape.nodes.size(), 8u);
  int leaves = 0, constants = 0, ops = 0, roots = 0;
  for (const TapeGraphNode& n : tape.nodes) {
    leaves += n.kind == TapeGraphNode::Kind::Leaf;
    constants += n.kind == TapeGraphNode::Kind::Constant;
    ops += n.kind == TapeGraphNode::Kind::Op;
    roots += n.root;
  }
  EXPECT_EQ(leaves, 2);
  EXPECT_EQ(constants, 1);
  EXPECT_EQ(ops, 5);
  EXPECT_EQ(roots, 1);
  EXPECT_TRUE(tape.nodes.back().root);
  EXPECT_EQ(tape.nodes.back().op, "sum");
  EXPECT_EQ(tape.nodes.back().shape, "[]");
  // Edges: x->mul, w->mul, mul->tanh, x->mul2, c->mul2, tanh->add, mul2->add, add->sum.
  EXPECT_EQ(tape.edges.size(), 8u);
  for (const auto& [from, to] : tape.edges) {
    EXPECT_LT(from, to);  // inputs come before their consumer
    EXPECT_EQ(tape.nodes[to].kind, TapeGraphNode::Kind::Op);
  }
  expect_readable_layout(figure_of(tape));
}

TEST(Ch02TapeGraph, TheTinyNetOfTheChapterLaysOutAndDraws) {
  Generator gen(5);
  Var x = Var(gen.normal({4, 3}, 0, 1, DType::Float64)).set_name("x");
  Var w1 = Var(gen.normal({5, 3}, 0, 0.5, DType::Float64), true).set_name("W1");
  Var b1 = Var(Tensor::zeros({5}, DType::Float64), true).set_name("b1");
  Var w2 = Var(gen.normal({1, 5}, 0, 0.5, DType::Float64), true).set_name("W2");
  Var loss = mean(square(matmul(tanh(matmul(x, t(w1)) + b1), t(w2))));
  const GraphPlot plot = figure_of(tape_graph(loss));
  expect_readable_layout(plot);
  const GraphLayout layout = plot.layout();
  // The loss (the only sink) is alone in the last layer, at the bottom.
  int last = 0;
  for (const GraphBox& b : layout.boxes) last = std::max(last, b.layer);
  EXPECT_EQ(layout.boxes.back().layer, last);
  for (size_t i = 0; i + 1 < layout.boxes.size(); ++i) EXPECT_LT(layout.boxes[i].layer, last);
  // Every box is drawn: its border is dark, its inside (off the label) white.
  const Canvas canvas = plot.render();
  EXPECT_EQ(canvas.width(), layout.width);
  EXPECT_EQ(canvas.height(), layout.height);
  EXPECT_EQ(canvas.text_pixels_cut(), 0);
  for (const GraphBox& b : layout.boxes) {
    EXPECT_EQ(canvas.pixel(b.x, b.y), colors::kBlack);
    EXPECT_EQ(canvas.pixel(b.x + b.w - 1, b.y + b.h - 1), colors::kBlack);
    EXPECT_EQ(canvas.pixel(b.x + 2, b.y + b.h / 2), colors::kWhite);
  }
}

TEST(GraphPlot, ManyNodesInOneLayerDoNotOverlap) {
  GraphPlot plot;
  plot.title = "a wide layer";
  for (int i = 0; i < 12; ++i) plot.nodes.push_back({"input number " + std::to_string(i)});
  plot.nodes.push_back({"sum"});
  for (int i = 0; i < 12; ++i) plot.edges.emplace_back(i, 12);
  expect_readable_layout(plot);
  EXPECT_GT(plot.layout().width, 12 * text_width("input number 10"));  // the canvas grew
}

TEST(GraphPlot, BadGraphsAreClearErrors) {
  GraphPlot plot;
  plot.title = "bad";
  plot.nodes = {{"a"}, {"b"}, {"c"}};
  plot.edges = {{0, 3}};
  const std::string missing = message_of([&] { plot.layout(); });
  EXPECT_NE(missing.find("0 -> 3"), std::string::npos) << missing;
  EXPECT_NE(missing.find("'bad'"), std::string::npos) << missing;
  plot.edges = {{0, 1}, {1, 2}, {2, 1}};
  const std::string cycle = message_of([&] { plot.layout(); });
  EXPECT_NE(cycle.find("cycle"), std::string::npos) << cycle;
  EXPECT_NE(cycle.find("'b'"), std::string::npos) << cycle;
  plot.edges = {};
  expect_readable_layout(plot);  // no edges: one layer
}

}  // namespace
}  // namespace stablenn
