// notebooks_cpp/ch02_autodiff.cpp — chapter 2, "Automatic differentiation on a tape": from a scalar
// example to the tape, the tape printed and drawn, gradients checked against finite differences,
// Hessian-vector products, long chains and the error messages.
// Read along in book/02-autodiff.md. Run: build/notebooks_cpp/ch02_autodiff [--step] [--smoke]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "autodiff/autodiff.h"
#include "core/stablenn_core.h"
#include "plot/graph_plot.h"
#include "notebooks_cpp/harness.h"

using namespace stablenn;
using stablenn::notebook::Cell;
using stablenn::notebook::Context;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Var scalar_leaf(double value, const std::string& name) {
  return Var(Tensor::scalar(value, DType::Float64), true).set_name(name);
}

// ---- cell 1 ----
void scalar_example(Context&) {
  // f(x, y) = x*y + sin(x) at (2, 3). By hand: df/dx = y + cos(x), df/dy = x.
  Var x = scalar_leaf(2.0, "x"), y = scalar_leaf(3.0, "y");
  Var f = x * y + sin(x);
  std::cout << std::setprecision(12) << "  f(2, 3) = x*y + sin(x) = " << f.item() << "\n";
  backward(f);
  std::cout << "  on the tape : df/dx = " << x.grad().item() << "   df/dy = " << y.grad().item() << "\n"
            << "  by hand     : df/dx = " << 3.0 + std::cos(2.0) << "   df/dy = " << 2.0 << "\n";
}

// A two-layer network on a tiny batch, the running example of cells 2 and 3.
struct TinyNet {
  Var x, w1, b1, w2, loss;
};

TinyNet tiny_net() {
  Generator gen(7);
  TinyNet n;
  n.x = Var(gen.normal({4, 3}, 0, 1, DType::Float64)).set_name("x");
  n.w1 = Var(gen.normal({5, 3}, 0, 0.5, DType::Float64), true).set_name("W1");
  n.b1 = Var(Tensor::zeros({5}, DType::Float64), true).set_name("b1");
  n.w2 = Var(gen.normal({1, 5}, 0, 0.5, DType::Float64), true).set_name("W2");
  // loss = mean((tanh(x W1^T + b1) W2^T)^2)
  Var h = tanh(matmul(n.x, t(n.w1)) + n.b1);
  n.loss = mean(square(matmul(h, t(n.w2))));
  return n;
}

// ---- cell 2 ----
void the_tape(Context&) {
  TinyNet n = tiny_net();
  std::cout << "  loss = mean((tanh(x W1^T + b1) W2^T)^2); the tape, in the order the ops ran:\n\n";
  std::istringstream lines(tape_listing(n.loss));
  for (std::string line; std::getline(lines, line);) std::cout << "    " << line << "\n";
  std::cout << "\n  backward walks these lines from the bottom up. Each op receives dloss/d(its output),\n"
            << "  complete because every consumer ran later, and passes dloss/d(input) to its inputs.\n";
  backward(n.loss);
  std::cout << "  dloss/dW2 = " << n.w2.grad().value().str() << "\n"
            << "  live tape nodes after backward: " << Tape::current().live_nodes()
            << " (the rules and saved values were freed; pass retain_graph to keep them)\n";
}

// ---- cell 3 ----
// The tape as boxes and arrows, drawn by the project's own plotting (plot/graph_plot.h): leaves that
// require grad are blue, constants grey, ops white, and the loss has a double border.
GraphPlot tape_figure(const Var& root, const std::string& title) {
  const TapeGraph tape = tape_graph(root);
  GraphPlot figure;
  figure.title = title;
  for (const TapeGraphNode& t : tape.nodes) {
    GraphNode node;
    node.label = (t.op.empty() ? t.name : t.name + " = " + t.op) + "\n" + t.shape;
    if (t.kind == TapeGraphNode::Kind::Leaf) node.fill = {207, 227, 255};
    if (t.kind == TapeGraphNode::Kind::Constant) node.ink = colors::kGrey;
    node.emphasised = t.root;
    figure.nodes.push_back(node);
  }
  figure.edges = tape.edges;
  return figure;
}

void draw_the_tape(Context& ctx) {
  TinyNet n = tiny_net();
  const std::string png = ctx.out_path("ch02_tape.png");
  tape_figure(n.loss, "the tape of the tiny net's loss").save(png);
  std::cout << "  wrote " << png << " (boxes in layers by depth, arrows from a value to the op using it;\n"
            << "  blue: leaves that require grad, grey: constants, double border: the loss)\n";
  // The same graph for Graphviz, as an extra: dot -Tpng <file> -o <png> lays it out differently.
  const std::string dot_path = ctx.out_path("ch02_tape.dot");
  write_dot(n.loss, dot_path);
  std::cout << "  wrote " << dot_path << " (Graphviz, optional: dot -Tpng '" << dot_path << "' -o '"
            << ctx.out_path("ch02_tape_graphviz.png") << "')\n";
}

// ---- cell 4 ----
void check_against_finite_differences(Context& ctx) {
  // One directional derivative of the tiny net's loss in W1, against (L(W1 + h V) - L(W1 - h V)) / 2h.
  TinyNet n = tiny_net();
  backward(n.loss);
  Generator gen(11);
  const Tensor direction = gen.normal(n.w1.shape(), 0, 1, DType::Float64);
  const double exact = sum(mul(n.w1.grad().value(), direction)).item();
  auto loss_at = [&](double h) {
    NoGrad guard;
    const Var w1 = Var(add(n.w1.value(), mul(direction, h)));
    return mean(square(matmul(tanh(matmul(n.x, t(w1)) + n.b1), t(n.w2)))).item();
  };
  std::cout << "  <dL/dW1, V> on the tape: " << std::setprecision(15) << exact << "\n"
            << "        h    central difference     |error|\n";
  for (double h = 1e-1; h > 1e-11; h /= 100) {
    const double fd = (loss_at(h) - loss_at(-h)) / (2 * h);
    std::cout << "  " << std::setw(7) << std::setprecision(0) << std::scientific << h << "   "
              << std::setprecision(15) << std::fixed << fd << "   " << std::setprecision(2) << std::scientific
              << std::fabs(fd - exact) << "\n";
  }
  std::cout << std::defaultfloat << std::setprecision(6)
            << "  The error falls like h^2 (truncation) until rounding, ~1e-16/h, takes over.\n";
  // The full Jacobian of a small vector function, every entry, as the tests do for every op.
  const int64_t size = ctx.pick(6, 3);
  const VarFunction f = [](const std::vector<Var>& in) { return softmax(in[0] * in[1], 0) + elu(in[1]); };
  const GradcheckResult r = gradcheck(f, {gen.normal({size}, 0, 1, DType::Float64), gen.normal({size}, 0, 1, DType::Float64)});
  std::cout << "  gradcheck(softmax(a*b) + elu(b)), full " << size << "x" << 2 * size << " Jacobian: " << r.report << "\n";
}

// ---- cell 5 ----
void hessian_vector_product(Context& ctx) {
  // f(x) = sum(softplus(A x)) + 0.5 |x|^2: H = A^T diag(sigmoid'(A x)) A + I.
  const int64_t n = ctx.pick(50, 8);
  Generator gen(13);
  const Tensor a = gen.normal({n, n}, 0, 1.0 / std::sqrt(static_cast<double>(n)), DType::Float64);
  const VarFunction f = [&a](const std::vector<Var>& in) {
    return sum(softplus(matmul(Var(a), in[0]))) + 0.5 * sum(square(in[0]));
  };
  const Tensor x = gen.normal({n}, 0, 1, DType::Float64), v = gen.normal({n}, 0, 1, DType::Float64);
  const HvpResult r = hvp(f, {Var(x)}, {Var(v)});
  // Closed form, with sigmoid'(z) = s (1 - s).
  const Tensor s = sigmoid(matmul(a, x));
  const Tensor curvature = mul(s, sub(Tensor::scalar(1.0, DType::Float64), s));
  const Tensor closed = add(matmul(a.t(), mul(curvature, matmul(a, v))), v);
  // Finite differences of the gradient along v.
  const double h = 1e-5;
  auto gradient_at = [&](double step) {
    return hvp(f, {Var(add(x, mul(v, step)))}, {Var(v)}).gradient[0].value();
  };
  const Tensor fd = div(sub(gradient_at(h), gradient_at(-h)), 2 * h);
  std::cout << "  f(x) = sum(softplus(A x)) + |x|^2/2 with n = " << n << "\n"
            << "  H v on the tape (backward of the recorded backward) vs closed form: max |diff| "
            << max_abs_diff(r.hvp[0].value(), closed) << "\n"
            << "  H v vs central differences of the gradient (h = 1e-5):       max |diff| "
            << max_abs_diff(r.hvp[0].value(), fd) << "\n"
            << "  cost: two backward passes, never the n x n Hessian.\n";
}

// ---- cell 6 ----
void long_chains_and_memory(Context& ctx) {
  const int64_t steps = ctx.pick(100000, 10000);
  Var x = scalar_leaf(1.0, "x");
  const size_t before = Tape::current().live_nodes();
  auto start = std::chrono::steady_clock::now();
  Var y = x;
  for (int64_t k = 0; k < steps; ++k) y = y * (1.0 + 1e-5);
  const double t_forward = seconds_since(start);
  std::cout << "  recorded " << steps << " ops in " << std::setprecision(3) << t_forward << " s; live nodes "
            << Tape::current().live_nodes() - before << "\n";
  start = std::chrono::steady_clock::now();
  backward(y);
  std::cout << "  backward in " << seconds_since(start) << " s, no recursion: dy/dx = " << std::setprecision(12)
            << x.grad().item() << " (exact " << std::pow(1.0 + 1e-5, static_cast<double>(steps)) << ")\n"
            << "  live nodes after backward: " << Tape::current().live_nodes() - before << "\n";
  {
    NoGrad guard;
    Var z = x;
    for (int k = 0; k < 1000; ++k) z = z * 1.0;
    std::cout << "  1000 ops under NoGrad: live nodes " << Tape::current().live_nodes() - before
              << ", requires_grad " << (z.requires_grad() ? "yes" : "no") << "\n";
  }
}

// ---- cell 7 ----
void errors(Context&) {
  auto show = [](const char* what, const std::function<void()>& fn) {
    try {
      fn();
      std::cout << "  " << what << ": no error?!\n";
    } catch (const Error& e) {
      std::cout << "  " << what << ":\n    " << e.what() << "\n";
    }
  };
  Var x = Var(Tensor::from_vector({1, 2, 3}, {3}, DType::Float64), true).set_name("x");
  show("backward of a vector without a seed", [&] { backward(x * 2.0); });
  Var c = Var(Tensor::ones({3}, DType::Float64)).set_name("c");
  show("gradient with respect to a constant", [&] { grad({sum(x * c)}, {c}); });
  show("a value changed in place after use", [&] {
    Var y = exp(x);
    Var loss = sum(y);
    NoGrad guard;
    y.mul_(2.0);
    GradModeScope on(true);
    backward(loss);
  });
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<Cell> cells = {
      {"A scalar example",
       "f(x, y) = x*y + sin(x). Every op records itself on a tape as it runs; backward(f) replays the\n"
       "tape in reverse and gives df/dx and df/dy, which we compare with the derivative by hand.",
       scalar_example},
      {"The tape",
       "A tiny two-layer network. The tape lists its ops in execution order (a Wengert list);\n"
       "backward visits them bottom-up, so each op's output gradient is complete when it is used.",
       the_tape},
      {"Drawing the tape",
       "The same graph as a picture: boxes in layers by depth, arrows from each value to the op that\n"
       "uses it (and a Graphviz .dot file of it, for those who have Graphviz).",
       draw_the_tape},
      {"Checking gradients with finite differences",
       "A directional derivative against central differences for shrinking h (truncation vs\n"
       "rounding), then gradcheck: the full Jacobian, entry by entry, in float64.",
       check_against_finite_differences},
      {"Hessian-vector products",
       "With create_graph the backward pass is itself recorded, so it can be differentiated: H v\n"
       "costs two backward passes. Compared with the closed form and with finite differences.",
       hessian_vector_product},
      {"Long chains and memory",
       "100,000 ops in a chain backpropagate with a flat stack; backward frees the tape; NoGrad\n"
       "records nothing.",
       long_chains_and_memory},
      {"Errors that protect you",
       "Three mistakes that would otherwise give wrong numbers, each stopped with a message.",
       errors},
  };
  return stablenn::notebook::run_chapter(argc, argv, {2, "Automatic differentiation on a tape", "book/02-autodiff.md"},
                                         cells);
}
