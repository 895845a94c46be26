// tests/ch02_tape_test.cpp — the tape itself: recording, reverse replay, leaves, no_grad, memory,
// long chains, the error cases and the DOT dump (chapter 2).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "autodiff/autodiff.h"
#include "core/stablenn_core.h"

namespace stablenn {
namespace {

Var leaf(std::vector<double> values, Shape shape) {
  return Var(Tensor::from_vector(values, shape, DType::Float64), true);
}

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Ch02Tape, ScalarExampleMatchesHandDerivative) {
  // f(x) = x^2 + 3x at x = 2: f'(x) = 2x + 3 = 7.
  Var x = leaf({2.0}, {});
  Var f = x * x + 3.0 * x;
  EXPECT_DOUBLE_EQ(f.item(), 10.0);
  backward(f);
  EXPECT_DOUBLE_EQ(x.grad().item(), 7.0);
}

TEST(Ch02Tape, ValueUsedTwiceSumsItsGradients) {
  // y = a*b + a + sin(a): dy/da = b + 1 + cos(a), dy/db = a.
  Var a = leaf({0.3, -1.2}, {2}), b = leaf({2.0, 0.5}, {2});
  Var y = sum(a * b + a + sin(a));
  backward(y);
  EXPECT_NEAR(a.grad().value().at({0}), 2.0 + 1.0 + std::cos(0.3), 1e-14);
  EXPECT_NEAR(a.grad().value().at({1}), 0.5 + 1.0 + std::cos(-1.2), 1e-14);
  EXPECT_NEAR(b.grad().value().at({1}), -1.2, 1e-14);
}

TEST(Ch02Tape, BroadcastGradientIsSummedBackToTheInputShape) {
  Var m = leaf({1, 2, 3, 4, 5, 6}, {2, 3}), row = leaf({10, 20, 30}, {3}), s = leaf({2.0}, {});
  backward(sum((m + row) * s));
  EXPECT_EQ(row.grad().shape(), (Shape{3}));
  EXPECT_DOUBLE_EQ(row.grad().value().at({1}), 4.0);  // two rows, each times s = 2
  EXPECT_EQ(s.grad().shape(), Shape{});
  EXPECT_DOUBLE_EQ(s.grad().item(), 21.0 + 120.0);  // sum of m + row
  EXPECT_DOUBLE_EQ(m.grad().value().at({1, 2}), 2.0);
}

// A leaf that only the graph owns (made inside a loss, like the dummy vector of a double-vjp) is
// freed with the tape during backward(); backward() must not touch it afterwards (found by
// AddressSanitizer in chapter 10's Jacobian penalty). The kept leaf's gradient is still right.
TEST(Ch02Tape, BackwardSurvivesLeavesOwnedOnlyByTheGraph) {
  Var kept = leaf({0.5, -2.0}, {2});
  Var loss;
  {
    Var temporary = leaf({3.0, 4.0}, {2});  // requires grad, dropped at the end of this scope
    loss = sum(kept * temporary);
  }
  backward(loss);
  EXPECT_DOUBLE_EQ(kept.grad().value().at({0}), 3.0);
  EXPECT_DOUBLE_EQ(kept.grad().value().at({1}), 4.0);
}

TEST(Ch02Tape, LeavesIntermediatesAndConstants) {
  Var x = leaf({1.0, 2.0}, {2});
  Var c = Var(Tensor::ones({2}, DType::Float64));  // a constant
  Var y = x * c;
  EXPECT_TRUE(x.is_leaf());
  EXPECT_TRUE(x.requires_grad());
  EXPECT_FALSE(c.requires_grad());
  EXPECT_FALSE(y.is_leaf());
  EXPECT_TRUE(y.requires_grad());
  EXPECT_EQ(y.op_name(), "mul");
  Var z = c * c;
  EXPECT_FALSE(z.requires_grad());  // nothing recorded for constants
  EXPECT_TRUE(z.is_leaf());
  EXPECT_NE(message_of([&] { y.requires_grad_(); }).find("only leaves"), std::string::npos);
  EXPECT_NE(message_of([] { Var(Tensor::from_int64({1}, {1}), true); }).find("float"), std::string::npos);
}

TEST(Ch02Tape, GradientsAccumulateUntilZeroed) {
  Var x = leaf({3.0}, {});
  backward(x * x);
  backward(x * x);
  EXPECT_DOUBLE_EQ(x.grad().item(), 12.0);
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
  backward(x * 5.0);
  EXPECT_DOUBLE_EQ(x.grad().item(), 5.0);
}

TEST(Ch02Tape, StoredGradientsAreOwnedAndContiguous) {
  // add's rule hands the same gradient to both inputs and sum's rule a broadcast view; the stored
  // .grad of each leaf must still be its own contiguous tensor, safe to change in place.
  Var a = leaf({1, 2, 3}, {3}), b = leaf({4, 5, 6}, {3});
  backward(sum(a + b));
  EXPECT_TRUE(a.grad().value().is_contiguous());
  EXPECT_FALSE(a.grad().value().shares_storage(b.grad().value()));
  a.grad().mul_(10.0);
  EXPECT_DOUBLE_EQ(b.grad().value().at({0}), 1.0);
}

TEST(Ch02Tape, DetachCutsTheGraph) {
  // y = x * detach(x): only the first factor carries a gradient, dy/dx = x.
  Var x = leaf({1.5, -2.0}, {2});
  Var d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.value().shares_storage(x.value()));
  backward(sum(x * d));
  EXPECT_DOUBLE_EQ(x.grad().value().at({0}), 1.5);
  EXPECT_DOUBLE_EQ(x.grad().value().at({1}), -2.0);
}

TEST(Ch02Tape, NoGradRecordsNothing) {
  Var x = leaf({1.0, 2.0}, {2});
  const size_t before = Tape::current().live_nodes();
  {
    NoGrad guard;
    EXPECT_FALSE(grad_enabled());
    Var y = exp(x) * 2.0;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(Tape::current().live_nodes(), before);
  }
  EXPECT_TRUE(grad_enabled());
  Var y = exp(x);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_EQ(Tape::current().live_nodes(), before + 1);
}

TEST(Ch02Tape, BackwardReleasesTheTapeUnlessRetained) {
  Var x = leaf({0.5}, {});
  const size_t base = Tape::current().live_nodes();
  Var y = x;
  for (int k = 0; k < 10; ++k) y = tanh(y) + 0.1;
  EXPECT_EQ(Tape::current().live_nodes(), base + 20);
  backward(y, Var(), /*retain_graph=*/true);
  EXPECT_EQ(Tape::current().live_nodes(), base + 20);  // retained: a second pass works
  backward(y);
  EXPECT_EQ(Tape::current().live_nodes(), base + 1);  // only y's own node, now empty
  const std::string msg = message_of([&] { backward(y); });
  EXPECT_NE(msg.find("retain_graph"), std::string::npos) << msg;
  y = Var();
  EXPECT_EQ(Tape::current().live_nodes(), base);
}

TEST(Ch02Tape, RetainedGraphGivesTheSameGradientTwice) {
  Var x = leaf({0.7}, {});
  Var y = sin(x) * x;
  backward(y, Var(), true);
  const double once = x.grad().item();
  backward(y);
  EXPECT_DOUBLE_EQ(x.grad().item(), 2 * once);
  EXPECT_NEAR(once, std::cos(0.7) * 0.7 + std::sin(0.7), 1e-15);
}

TEST(Ch02Tape, HundredThousandOpChainBackpropagatesAndFreesWithoutRecursion) {
  // 100,000 recorded ops: a recursive backward or a recursive chain of destructors would overflow the
  // stack long before this; the tape walk and the teardown work list stay flat.
  const int n = 100000;
  const size_t base = Tape::current().live_nodes();
  Var x = leaf({1.0}, {});
  Var y = x;
  for (int k = 0; k < n; ++k) y = y * 1.00001;
  backward(y);
  EXPECT_NEAR(x.grad().item(), std::pow(1.00001, n), 1e-9 * std::pow(1.00001, n));
  // The same chain dropped without backward: freed by the destructor work list.
  Var z = x;
  for (int k = 0; k < n; ++k) z = z + 1.0;
  EXPECT_DOUBLE_EQ(z.item(), 1.0 + n);
  EXPECT_EQ(Tape::current().live_nodes(), base + n + 1);  // z's chain and y's released root
  z = Var();
  y = Var();
  EXPECT_EQ(Tape::current().live_nodes(), base);
}

TEST(Ch02Tape, GradOfIntermediateAndOfLeafWithoutTouchingDotGrad) {
  Var x = leaf({0.2, 0.4}, {2});
  Var h = square(x);
  Var y = sum(exp(h));
  const std::vector<Var> g = grad({y}, {h, x});
  EXPECT_NEAR(g[0].value().at({1}), std::exp(0.16), 1e-14);                // dy/dh = e^h
  EXPECT_NEAR(g[1].value().at({1}), std::exp(0.16) * 2 * 0.4, 1e-14);      // dy/dx = e^h 2x
  EXPECT_FALSE(x.grad().defined());
}

TEST(Ch02Tape, GradOnlyRunsRulesOnPathsToTheRequestedInputs) {
  // y = sum(counted(a) * b): asking for dy/db must not run the rule of the branch through a.
  static int calls = 0;
  auto counted = [](const Var& v) {
    return record("counted", v.value().clone(), {v}, Saves::nothing(), [](const BackwardContext& c) {
      ++calls;
      return grads(c.grad);
    });
  };
  Var a = leaf({1, 2}, {2}), b = leaf({3, 4}, {2});
  Var y = sum(counted(exp(a)) * b);
  calls = 0;
  const Var gb = grad({y}, {b}, {}, GradOptions{false, true, false})[0];
  EXPECT_EQ(calls, 0);
  EXPECT_NEAR(gb.value().at({1}), std::exp(2.0), 1e-14);
  const Var ga = grad({y}, {a})[0];
  EXPECT_EQ(calls, 1);
  EXPECT_NEAR(ga.value().at({0}), 3 * std::exp(1.0), 1e-14);
}

TEST(Ch02Tape, CreateGraphGivesDifferentiableGradients) {
  // f = x^3: f' = 3x^2, f'' = 6x, f''' = 6.
  Var x = leaf({1.5}, {});
  Var f = x * x * x;
  GradOptions higher;
  higher.create_graph = true;
  Var g1 = grad({f}, {x}, {}, higher)[0];
  Var g2 = grad({g1}, {x}, {}, higher)[0];
  Var g3 = grad({g2}, {x}, {})[0];
  EXPECT_DOUBLE_EQ(g1.item(), 3 * 1.5 * 1.5);
  EXPECT_DOUBLE_EQ(g2.item(), 6 * 1.5);
  EXPECT_DOUBLE_EQ(g3.item(), 6.0);
  // backward(create_graph) stores a differentiable .grad.
  Var w = leaf({2.0}, {});
  backward(w * w * w, Var(), false, true);
  Var wg = w.grad();
  EXPECT_TRUE(wg.requires_grad());
  w.zero_grad();  // breaks the leaf -> grad -> graph -> leaf cycle
  backward(wg);
  EXPECT_DOUBLE_EQ(w.grad().item(), 12.0);
}

TEST(Ch02Tape, CastCarriesTheGradientBackInTheInputDtype) {
  // (finite differences cannot check a rounding cast, so this checks the rule exactly)
  Var x = leaf({0.5, -0.25, 1.5}, {3});
  const Tensor w = Tensor::from_floats({2.0f, -1.0f, 0.5f}, {3});
  Var y = sum(cast(x, DType::Float32) * Var(w));
  EXPECT_EQ(y.dtype(), DType::Float32);
  backward(y);
  EXPECT_EQ(x.grad().dtype(), DType::Float64);
  EXPECT_EQ(x.grad().value().to_vector(), (std::vector<double>{2.0, -1.0, 0.5}));
  EXPECT_THROW(cast(x, DType::Int64), Error);
}

// ---- the error cases of issue 3 ----

TEST(Ch02TapeErrors, BackwardOnNonScalarNeedsASeed) {
  Var x = leaf({1, 2, 3}, {3});
  Var y = x * 2.0;
  const std::string msg = message_of([&] { backward(y); });
  EXPECT_NE(msg.find("seed"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[3]"), std::string::npos) << msg;
  // With a seed it works: the gradient is seed * 2.
  backward(y, Var(Tensor::from_vector({1, 0, -1}, {3}, DType::Float64)));
  EXPECT_DOUBLE_EQ(x.grad().value().at({2}), -2.0);
  const std::string bad_seed = message_of([&] { backward(x * 2.0, Var(Tensor::ones({2}, DType::Float64))); });
  EXPECT_NE(bad_seed.find("expected the output's shape [3]"), std::string::npos) << bad_seed;
}

TEST(Ch02TapeErrors, GradientOfAValueNotOnTheTape) {
  Var c = Var(Tensor::ones({2}, DType::Float64));
  Var x = leaf({1, 2}, {2});
  const std::string not_recorded = message_of([&] { backward(sum(c * c)); });
  EXPECT_NE(not_recorded.find("not on the tape"), std::string::npos) << not_recorded;
  Var y = sum(x * c);
  const std::string constant_input = message_of([&] { grad({y}, {c}); });
  EXPECT_NE(constant_input.find("is not on the tape"), std::string::npos) << constant_input;
  Var unrelated = leaf({5}, {1});
  const std::string unused = message_of([&] { grad({y}, {unrelated}, {}, GradOptions{false, true, false}); });
  EXPECT_NE(unused.find("not used"), std::string::npos) << unused;
  EXPECT_FALSE(grad({y}, {unrelated}, {}, GradOptions{false, false, true})[0].defined());
  Var z;
  {
    NoGrad guard;
    z = x * 2.0;
  }
  EXPECT_NE(message_of([&] { backward(sum(z)); }).find("NoGrad"), std::string::npos);
}

TEST(Ch02TapeErrors, InPlaceChangeOfASavedValueIsRefused) {
  // exp saves its output; changing it in place afterwards must not give a silently wrong gradient.
  Var x = leaf({0.1, 0.2}, {2});
  Var y = exp(x);
  Var loss = sum(y);
  {
    NoGrad guard;
    y.mul_(2.0);
  }
  const std::string msg = message_of([&] { backward(loss); });
  EXPECT_NE(msg.find("changed in place"), std::string::npos) << msg;
  EXPECT_NE(msg.find("exp"), std::string::npos) << msg;

  // mul saves its inputs: a constant factor changed through a view of it is caught too.
  Var c = Var(Tensor::from_vector({1, 2, 3, 4}, {4}, DType::Float64));
  Var w = leaf({1, 1, 1, 1}, {4});
  Var p = sum(w * c);
  Var view = slice(c, 0, 1, 3);
  view.fill_(0.0);  // c does not require grad: allowed, and it bumps c's version
  const std::string via_view = message_of([&] { backward(p); });
  EXPECT_NE(via_view.find("needs input #1"), std::string::npos) << via_view;

  // add saves nothing: the same change there is harmless and not reported.
  Var c2 = Var(Tensor::ones({4}, DType::Float64));
  Var q = sum(w + c2);
  c2.add_(Tensor::ones({4}, DType::Float64));
  EXPECT_NO_THROW(backward(q));

  // A leaf that requires grad cannot be changed in place while recording.
  EXPECT_NE(message_of([&] { w.mul_(2.0); }).find("NoGrad"), std::string::npos);
  {
    NoGrad guard;
    EXPECT_NO_THROW(w.mul_(2.0));  // what an optimiser step does
  }
}

// ---- printing and drawing ----

TEST(Ch02TapeDot, ListingAndDotShowEveryOpAndEdge) {
  Var x = leaf({1, 2}, {2});
  x.set_name("x");
  Var w = leaf({3, 4}, {2});
  w.set_name("w");
  Var y = sum(tanh(x * w) + x);
  const std::string listing = tape_listing(y);
  EXPECT_NE(listing.find("x = leaf [2] requires_grad"), std::string::npos) << listing;
  EXPECT_NE(listing.find("%1 = mul(x, w) -> [2]"), std::string::npos) << listing;
  EXPECT_NE(listing.find("%2 = tanh(%1) -> [2]"), std::string::npos) << listing;
  EXPECT_NE(listing.find("%3 = add(%2, x) -> [2]"), std::string::npos) << listing;
  EXPECT_NE(listing.find("%4 = sum(%3) -> []"), std::string::npos) << listing;

  const std::string dot = to_dot(y);
  EXPECT_EQ(dot.rfind("digraph tape {", 0), 0u);
  // 4 ops and 2 leaves; edges: x->mul, w->mul, mul->tanh, tanh->add, x->add, add->sum.
  size_t edges = 0;
  for (size_t p = dot.find("->"); p != std::string::npos; p = dot.find("->", p + 2)) ++edges;
  EXPECT_EQ(edges, 6u);
  EXPECT_NE(dot.find("leaf0 -> op0"), std::string::npos) << dot;
  EXPECT_NE(dot.find("leaf0 -> op2"), std::string::npos) << dot;

  const std::string path = std::string(::testing::TempDir()) + "ch02_tape.dot";
  write_dot(y, path);
  std::ifstream in(path);
  std::stringstream read;
  read << in.rdbuf();
  EXPECT_EQ(read.str(), dot);
  std::remove(path.c_str());
  EXPECT_NE(message_of([&] { write_dot(y, "/nonexistent-dir/x.dot"); }).find("/nonexistent-dir"),
            std::string::npos);
}

}  // namespace
}  // namespace stablenn
