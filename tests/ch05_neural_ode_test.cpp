// tests/ch05_neural_ode_test.cpp — neural ODEs (chapter 5): adjoint gradients against
// backprop-through-the-solver and finite differences, the adjoint's flat memory, time-dependent
// fields, ResNets as Euler steps, statistics and errors; the chapter's training resumed after an
// interrupt ends where an uninterrupted run does.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "autodiff/autodiff.h"
#include "datasets/toy2d.h"
#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/neural_ode.h"
#include "ode/odeint.h"
#include "ode/solve_fixed.h"
#include "ode/state_var.h"
#include "notebooks_cpp/ch05_training.h"

namespace stablenn {
namespace {

Tensor random64(const Shape& shape, uint64_t seed, double scale = 1.0) {
  Generator g(seed);
  return g.normal(shape, 0.0, scale, DType::Float64);
}

// f(t, x) = W2 tanh(W1 [x, t] + b1) + b2 with x: [N, 2]; params = {W1, b1, W2, b2}.
OdeFunction<Var> mlp_field(const std::vector<Var>& p) {
  return [p](double t, const Var& x) {
    const Var z = concat({x, Var(Tensor::full({x.size(0), 1}, t, x.dtype()))}, 1);
    return linear(tanh(linear(z, p[0], p[1])), p[2], p[3]);
  };
}

// inputs = {x0 [5, 2], W1 [8, 3], b1 [8], W2 [2, 8], b2 [2]}.
std::vector<Tensor> field_inputs() {
  return {random64({5, 2}, 1), random64({8, 3}, 2, 0.7), random64({8}, 3, 0.3), random64({2, 8}, 4, 0.5),
          random64({2}, 5, 0.2)};
}

// A loss that weights each output entry differently, so every entry of the gradient matters.
Var weighted_loss(const Var& x1) {
  const Tensor weights = random64(x1.shape(), 99);
  return sum(mul(square(x1), Var(weights))) + sum(x1);
}

VarFunction solve_loss(OdeintOptions options) {
  return [options](const std::vector<Var>& in) {
    const std::vector<Var> params(in.begin() + 1, in.end());
    return weighted_loss(odeint(mlp_field(params), in[0], params, 0.0, 1.0, options));
  };
}

OdeintOptions rk4_steps(int64_t steps, GradientMethod method) {
  OdeintOptions o;
  o.tableau = rk4();
  o.steps = steps;
  o.gradient = method;
  return o;
}

// All gradients of the loss, flattened into one vector.
std::vector<double> all_gradients(const OdeintOptions& options) {
  std::vector<Var> leaves;
  for (const Tensor& t : field_inputs()) leaves.push_back(Var(t, true));
  const std::vector<Var> g = grad({solve_loss(options)(leaves)}, leaves);
  std::vector<double> flat;
  for (const Var& v : g) {
    const std::vector<double> part = v.value().to_vector();
    flat.insert(flat.end(), part.begin(), part.end());
  }
  return flat;
}

double relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return std::sqrt(diff / norm);
}

TEST(Ch05NeuralOde, BackpropThroughRk4MatchesFiniteDifferences) {
  const GradcheckResult r = gradcheck(solve_loss(rk4_steps(6, GradientMethod::kBackprop)), field_inputs());
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(Ch05NeuralOde, AdjointMatchesFiniteDifferencesOfAFineSolve) {
  // 40 RK4 steps: the continuous adjoint differs from the exact derivative of the discrete map by
  // O(h^4) ~ 1e-7 (the test above measures it), inside the tolerance; a sign or transpose error
  // would be O(1).
  GradcheckOptions tolerance;
  tolerance.rtol = 1e-5;
  tolerance.atol = 1e-6;
  const GradcheckResult r =
      gradcheck(solve_loss(rk4_steps(40, GradientMethod::kAdjoint)), field_inputs(), tolerance);
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(Ch05NeuralOde, AdjointApproachesBackpropAtFourthOrder) {
  // Fixed-step RK4: the continuous adjoint (with the state re-integrated backwards) and the discrete
  // gradient differ by O(h^4): halving h divides the difference by at least about 16.
  std::vector<double> differences;
  for (int64_t steps : {4, 8, 16, 32}) {
    differences.push_back(relative_difference(all_gradients(rk4_steps(steps, GradientMethod::kAdjoint)),
                                              all_gradients(rk4_steps(steps, GradientMethod::kBackprop))));
  }
  for (size_t i = 1; i < differences.size(); ++i) {
    const double order = std::log2(differences[i - 1] / differences[i]);
    EXPECT_GT(order, 3.5) << "steps " << (4 << i) << ": differences " << differences[i - 1] << " -> "
                          << differences[i];
    EXPECT_LT(order, 5.5) << "steps " << (4 << i);  // (measured: about 5 falling towards 4)
  }
  EXPECT_LT(differences.back(), 1e-5);
}

TEST(Ch05NeuralOde, AdaptiveAdjointAgreesWithAdaptiveBackpropToTheTolerance) {
  for (double rtol : {1e-4, 1e-7}) {
    OdeintOptions adjoint;
    adjoint.tableau = dormand_prince();
    adjoint.adaptive = true;
    adjoint.adaptive_options.rtol = rtol;
    adjoint.adaptive_options.atol = rtol * 1e-2;
    adjoint.gradient = GradientMethod::kAdjoint;
    OdeintOptions backprop = adjoint;
    backprop.gradient = GradientMethod::kBackprop;
    const double d = relative_difference(all_gradients(adjoint), all_gradients(backprop));
    EXPECT_LT(d, 50 * rtol) << "rtol " << rtol;
  }
}

TEST(Ch05NeuralOde, AdjointMemoryIsFlatInTheNumberOfSteps) {
  // After the forward pass the adjoint keeps one tape node, whatever the number of steps, while
  // backprop keeps every step's ops. During backward its vjps run on their own tape, so the caller's
  // tape does not grow either.
  auto count = [](int64_t steps, GradientMethod method, size_t* tape_growth_in_backward) {
    std::vector<Var> leaves;
    for (const Tensor& t : field_inputs()) leaves.push_back(Var(t, true));
    const std::vector<Var> params(leaves.begin() + 1, leaves.end());
    Tape& tape = Tape::current();
    const size_t before = tape.live_nodes();
    const Var x1 = odeint(mlp_field(params), leaves[0], params, 0.0, 1.0, rk4_steps(steps, method));
    const size_t held = tape.live_nodes() - before;
    const Var loss = sum(x1);
    const size_t entries_before = tape.size();
    backward(loss);
    if (tape_growth_in_backward) *tape_growth_in_backward = tape.size() - entries_before;
    return held;
  };
  size_t growth_10 = 0, growth_1000 = 0;
  EXPECT_EQ(count(10, GradientMethod::kAdjoint, &growth_10), 1u);
  EXPECT_EQ(count(1000, GradientMethod::kAdjoint, &growth_1000), 1u);
  EXPECT_EQ(growth_10, 0u);
  EXPECT_EQ(growth_1000, 0u);
  const size_t backprop_10 = count(10, GradientMethod::kBackprop, nullptr);
  const size_t backprop_200 = count(200, GradientMethod::kBackprop, nullptr);
  EXPECT_GE(backprop_200, 19 * backprop_10);  // the contrast: backprop's tape grows with the steps
}

TEST(Ch05NeuralOde, CountsEvaluationsForwardAndBackward) {
  std::vector<Var> leaves;
  for (const Tensor& t : field_inputs()) leaves.push_back(Var(t, true));
  const std::vector<Var> params(leaves.begin() + 1, leaves.end());
  auto stats = std::make_shared<OdeintStats>();
  OdeintOptions o = rk4_steps(10, GradientMethod::kAdjoint);
  o.adjoint_steps = 20;
  const Var x1 = odeint(mlp_field(params), leaves[0], params, 0.0, 1.0, o, stats);
  EXPECT_EQ(stats->forward_evaluations, 40);
  EXPECT_EQ(stats->backward_evaluations, 0);
  backward(sum(x1));
  EXPECT_EQ(stats->backward_evaluations, 80);
  EXPECT_EQ(stats->backward_steps, 20);
  EXPECT_EQ(stats->backward_calls, 1);

  // Dormand–Prince (FSAL): 6 new evaluations per attempt plus f(t0) and the step-size trial.
  auto adaptive_stats = std::make_shared<OdeintStats>();
  OdeintOptions dp;
  dp.tableau = dormand_prince();
  dp.adaptive = true;
  dp.adaptive_options.rtol = 1e-5;
  dp.gradient = GradientMethod::kAdjoint;
  backward(sum(odeint(mlp_field(params), leaves[0], params, 0.0, 1.0, dp, adaptive_stats)));
  const OdeintStats& s = *adaptive_stats;
  EXPECT_EQ(s.forward_evaluations, 6 * (s.forward_steps + s.forward_rejected) + 2);
  EXPECT_EQ(s.backward_evaluations, 6 * (s.backward_steps + s.backward_rejected) + 2);
  EXPECT_GT(s.forward_steps, 0);
}

TEST(Ch05NeuralOde, TimeInputSeesTheTime) {
  // A field that returns its time column: x' = t, so x(t1) = x0 + (t1² − t0²)/2 (RK4 is exact here).
  // (Lipschitz √2: the column is copied twice; not element-wise, so no slope bounds.)
  auto time_only = std::make_shared<Activation>(
      "time column", [](const Var& z) { return expand(narrow(z, 1, 2, 1), {z.size(0), 2}); },
      std::sqrt(2.0), std::nullopt);
  NeuralOdeOptions o;
  o.t0 = 0.5;
  o.t1 = 2.0;
  o.time_input = true;
  o.solver.steps = 3;
  NeuralOde block(time_only, o);
  const Tensor x0 = random64({4, 2}, 7);
  const Tensor x1 = block.forward(Var(x0)).value();
  const std::vector<double> a = x0.to_vector(), b = x1.to_vector();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(b[i], a[i] + (4.0 - 0.25) / 2, 1e-12);
}

TEST(Ch05NeuralOde, PiecewiseConstantParametersSolveEachIntervalWithItsField) {
  Generator g(11);
  std::vector<std::shared_ptr<Module>> fields;
  for (int k = 0; k < 3; ++k)
    fields.push_back(std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
        std::make_shared<Linear>(2, 6, true, g, DType::Float64), Tanh(),
        std::make_shared<Linear>(6, 2, true, g, DType::Float64)}));
  NeuralOdeOptions o;
  o.solver.steps = 12;
  NeuralOde block(fields, o);
  EXPECT_EQ(block.parameters().size(), 12u);
  const Tensor x0 = random64({3, 2}, 12);

  // Oracle: three separate RK4 solves of 4 steps, each with its own field.
  Var reference(x0);
  for (int k = 0; k < 3; ++k) {
    Module& field = *fields[k];
    const OdeFunction<Var> f = [&field](double, const Var& x) { return field(x); };
    reference = solve_fixed(rk4(), f, reference, k / 3.0, (k + 1) / 3.0, 4).last_state;
  }
  const Tensor x1 = block.forward(Var(x0)).value();
  const std::vector<double> a = x1.to_vector(), b = reference.value().to_vector();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-13);

  // Gradients of the piecewise block: adjoint against backprop, per interval's parameters.
  auto gradients = [&](GradientMethod method) {
    block.options.solver.gradient = method;
    block.options.solver.steps = 48;
    block.zero_grad();
    backward(weighted_loss(block.forward(Var(x0))));
    std::vector<double> flat;
    for (const Var& p : block.parameters()) {
      const std::vector<double> part = p.grad().value().to_vector();
      flat.insert(flat.end(), part.begin(), part.end());
    }
    return flat;
  };
  EXPECT_LT(relative_difference(gradients(GradientMethod::kAdjoint), gradients(GradientMethod::kBackprop)),
            1e-6);
}

TEST(Ch05NeuralOde, ResNetWithStepTOverLIsExplicitEuler) {
  // L residual blocks x <- x + h f(x) with h = T / L are exactly L explicit Euler steps on x' = f(x).
  Generator g(21);
  auto field = std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Linear>(2, 8, true, g, DType::Float64), Tanh(),
      std::make_shared<Linear>(8, 2, true, g, DType::Float64)});
  const double T = 2.0;
  const int64_t L = 7;
  const Tensor x0 = random64({5, 2}, 22);
  Var resnet(x0);
  for (int64_t l = 0; l < L; ++l) resnet = resnet + (T / L) * (*field)(resnet);
  NeuralOdeOptions o;
  o.t1 = T;
  o.solver.tableau = explicit_euler();
  o.solver.steps = L;
  NeuralOde block(field, o);
  const std::vector<double> a = resnet.value().to_vector(), b = block.forward(Var(x0)).value().to_vector();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-14);
}

TEST(Ch05NeuralOde, TrajectoryHitsTheSolverStatesAndEndsAtForward) {
  Generator g(31);
  auto field = std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Linear>(3, 8, true, g, DType::Float64), Tanh(),
      std::make_shared<Linear>(8, 2, true, g, DType::Float64)});
  NeuralOdeOptions o;
  o.time_input = true;
  o.solver.steps = 8;
  NeuralOde block(field, o);
  const Tensor x0 = random64({4, 2}, 32);
  const std::vector<Tensor> states = block.trajectory(x0, 8);
  ASSERT_EQ(states.size(), 9u);
  const std::vector<double> last = states.back().to_vector(), end = block.forward(Var(x0)).value().to_vector();
  for (size_t i = 0; i < last.size(); ++i) EXPECT_NEAR(last[i], end[i], 1e-14);
}

TEST(Ch05NeuralOde, ClearErrors) {
  std::vector<Var> leaves;
  for (const Tensor& t : field_inputs()) leaves.push_back(Var(t, true));
  const std::vector<Var> params(leaves.begin() + 1, leaves.end());
  // Higher-order gradients through the adjoint node are refused.
  const Var x1 = odeint(mlp_field(params), leaves[0], params, 0.0, 1.0, rk4_steps(4, GradientMethod::kAdjoint));
  GradOptions create;
  create.create_graph = true;
  EXPECT_THROW(grad({sum(x1)}, {leaves[0]}, {}, create), Error);
  // Adaptive needs an embedded pair.
  OdeintOptions bad = rk4_steps(4, GradientMethod::kBackprop);
  bad.adaptive = true;
  EXPECT_THROW(odeint(mlp_field(params), leaves[0], params, 0.0, 1.0, bad), Error);
  // The adjoint needs parameter leaves.
  const std::vector<Var> derived{mul(params[0], 2.0), params[1], params[2], params[3]};
  EXPECT_THROW(odeint(mlp_field(derived), leaves[0], derived, 0.0, 1.0, rk4_steps(4, GradientMethod::kAdjoint)),
               Error);
  // A field that does not return the state's shape.
  const OdeFunction<Var> wrong = [](double, const Var& x) { return concat({x, x}, 1); };
  EXPECT_THROW(odeint(wrong, leaves[0], params, 0.0, 1.0, rk4_steps(4, GradientMethod::kAdjoint)), Error);
  // Steps must split evenly into the intervals.
  NeuralOdeOptions o;
  o.solver.steps = 5;
  Generator g(1);
  std::vector<std::shared_ptr<Module>> two{std::make_shared<Linear>(2, 2, true, g), std::make_shared<Linear>(2, 2, true, g)};
  EXPECT_THROW(NeuralOde(two, o), Error);
}

// ---- the chapter's training: saved every few steps, continued after an interrupt ----

struct Interrupt {};

// The chapter's classifier (small), a fresh Adam on it, and a small spiral set.
struct SpiralSetup {
  Dataset data;
  std::shared_ptr<SpiralOdeClassifier> model;
  std::unique_ptr<Adam> optimizer;
  explicit SpiralSetup(GradientMethod method) {
    Generator data_gen(3);
    data = make_spirals(60, 0.02, data_gen);
    NeuralOdeOptions o;
    o.solver.tableau = rk4();
    o.solver.steps = 3;
    o.solver.gradient = method;
    Generator init(40);
    model = std::make_shared<SpiralOdeClassifier>(2, 8, o, init);
    optimizer = std::make_unique<Adam>(model->parameters(), 1e-2);
  }
  std::vector<std::vector<double>> weights() const {
    std::vector<std::vector<double>> w;
    for (const Var& p : model->parameters()) w.push_back(p.value().to_vector());
    return w;
  }
};

TEST(Ch05Training, InterruptedAndResumedEqualsUninterruptedBitForBit) {
  const std::filesystem::path dir = std::filesystem::path(testing::TempDir()) / "ch05_resume";
  std::filesystem::create_directories(dir);
  const int64_t steps = 12, save_every = 5;
  for (GradientMethod method : {GradientMethod::kBackprop, GradientMethod::kAdjoint}) {
    SpiralSetup straight(method);
    const SpiralRun done = train_spiral_classifier(*straight.model, *straight.optimizer, straight.data.inputs,
                                                   straight.data.labels, steps, SpiralRun(), "", save_every);
    EXPECT_EQ(done.step, steps);
    for (int64_t stop_at : {1, 5, 7, 11}) {  // "Ctrl-C" right after step stop_at: the file has the last save
      const std::string path = (dir / ("run_" + std::to_string(stop_at) + ".safetensors")).string();
      std::filesystem::remove(path);
      {
        SpiralSetup first(method);
        SpiralTrainingHooks hooks;
        hooks.after_step = [&](int64_t step, const SpiralRun&) {
          if (step == stop_at) throw Interrupt{};
        };
        EXPECT_THROW(train_spiral_classifier(*first.model, *first.optimizer, first.data.inputs, first.data.labels,
                                             steps, SpiralRun(), path, save_every, hooks),
                     Interrupt);
      }
      const int64_t saved = stop_at / save_every * save_every;
      ASSERT_EQ(std::filesystem::exists(path), saved > 0) << "stopped at " << stop_at;
      // A new process: fresh weights, then the checkpoint when there is one.
      SpiralSetup resumed(method);
      SpiralRun progress;
      if (saved > 0) progress = load_spiral_run(path, *resumed.model, *resumed.optimizer);
      EXPECT_EQ(progress.step, saved);
      int64_t steps_run = 0;
      SpiralTrainingHooks count;
      count.after_step = [&](int64_t, const SpiralRun&) { ++steps_run; };
      const SpiralRun end = train_spiral_classifier(*resumed.model, *resumed.optimizer, resumed.data.inputs,
                                                    resumed.data.labels, steps, progress, path, save_every, count);
      EXPECT_EQ(steps_run, steps - saved) << "stopped at " << stop_at;
      EXPECT_EQ(resumed.weights(), straight.weights()) << "stopped at " << stop_at;
      EXPECT_EQ(end.loss, done.loss);
      EXPECT_EQ(end.forward_evaluations, done.forward_evaluations);
      EXPECT_EQ(end.backward_evaluations, done.backward_evaluations);
      EXPECT_EQ(resumed.optimizer->steps(), steps);
      // The finished file reloads as the whole run: nothing left to train.
      SpiralSetup reloaded(method);
      EXPECT_EQ(load_spiral_run(path, *reloaded.model, *reloaded.optimizer).step, steps);
      EXPECT_EQ(reloaded.weights(), straight.weights());
    }
  }
}

TEST(Ch05Training, CheckpointWithoutTheRunsEntriesIsRefusedNamingTheFile) {
  const std::string path =
      (std::filesystem::path(testing::TempDir()) / "ch05_old_format.safetensors").string();
  SpiralSetup s(GradientMethod::kBackprop);
  save_checkpoint(path, *s.model, s.optimizer.get(), {{"loss", "0.5"}});  // no "step": the format before
  try {
    load_spiral_run(path, *s.model, *s.optimizer);
    ADD_FAILURE() << "loaded a checkpoint without a step";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'step'"), std::string::npos) << e.what();
  }
  save_checkpoint(path, *s.model, nullptr, spiral_run_metadata(SpiralRun()));  // no Adam state
  EXPECT_THROW(load_spiral_run(path, *s.model, *s.optimizer), Error);
}

}  // namespace
}  // namespace stablenn
