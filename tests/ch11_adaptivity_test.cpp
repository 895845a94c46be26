// tests/ch11_adaptivity_test.cpp — chapter 11: the controlled neural ODE's discrete adjoint against
// the autodiff tape, the DWR estimator on a linear ODE with a known solution, splitting, Dörfler
// marking against brute force, and the adaptive loop's bookkeeping.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "autodiff/autodiff.h"
#include "datasets/toy2d.h"
#include "layers/losses.h"
#include "train/adaptive_refinement.h"

using namespace stablenn;

namespace {

ControlSamples random_samples(int64_t n, int64_t m, int64_t classes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  ControlSamples s;
  s.count = n, s.input_dim = m;
  for (int64_t i = 0; i < n * m; ++i) s.inputs.push_back(normal(rng));
  for (int64_t i = 0; i < n; ++i) s.labels.push_back(static_cast<int64_t>(rng() % classes));
  return s;
}

Var leaf(const double* values, const Shape& shape) {
  int64_t count = 1;
  for (int64_t v : shape) count *= v;
  Var v(Tensor::from_vector(std::vector<double>(values, values + count), shape, DType::Float64), true);
  return v;
}

// The same J built on the tape, op by op, from the model's parameters; returns J and fills the leaves.
struct TapeGoal {
  double value = 0;
  std::vector<Var> weights, biases;
  Var head_weight, head_bias;
};

TapeGoal tape_goal(const ControlledOde& model, const ControlSamples& samples, const GoalOptions& o) {
  TapeGoal t;
  const int64_t d = model.dim, q = model.outputs, cs = model.control_size(), n = samples.count;
  std::vector<double> x0(n * d, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < samples.input_dim; ++j) x0[i * d + j] = samples.inputs[i * samples.input_dim + j];
  Var x(Tensor::from_vector(x0, {n, d}, DType::Float64));
  Var reg = Var(Tensor::scalar(0.0, DType::Float64));
  for (int64_t k = 0; k < model.layers(); ++k) {
    t.weights.push_back(leaf(model.controls.data() + k * cs, {d, d}));
    t.biases.push_back(leaf(model.controls.data() + k * cs + d * d, {d}));
    Var z = linear(x, t.weights[k], t.biases[k]);
    Var f = model.activation == FieldActivation::kTanh ? tanh(z) : z;
    x = x + f * model.tau[k];
    reg = reg + (sum(square(t.weights[k])) + sum(square(t.biases[k]))) * (0.5 * o.l2 * model.tau[k]);
  }
  for (int64_t k = 0; k + 1 < model.layers(); ++k) {
    const double inv = 0.5 * o.h1 / (0.5 * (model.tau[k] + model.tau[k + 1]));
    reg = reg + (sum(square(t.weights[k + 1] - t.weights[k])) + sum(square(t.biases[k + 1] - t.biases[k]))) * inv;
  }
  t.head_weight = leaf(model.head.data(), {q, d});
  t.head_bias = leaf(model.head.data() + q * d, {q});
  reg = reg + sum(square(t.head_weight)) * (0.5 * o.head_l2);
  Var y = linear(x, t.head_weight, t.head_bias);
  Var loss = o.loss == GoalLoss::kCrossEntropy
                 ? cross_entropy(y, Tensor::from_int64(samples.labels, {n}))
                 : sum(square(y - Var(Tensor::from_vector(samples.targets, {n, q}, DType::Float64)))) * (0.5 / n);
  Var j = loss + reg;
  backward(j);
  t.value = j.item();
  return t;
}

void expect_close(const Var& tape_leaf, const double* adjoint, double tol, const char* what) {
  const Tensor g = tape_leaf.grad().value().contiguous();
  for (int64_t i = 0; i < g.numel(); ++i) EXPECT_NEAR(g.data<double>()[i], adjoint[i], tol) << what << "[" << i << "]";
}

}  // namespace

TEST(Ch11Adjoint, GradientsEqualTheTapesInDouble) {
  for (const GoalLoss loss : {GoalLoss::kCrossEntropy, GoalLoss::kSquaredError}) {
    Generator gen(3);
    ControlledOde model = make_controlled_ode(4, 3, 3, 1.5, loss == GoalLoss::kCrossEntropy ? FieldActivation::kTanh
                                                                                           : FieldActivation::kIdentity,
                                              gen, 1.3);
    model.tau = {0.2, 0.5, 0.8};  // a non-uniform mesh
    ControlSamples s = random_samples(7, 2, 3, 11);
    if (loss == GoalLoss::kSquaredError)
      for (int64_t i = 0; i < 7 * 3; ++i) s.targets.push_back(0.1 * static_cast<double>(i % 5));
    GoalOptions o;
    o.loss = loss, o.l2 = 0.07, o.h1 = 0.03, o.head_l2 = 0.05;
    const GoalGradient g = goal_gradient(model, s, o);
    const TapeGoal t = tape_goal(model, s, o);
    EXPECT_NEAR(g.value.total(), t.value, 1e-12);
    const int64_t cs = model.control_size(), d = model.dim;
    for (int64_t k = 0; k < model.layers(); ++k) {
      expect_close(t.weights[k], g.controls.data() + k * cs, 1e-10, "W");
      expect_close(t.biases[k], g.controls.data() + k * cs + d * d, 1e-10, "b");
    }
    expect_close(t.head_weight, g.head.data(), 1e-10, "C");
    expect_close(t.head_bias, g.head.data() + model.outputs * d, 1e-10, "c");
  }
}

TEST(Ch11Adjoint, FrozenHeadHasZeroGradient) {
  Generator gen(4);
  const ControlledOde model = make_controlled_ode(3, 2, 2, 1.0, FieldActivation::kTanh, gen);
  GoalOptions o;
  o.train_head = false;
  const GoalGradient g = goal_gradient(model, random_samples(5, 2, 2, 1), o);
  for (double v : g.head) EXPECT_EQ(v, 0.0);
}

// ẋ = A x with A = [[a, b], [−b, a]]: x(T) = e^{aT} R(bT) x0 exactly. Goal ½|x(T) − target|² (head = I).
namespace {
struct LinearProblem {
  double a = -0.6, b = 2.0, T = 1.0;
  ControlSamples samples;
  GoalOptions goal;
  LinearProblem() {
    samples.count = 3, samples.input_dim = 2;
    samples.inputs = {1.0, 0.0, 0.3, -0.8, -0.5, 0.6};
    samples.targets = {0.2, 0.1, -0.4, 0.3, 0.0, -0.2};
    goal.loss = GoalLoss::kSquaredError, goal.l2 = 0, goal.h1 = 0, goal.head_l2 = 0, goal.train_head = false;
  }
  ControlledOde model(int64_t layers) const {
    ControlledOde m;
    m.dim = 2, m.outputs = 2, m.activation = FieldActivation::kIdentity;
    m.tau.assign(layers, T / static_cast<double>(layers));
    for (int64_t k = 0; k < layers; ++k) m.controls.insert(m.controls.end(), {a, b, -b, a, 0.0, 0.0});
    m.head = {1, 0, 0, 1, 0, 0};
    return m;
  }
  double exact_loss() const {
    const double g = std::exp(a * T), c = std::cos(b * T), s = std::sin(b * T);
    double total = 0;
    for (int64_t i = 0; i < 3; ++i) {
      const double x = samples.inputs[2 * i], y = samples.inputs[2 * i + 1];
      const double ex = g * (c * x + s * y) - samples.targets[2 * i], ey = g * (-s * x + c * y) - samples.targets[2 * i + 1];
      total += 0.5 * (ex * ex + ey * ey);
    }
    return total / 3;
  }
};
}  // namespace

TEST(Ch11Estimator, PredictsTheChangeUnderUniformRefinementOnALinearOde) {
  const LinearProblem p;
  double previous_error = 0;
  for (int64_t layers : {4, 8, 16, 32, 64}) {
    const ControlledOde m = p.model(layers);
    const Effectivity e = effectivity(m, p.samples, p.goal);
    EXPECT_GE(e.index(), 0.5) << layers << " layers";
    EXPECT_LE(e.index(), 2.0) << layers << " layers";
    // Euler is first order: the estimate of the whole discretisation error is 2 Σ η_k.
    const double error = p.exact_loss() - evaluate_goal(m, p.samples, p.goal).loss;
    const double ratio = 2 * e.estimate / error;
    EXPECT_GT(ratio, 0.5) << layers;
    EXPECT_LT(ratio, 2.0) << layers;
    if (layers >= 16) {  // asymptotic from there (at 4 -> 8 the ratio is 0.32)
      EXPECT_NEAR(error / previous_error, 0.5, 0.15) << "first-order convergence";
    }
    previous_error = error;
  }
  // The effectivity tends to 1 as the mesh is refined.
  EXPECT_NEAR(effectivity(p.model(64), p.samples, p.goal).index(), 1.0, 0.1);
}

TEST(Ch11Estimator, OneIndicatorPredictsSplittingItsInterval) {
  const LinearProblem p;
  ControlledOde m = p.model(8);
  m.tau = {0.05, 0.05, 0.1, 0.3, 0.2, 0.1, 0.1, 0.1};
  const std::vector<double> eta = dwr_indicators(m, p.samples, p.goal);
  const double before = evaluate_goal(m, p.samples, p.goal).loss;
  ControlledOde split = m;
  split_interval(split, 3);
  const double ratio = eta[3] / (evaluate_goal(split, p.samples, p.goal).loss - before);
  EXPECT_GT(ratio, 0.8);
  EXPECT_LT(ratio, 1.25);
}

TEST(Ch11Split, ControlsAsAFunctionOfTimeAreUnchangedBitForBit) {
  Generator gen(5);
  ControlledOde model = make_controlled_ode(3, 2, 4, 2.0, FieldActivation::kTanh, gen);
  model.tau = {0.25, 0.75, 0.5, 0.5};
  const ControlledOde before = model;
  split_interval(model, 1);
  split_interval(model, 0);
  ASSERT_EQ(model.layers(), 6);
  EXPECT_EQ(model.final_time(), before.final_time());
  const auto control_at = [](const ControlledOde& m, double t) {
    const std::vector<double> mesh = m.mesh();
    int64_t k = 0;
    while (k + 1 < m.layers() && t >= mesh[k + 1]) ++k;
    return m.controls.data() + k * m.control_size();
  };
  for (double t = 0.0; t < 2.0; t += 1.0 / 64)  // dyadic times: the mesh points are exact
    EXPECT_EQ(std::memcmp(control_at(model, t), control_at(before, t), model.control_size() * sizeof(double)), 0) << t;
  GoalOptions o;
  o.h1 = 0;  // the L² term is unchanged exactly (up to the sum's rounding)
  EXPECT_NEAR(goal_regulariser(model, o), goal_regulariser(before, o), 1e-15);
  EXPECT_EQ(model.head, before.head);
  // Splitting the last interval and the first ones: out of range throws.
  EXPECT_THROW(split_interval(model, 6), Error);
  EXPECT_THROW(split_interval(model, -1), Error);
}

TEST(Ch11Split, OutputsChangeByTheTwoHalfStepResidualOnly) {
  // The network's function changes only through interval k: the states before it are bitwise equal,
  // and on a field that vanishes there the outputs are bitwise equal.
  Generator gen(6);
  ControlledOde model = make_controlled_ode(3, 2, 3, 1.5, FieldActivation::kTanh, gen);
  const ControlSamples s = random_samples(6, 2, 2, 2);
  const Trajectory a = integrate(model, s);
  ControlledOde split = model;
  split_interval(split, 2);
  const Trajectory b = integrate(split, s);
  EXPECT_EQ(a.states[2], b.states[2]);
  EXPECT_NE(a.states[3], b.states[4]);
  // tanh(0) = 0: a zero control is the identity step, and splitting it changes nothing at all.
  std::fill(model.controls.begin() + 2 * model.control_size(), model.controls.end(), 0.0);
  split = model;
  split_interval(split, 2);
  EXPECT_EQ(integrate(model, s).states.back(), integrate(split, s).states.back());
}

TEST(Ch11Dorfler, SelectsTheSmallestSetCarryingTheFraction) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int trial = 0; trial < 300; ++trial) {
    const int n = 1 + static_cast<int>(rng() % 10);
    std::vector<double> eta(n);
    for (double& v : eta) v = u(rng) * std::pow(10.0, 2 * u(rng));
    const double fraction = 0.05 + 0.95 * (u(rng) + 1) / 2;
    double total = 0;
    for (double v : eta) total += std::abs(v);
    int best = n + 1;
    for (unsigned mask = 0; mask < (1u << n); ++mask) {
      double carried = 0;
      for (int k = 0; k < n; ++k)
        if (mask & (1u << k)) carried += std::abs(eta[k]);
      if (carried >= fraction * total) best = std::min(best, __builtin_popcount(mask));
    }
    const std::vector<int64_t> marked = dorfler_mark(eta, fraction);
    EXPECT_EQ(static_cast<int>(marked.size()), best) << "trial " << trial;
    double carried = 0;
    for (int64_t k : marked) carried += std::abs(eta[k]);
    EXPECT_GE(carried, fraction * total * (1 - 1e-12));
    EXPECT_TRUE(std::is_sorted(marked.begin(), marked.end()));
  }
  EXPECT_TRUE(dorfler_mark({0.0, 0.0}, 0.5).empty());
  EXPECT_EQ(dorfler_mark({0.1, -3.0, 0.2}, 0.5), std::vector<int64_t>({1}));
  EXPECT_EQ(dorfler_mark({1.0, 1.0, 1.0}, 1.0).size(), 3u);
  EXPECT_THROW(dorfler_mark({1.0}, 0.0), Error);
  EXPECT_THROW(dorfler_mark({1.0}, 1.5), Error);
}

TEST(Ch11Training, ArmijoDescentDecreasesTheGoalMonotonically) {
  Generator gen(8);
  Generator data_gen(9);
  const ControlSamples s = samples_from_dataset(make_moons(200, 0.1, data_gen));
  ControlledOde model = make_controlled_ode(4, 2, 3, 3.0, FieldActivation::kTanh, gen);
  DescentOptions d;
  d.iterations = 40;
  DescentState state;
  const DescentResult r = train_controls(model, s, GoalOptions(), d, state);
  ASSERT_EQ(r.goal_history.size(), 40u);
  for (size_t i = 1; i < r.goal_history.size(); ++i) EXPECT_LE(r.goal_history[i], r.goal_history[i - 1]);
  EXPECT_LT(r.goal_history.back(), 0.6);
  EXPECT_GT(r.layer_passes, 40 * 2 * 3);
}

TEST(Ch11Adaptive, SplitsOnlyMarkedIntervalsWithinTheBudget) {
  Generator gen(10), data_gen(11);
  const ControlSamples s = samples_from_dataset(make_circles(200, 0.05, data_gen));
  ControlledOde model = make_controlled_ode(3, 2, 1, 2.0, FieldActivation::kTanh, gen);
  AdaptiveOptions o;
  o.training.iterations = 15;
  o.max_layers = 5;
  o.fraction = 0.6;
  const std::vector<AdaptiveCycle> cycles = adaptive_refinement(model, s, GoalOptions(), o);
  ASSERT_GE(cycles.size(), 2u);
  for (size_t c = 0; c + 1 < cycles.size(); ++c) {
    EXPECT_EQ(cycles[c + 1].layers, cycles[c].layers + static_cast<int64_t>(cycles[c].marked.size()));
    EXPECT_EQ(cycles[c].mesh.size(), static_cast<size_t>(cycles[c].layers + 1));
    EXPECT_NEAR(cycles[c].mesh.back(), 2.0, 1e-15);
    EXPECT_GT(cycles[c + 1].total_layer_passes, cycles[c].total_layer_passes);
  }
  EXPECT_EQ(cycles.back().layers, 5);
  EXPECT_EQ(model.layers(), 5);
  EXPECT_TRUE(cycles.back().marked.empty());
  o.max_layers = 0;
  EXPECT_THROW(adaptive_refinement(model, s, GoalOptions(), o), Error);
}

TEST(Ch11Errors, BadInputsAreReportedNotCrashed) {
  Generator gen(12);
  const ControlledOde model = make_controlled_ode(2, 2, 1, 1.0, FieldActivation::kTanh, gen);
  EXPECT_THROW(integrate(model, random_samples(3, 3, 2, 1)), Error);  // inputs wider than the state
  ControlSamples bad = random_samples(3, 2, 2, 1);
  bad.labels[1] = 5;
  EXPECT_THROW(evaluate_goal(model, bad, GoalOptions()), Error);
  EXPECT_THROW(make_controlled_ode(2, 2, 0, 1.0, FieldActivation::kTanh, gen), Error);
  Generator data_gen(13);
  Dataset unlabeled = make_moons(10, 0.1, data_gen);
  unlabeled.labels = Tensor();
  EXPECT_THROW(samples_from_dataset(unlabeled), Error);
}
