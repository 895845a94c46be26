// tests/ch11_adaptivity_test.cpp — chapter 11: the controlled neural ODE's discrete adjoint against
// the autodiff tape, the DWR estimator on a linear ODE with a known solution, splitting, Dörfler
// marking against brute force, and the adaptive loop's bookkeeping.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <numeric>
#include <random>

#include <unistd.h>

#include "autodiff/autodiff.h"
#include "datasets/toy2d.h"
#include "layers/losses.h"
#include "io/safetensors.h"
#include "train/adaptive_refinement.h"
#include "train/control_checkpoint.h"

using namespace stablenn;
namespace fs = std::filesystem;

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

// ---- checkpoints: a run's networks and records saved, read back, continued ----

namespace {

// Every field of two cycle records, exactly.
void expect_same_cycle(const AdaptiveCycle& a, const AdaptiveCycle& b, size_t c) {
  EXPECT_EQ(a.layers, b.layers) << "cycle " << c;
  EXPECT_EQ(a.goal.loss, b.goal.loss) << "cycle " << c;
  EXPECT_EQ(a.goal.regulariser, b.goal.regulariser) << "cycle " << c;
  EXPECT_EQ(a.mesh, b.mesh) << "cycle " << c;
  EXPECT_EQ(a.indicators, b.indicators) << "cycle " << c;
  EXPECT_EQ(a.estimate, b.estimate) << "cycle " << c;
  EXPECT_EQ(a.effectivity.estimate, b.effectivity.estimate) << "cycle " << c;
  EXPECT_EQ(a.effectivity.actual, b.effectivity.actual) << "cycle " << c;
  EXPECT_EQ(a.marked, b.marked) << "cycle " << c;
  EXPECT_EQ(a.layer_passes, b.layer_passes) << "cycle " << c;
  EXPECT_EQ(a.total_layer_passes, b.total_layer_passes) << "cycle " << c;
}

// The adaptive loop of a small problem; each cycle's trained network and record collected.
struct SmallRun {
  ControlSamples samples;
  AdaptiveOptions options;
  GoalOptions goal;
  std::vector<ControlSnapshot> snapshots;
};

SmallRun small_run(ControlOptimizer method) {
  SmallRun r;
  Generator data_gen(21);
  r.samples = samples_from_dataset(make_moons(120, 0.1, data_gen));
  r.options.training.iterations = 12;
  r.options.training.method = method;
  if (method == ControlOptimizer::kAdam) r.options.training.initial_step = 0.02;
  r.options.max_layers = 6;
  r.options.fraction = 0.5;
  r.goal.l2 = r.goal.h1 = r.goal.head_l2 = 1e-3;
  return r;
}

ControlledOde small_start() {
  Generator gen(22);
  return make_controlled_ode(3, 2, 2, 2.0, FieldActivation::kTanh, gen);
}

// Named by the process id too: ctest runs tests in parallel processes.
fs::path fresh_folder(const std::string& name) {
  const fs::path dir = fs::path(testing::TempDir()) / (name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST(Ch11Checkpoint, RunRoundTripsNetworksMeshesAndRecordsBitForBit) {
  SmallRun r = small_run(ControlOptimizer::kArmijoDescent);
  ControlledOde model = small_start();
  adaptive_refinement(model, r.samples, r.goal, r.options,
                      [&](const AdaptiveCycle& c, const ControlledOde& m) { r.snapshots.push_back({m, c}); });
  ASSERT_GE(r.snapshots.size(), 3u);
  const std::string path = (fresh_folder("ch11_round_trip") / "run.safetensors").string();
  save_control_run(path, r.snapshots, {{"note", "test"}});
  std::map<std::string, std::string> meta;
  const std::vector<ControlSnapshot> back = load_control_run(path, &meta);
  EXPECT_EQ(meta.at("note"), "test");
  ASSERT_EQ(back.size(), r.snapshots.size());
  for (size_t c = 0; c < back.size(); ++c) {
    const ControlledOde &a = r.snapshots[c].model, &b = back[c].model;
    EXPECT_EQ(a.dim, b.dim);
    EXPECT_EQ(a.outputs, b.outputs);
    EXPECT_EQ(a.activation, b.activation);
    EXPECT_EQ(a.tau, b.tau) << "cycle " << c;
    EXPECT_EQ(a.controls, b.controls) << "cycle " << c;
    EXPECT_EQ(a.head, b.head) << "cycle " << c;
    EXPECT_EQ(b.mesh(), back[c].cycle.mesh) << "cycle " << c;  // the network's mesh is the one recorded
    expect_same_cycle(r.snapshots[c].cycle, back[c].cycle, c);
    // The same predictions, to the last bit.
    const Trajectory ta = integrate(a, r.samples), tb = integrate(b, r.samples);
    EXPECT_EQ(head_outputs(a, ta.states.back(), r.samples.count), head_outputs(b, tb.states.back(), r.samples.count));
    EXPECT_EQ(predict_classes(a, r.samples), predict_classes(b, r.samples));
  }
  EXPECT_TRUE(back.back().cycle.marked.empty());
  EXPECT_FALSE(back.front().cycle.marked.empty());
}

TEST(Ch11Checkpoint, BrokenOrForeignFilesAreReportedNamingTheFile) {
  const fs::path dir = fresh_folder("ch11_broken");
  ControlSnapshot s{small_start(), AdaptiveCycle()};
  s.cycle.layers = 2;
  const std::string good = (dir / "good.safetensors").string();
  save_control_run(good, {s});
  EXPECT_EQ(load_control_run(good).size(), 1u);
  EXPECT_THROW(save_control_run(good, {s}, {{"entries", "9"}}), Error);  // a reserved key
  const auto expect_error_naming = [](const std::string& path, const std::string& what) {
    try {
      load_control_run(path);
      ADD_FAILURE() << "no error for " << path;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  // Truncated.
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string truncated = (dir / "truncated.safetensors").string();
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() - 8);
  expect_error_naming(truncated, "truncated");
  // Another kind of checkpoint (no format entry).
  const std::string foreign = (dir / "foreign.safetensors").string();
  save_safetensors(foreign, {{"0.weight", Tensor::zeros({2, 2}, DType::Float64)}});
  expect_error_naming(foreign, "not a chapter 11 run");
  // Controls of the wrong size for the mesh, and a NaN.
  SafetensorsContent content = load_safetensors(good);
  std::vector<NamedTensor> tensors = content.tensors;
  for (NamedTensor& t : tensors)
    if (t.name == "0.controls") t.tensor = t.tensor.narrow(0, 0, 5).contiguous();
  const std::string short_controls = (dir / "short.safetensors").string();
  save_safetensors(short_controls, tensors, content.metadata);
  expect_error_naming(short_controls, "'0.controls' has 5 elements");
  tensors = content.tensors;
  for (NamedTensor& t : tensors)
    if (t.name == "0.head") {
      std::vector<double> v = t.tensor.to_vector();
      v[1] = std::nan("");
      t.tensor = Tensor::from_vector(v, {static_cast<int64_t>(v.size())}, DType::Float64);
    }
  const std::string nan_head = (dir / "nan.safetensors").string();
  save_safetensors(nan_head, tensors, content.metadata);
  expect_error_naming(nan_head, "'0.head' holds NaN");
}

// A run stopped after cycle k (here: on_cycle throws, as Ctrl-C would end the program after the save)
// and continued from the file equals the uninterrupted run, bit for bit, for both training rules.
TEST(Ch11Checkpoint, ContinuedRunEqualsAnUninterruptedOne) {
  for (ControlOptimizer method : {ControlOptimizer::kArmijoDescent, ControlOptimizer::kAdam}) {
    SmallRun straight = small_run(method);
    ControlledOde straight_model = small_start();
    const std::vector<AdaptiveCycle> cycles = adaptive_refinement(
        straight_model, straight.samples, straight.goal, straight.options,
        [&](const AdaptiveCycle& c, const ControlledOde& m) { straight.snapshots.push_back({m, c}); });
    ASSERT_GE(cycles.size(), 3u);
    for (size_t stop_after = 0; stop_after + 1 < cycles.size(); ++stop_after) {
      const std::string path = (fresh_folder("ch11_resume") / "run.safetensors").string();
      SmallRun first = small_run(method);
      ControlledOde model = small_start();
      struct Interrupt {};
      const auto save_then_maybe_stop = [&](const AdaptiveCycle& c, const ControlledOde& m) {
        first.snapshots.push_back({m, c});
        save_control_run(path, first.snapshots);
        if (first.snapshots.size() == stop_after + 1) throw Interrupt{};
      };
      EXPECT_THROW(adaptive_refinement(model, first.samples, first.goal, first.options, save_then_maybe_stop),
                   Interrupt);
      // A new process: only the file is left.
      const std::vector<ControlSnapshot> saved = load_control_run(path);
      ASSERT_EQ(saved.size(), stop_after + 1);
      ControlledOde resumed = saved.back().model;
      std::vector<AdaptiveCycle> earlier;
      for (const ControlSnapshot& s : saved) earlier.push_back(s.cycle);
      size_t new_cycles = 0;
      const std::vector<AdaptiveCycle> continued =
          adaptive_refinement(resumed, first.samples, first.goal, first.options,
                              [&](const AdaptiveCycle&, const ControlledOde&) { ++new_cycles; }, earlier);
      EXPECT_EQ(new_cycles, cycles.size() - stop_after - 1);
      ASSERT_EQ(continued.size(), cycles.size()) << "stopped after cycle " << stop_after;
      for (size_t c = 0; c < cycles.size(); ++c) expect_same_cycle(cycles[c], continued[c], c);
      EXPECT_EQ(resumed.tau, straight_model.tau);
      EXPECT_EQ(resumed.controls, straight_model.controls);
      EXPECT_EQ(resumed.head, straight_model.head);
    }
    // A finished run continued does nothing more.
    ControlledOde done = straight.snapshots.back().model;
    std::vector<AdaptiveCycle> all(cycles);
    EXPECT_EQ(adaptive_refinement(done, straight.samples, straight.goal, straight.options, {}, all).size(), cycles.size());
    EXPECT_EQ(done.controls, straight.snapshots.back().model.controls);
    // The network must be the last cycle's.
    ControlledOde wrong = small_start();
    EXPECT_THROW(adaptive_refinement(wrong, straight.samples, straight.goal, straight.options, {},
                                     std::vector<AdaptiveCycle>(cycles.begin(), cycles.begin() + 2)),
                 Error);
  }
}

// Training in pieces, the unfinished state saved to a file and read back between them, ends where one
// uninterrupted call does, bit for bit: what lets the chapter continue a fixed-depth network.
TEST(Ch11Checkpoint, UnfinishedTrainingSavedAndContinuedEqualsOneCall) {
  const std::string path = (fresh_folder("ch11_unfinished") / "run.safetensors").string();
  for (ControlOptimizer method : {ControlOptimizer::kArmijoDescent, ControlOptimizer::kAdam}) {
    SmallRun r = small_run(method);
    DescentOptions d = r.options.training;
    d.iterations = 30;
    ControlledOde straight = small_start();
    DescentState straight_state;
    const DescentResult one = train_controls(straight, r.samples, r.goal, d, straight_state);

    ControlTraining t;
    t.model = small_start();
    ControlSnapshot finished{small_start(), AdaptiveCycle()};  // an entry before it, as in the chapter
    finished.cycle.layers = finished.model.layers();
    GoalValue last;
    for (int64_t piece : {7, 13, 10}) {
      if (t.iterations_done > 0) {  // a new process: only the file is left
        std::optional<ControlTraining> back;
        const std::vector<ControlSnapshot> entries = load_control_run(path, nullptr, &back);
        ASSERT_EQ(entries.size(), 1u);
        ASSERT_TRUE(back.has_value());
        EXPECT_EQ(back->iterations_done, t.iterations_done);
        EXPECT_EQ(back->state.m, t.state.m);
        EXPECT_EQ(back->state.v, t.state.v);
        EXPECT_EQ(back->state.t, t.state.t);
        EXPECT_EQ(back->state.step, t.state.step);
        t = *back;
      }
      DescentOptions part = d;
      part.iterations = piece;
      const DescentResult dr = train_controls(t.model, r.samples, r.goal, part, t.state);
      t.iterations_done += piece;
      t.layer_passes += dr.layer_passes;
      last = dr.final_goal;
      save_control_run(path, {finished}, {}, &t);
    }
    EXPECT_EQ(t.model.controls, straight.controls);
    EXPECT_EQ(t.model.head, straight.head);
    EXPECT_EQ(t.layer_passes, one.layer_passes);
    EXPECT_EQ(last.total(), one.final_goal.total());
    // A file without an unfinished training says so.
    save_control_run(path, {finished});
    std::optional<ControlTraining> none = t;
    load_control_run(path, nullptr, &none);
    EXPECT_FALSE(none.has_value());
  }
}

// ---- the chapter program: --cell N reuses the checkpoints, a stopped run continues ----

namespace {

// Runs build/notebooks_cpp/ch11_adaptivity with `flags` (moons only, --smoke) into `dir`; returns its output.
std::string run_chapter(const fs::path& dir, const std::string& flags) {
  const fs::path log = dir / "log.txt";
  const std::string cmd = std::string(STABLENN_BINARY_DIR) + "/notebooks_cpp/ch11_adaptivity --smoke --sets moons --out " +
                          dir.string() + " " + flags + " > " + log.string() + " 2>&1 < /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "the chapter program failed; its output is in " << log;
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The lines of the results file about the moons (results and tables): what the book quotes.
std::string moons_results(const fs::path& dir) {
  std::ifstream in(dir / "ch11_results.json");
  std::string lines;
  for (std::string line; std::getline(in, line);)
    if (line.find("\"moons") != std::string::npos) {
      if (line.back() == ',') line.pop_back();  // the last entry of an object has none
      lines += line + "\n";
    }
  return lines;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(Ch11Program, CellNReusesTheCheckpointsAndAStoppedRunContinues) {
  const fs::path dir = fresh_folder("ch11_program");
  const std::string first = run_chapter(dir, "");
  EXPECT_EQ(count_of(first, "yet: training"), 3u) << first;  // adaptive, uniform, fixed depths
  const std::string full = moons_results(dir);
  ASSERT_NE(full.find("moons.adaptive.test"), std::string::npos) << full;

  // --cell 4 with every checkpoint there: nothing trains, the same numbers.
  const std::string again = run_chapter(dir, "--cell 4");
  EXPECT_EQ(count_of(again, "(reusing "), 3u) << again;
  EXPECT_EQ(again.find("yet: training"), std::string::npos) << again;
  EXPECT_EQ(again.find("(resuming"), std::string::npos) << again;
  EXPECT_EQ(moons_results(dir), full);

  // Stopped after the first adaptive cycle and before the fixed-depth networks: it continues.
  std::string adaptive, fixed;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("ch11_moons_adaptive_", 0) == 0) adaptive = entry.path().string();
    if (name.rfind("ch11_moons_fixed_", 0) == 0) fixed = entry.path().string();
  }
  ASSERT_FALSE(adaptive.empty());
  ASSERT_FALSE(fixed.empty());
  std::vector<ControlSnapshot> cycles = load_control_run(adaptive);
  ASSERT_GE(cycles.size(), 2u);
  cycles.resize(1);
  save_control_run(adaptive, cycles);
  fs::remove(fixed);
  const std::string resumed = run_chapter(dir, "--cell 4");
  EXPECT_NE(resumed.find("(resuming the run stopped after cycle 0"), std::string::npos) << resumed;
  EXPECT_NE(resumed.find("(no checkpoint at " + fs::absolute(fixed).string()), std::string::npos) << resumed;
  EXPECT_EQ(moons_results(dir), full);

  // --retrain trains again.
  const std::string retrained = run_chapter(dir, "--cell 4 --retrain");
  EXPECT_EQ(count_of(retrained, "--retrain: training again"), 3u) << retrained;
  EXPECT_EQ(moons_results(dir), full);
}
