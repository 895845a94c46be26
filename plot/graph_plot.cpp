// plot/graph_plot.cpp — layered drawings of directed acyclic graphs (chapter 2).
#include "plot/graph_plot.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "core/error.h"
#include "plot/font.h"

namespace stablenn {

namespace {

constexpr int kMargin = 16;      // around the drawing
constexpr int kPadX = 6, kPadY = 5;  // between a box's border and its label
constexpr int kColumnGap = 20;   // between boxes of one layer
constexpr int kLayerGap = 40;    // between layers, room for the arrows
constexpr int kTitleScale = 2;
const Color kEdgeColor = colors::kDarkGrey;

// Each line of `text` centred on centre_x, the first line's top at y.
void draw_centred_lines(Canvas& canvas, int centre_x, int y, const std::string& text, Color color,
                        int scale) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line); y += kLineHeight * scale)
    canvas.draw_text(centre_x - text_width(line, scale) / 2, y, line, color, scale);
}

// Orders the nodes of `layer` by the mean relative position of their neighbours in `position`
// (nodes without neighbours keep their own place): one sweep of the barycentre heuristic.
void sort_by_barycentre(std::vector<int>& layer, const std::vector<std::vector<int>>& neighbours,
                        std::vector<double>& position) {
  std::vector<std::pair<double, int>> keyed;
  for (int v : layer) {
    double sum = 0;
    for (int u : neighbours[v]) sum += position[u];
    keyed.emplace_back(neighbours[v].empty() ? position[v] : sum / neighbours[v].size(), v);
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < layer.size(); ++i) {
    layer[i] = keyed[i].second;
    position[layer[i]] = (i + 0.5) / layer.size();
  }
}

}  // namespace

GraphLayout GraphPlot::layout() const {
  const std::string what = "GraphPlot '" + title + "'";
  const int n = static_cast<int>(nodes.size());
  std::vector<std::vector<int>> inputs(n), outputs(n);
  for (const auto& [from, to] : edges) {
    SNN_CHECK(from >= 0 && from < n && to >= 0 && to < n, what, ": the edge ", from, " -> ", to,
              " names a node that does not exist (there are ", n, " nodes)");
    inputs[to].push_back(from);
    outputs[from].push_back(to);
  }

  // Depth in topological order (Kahn's algorithm); what is never freed lies on a cycle.
  std::vector<int> waiting(n), order, depth(n, 0);
  for (int v = 0; v < n; ++v) {
    waiting[v] = static_cast<int>(inputs[v].size());
    if (waiting[v] == 0) order.push_back(v);
  }
  for (size_t i = 0; i < order.size(); ++i)
    for (int w : outputs[order[i]]) {
      depth[w] = std::max(depth[w], depth[order[i]] + 1);
      if (--waiting[w] == 0) order.push_back(w);
    }
  for (int v = 0; v < n; ++v)
    SNN_CHECK(waiting[v] == 0, what, ": node ", v, " ('", nodes[v].label,
              "') lies on a cycle; only acyclic graphs can be drawn in layers");
  // Then every node that feeds others moves down to just above its first consumer (bottom up, so
  // a chain moves as a whole): a leaf or a transpose sits next to where it is used.
  for (auto v = order.rbegin(); v != order.rend(); ++v) {
    if (outputs[*v].empty()) continue;
    int first = depth[outputs[*v][0]];
    for (int w : outputs[*v]) first = std::min(first, depth[w]);
    depth[*v] = first - 1;
  }
  const int layer_count = n == 0 ? 0 : *std::max_element(depth.begin(), depth.end()) + 1;
  std::vector<std::vector<int>> layers(layer_count);
  for (int v = 0; v < n; ++v) layers[depth[v]].push_back(v);

  // Order within layers: a sweep down (by inputs), then up (by outputs).
  std::vector<double> position(n);
  for (const auto& layer : layers)
    for (size_t i = 0; i < layer.size(); ++i) position[layer[i]] = (i + 0.5) / layer.size();
  for (int l = 1; l < layer_count; ++l) sort_by_barycentre(layers[l], inputs, position);
  for (int l = layer_count - 2; l >= 0; --l) sort_by_barycentre(layers[l], outputs, position);

  GraphLayout out;
  out.boxes.resize(n);
  std::vector<int> layer_width(layer_count, 0), layer_height(layer_count, 0);
  for (int l = 0; l < layer_count; ++l) {
    for (int v : layers[l]) {
      GraphBox& box = out.boxes[v];
      box.w = text_width(nodes[v].label) + 2 * kPadX;
      box.h = std::max(text_height(nodes[v].label), kGlyphHeight) + 2 * kPadY;
      box.layer = l;
      layer_width[l] += box.w + (layer_width[l] > 0 ? kColumnGap : 0);
      layer_height[l] = std::max(layer_height[l], box.h);
    }
  }
  const int widest = layer_count == 0 ? 0 : *std::max_element(layer_width.begin(), layer_width.end());
  out.width = std::max(min_width, widest + 2 * kMargin);
  if (!title.empty()) {
    out.title = fit_text(title, out.width - 2 * kMargin, kTitleScale);
    out.title_height = text_height(out.title.text, out.title.scale) + 12;
  }
  int top = kMargin + out.title_height;
  for (int l = 0; l < layer_count; ++l) {
    int left = (out.width - layer_width[l]) / 2;  // each layer centred
    for (int v : layers[l]) {
      GraphBox& box = out.boxes[v];
      box.x = left;
      box.y = top + (layer_height[l] - box.h) / 2;
      left += box.w + kColumnGap;
    }
    top += layer_height[l] + (l + 1 < layer_count ? kLayerGap : 0);
  }
  out.height = top + kMargin;
  return out;
}

Canvas GraphPlot::render() const {
  const GraphLayout placed = layout();
  Canvas canvas(placed.width, placed.height);
  if (!title.empty())
    draw_centred_lines(canvas, placed.width / 2, kMargin, placed.title.text, colors::kBlack,
                       placed.title.scale);
  const int n = static_cast<int>(nodes.size());
  auto centre_x = [&](int v) { return placed.boxes[v].x + placed.boxes[v].w / 2.0; };
  // Where each edge leaves its source and enters its target: spread along the bottom and top
  // borders in the order of the other end, so arrows into one box do not meet in one point.
  std::vector<std::vector<size_t>> leaving(n), entering(n);
  for (size_t e = 0; e < edges.size(); ++e) {
    leaving[edges[e].first].push_back(e);
    entering[edges[e].second].push_back(e);
  }
  std::vector<double> start_x(edges.size()), end_x(edges.size());
  for (int v = 0; v < n; ++v) {
    const GraphBox& box = placed.boxes[v];
    std::sort(leaving[v].begin(), leaving[v].end(),
              [&](size_t a, size_t b) { return centre_x(edges[a].second) < centre_x(edges[b].second); });
    std::sort(entering[v].begin(), entering[v].end(),
              [&](size_t a, size_t b) { return centre_x(edges[a].first) < centre_x(edges[b].first); });
    for (size_t k = 0; k < leaving[v].size(); ++k)
      start_x[leaving[v][k]] = box.x + box.w * (k + 1.0) / (leaving[v].size() + 1);
    for (size_t k = 0; k < entering[v].size(); ++k)
      end_x[entering[v][k]] = box.x + box.w * (k + 1.0) / (entering[v].size() + 1);
  }
  // Edges first: a box drawn later hides an edge passing behind it instead of being crossed out.
  for (size_t e = 0; e < edges.size(); ++e) {
    const GraphBox &from = placed.boxes[edges[e].first], &to = placed.boxes[edges[e].second];
    const double x0 = start_x[e], y0 = from.y + from.h, x1 = end_x[e], y1 = to.y - 1;
    canvas.draw_line(x0, y0, x1, y1, kEdgeColor);
    const double angle = std::atan2(y1 - y0, x1 - x0), head = 7, spread = 0.45;
    for (double side : {-1.0, 1.0})
      canvas.draw_line(x1, y1, x1 - head * std::cos(angle + side * spread),
                       y1 - head * std::sin(angle + side * spread), kEdgeColor, 2);
  }
  for (int v = 0; v < n; ++v) {
    const GraphBox& box = placed.boxes[v];
    const GraphNode& node = nodes[v];
    canvas.fill_rect(box.x, box.y, box.w, box.h, node.fill);
    canvas.draw_rect(box.x, box.y, box.w, box.h, node.ink);
    if (node.emphasised) canvas.draw_rect(box.x + 2, box.y + 2, box.w - 4, box.h - 4, node.ink);
    const int label_top = box.y + (box.h - text_height(node.label)) / 2;
    draw_centred_lines(canvas, box.x + box.w / 2, label_top, node.label, node.ink, 1);
  }
  return canvas;
}

void GraphPlot::save(const std::string& path) const { render().save_png(path); }

}  // namespace stablenn
