// bench/bench_adaptivity.cpp — chapter 11 workload: one refinement cycle of the layerwise adaptive
// method (train/adaptive_refinement.h) without the split: `iterations` steps of steepest descent with
// Armijo backtracking on the controlled neural ODE (train/control_ode.h; d = 8, K = 8 layers, T = 2,
// tanh, head 8 -> 2, cross-entropy, λ = 1e-3 for the L², H¹ and head terms), full batch of 1,000
// two-spiral points, float64, then the DWR indicators η_k and the estimate (one forward and adjoint sweep, K(K+1)/2 linearised
// layer passes).
// Inputs and starting weights come from closed formulas (no random generator), so that the PyTorch
// twin bench_adaptivity.py computes the same numbers and takes the same Armijo steps.
//   adaptivity_cycle   the whole cycle (`iterations` = 100; 20 with --quick)
// Prints "BENCH adaptivity_cycle stablenn <seconds>" (median after a warm-up) and "# goal/evals" comment
// lines to compare with the twin's.
// Usage: build/bench/bench_adaptivity [--quick] [--threads N]
#include <cmath>
#include <cstdio>

#include "train/control_descent.h"
#include "train/dwr_estimator.h"
#include "bench/bench_util.h"

using namespace stablenn;

namespace {

constexpr int64_t kPoints = 1000, kDim = 8, kLayers = 8;

// Two spirals without noise: radius t, angle 3πt (+π for class 1), t from 0.05 to 1.
ControlSamples spirals() {
  ControlSamples s;
  s.count = kPoints, s.input_dim = 2;
  for (int64_t i = 0; i < kPoints; ++i) {
    const double t = 0.05 + 0.95 * static_cast<double>(i / 2) / static_cast<double>(kPoints / 2);
    const double angle = 3 * M_PI * t + (i % 2 == 1 ? M_PI : 0.0);
    s.inputs.push_back(t * std::cos(angle));
    s.inputs.push_back(t * std::sin(angle));
    s.labels.push_back(i % 2);
  }
  return s;
}

// Starting weights: 0.5 sin(j + 1) / sqrt(d) for the j-th parameter (controls, then head).
ControlledOde starting_model() {
  ControlledOde m;
  m.dim = kDim, m.outputs = 2, m.activation = FieldActivation::kTanh;
  m.tau.assign(kLayers, 2.0 / kLayers);
  m.controls.resize(kLayers * m.control_size());
  m.head.resize(2 * kDim + 2);
  int64_t j = 0;
  for (double& v : m.controls) v = 0.5 * std::sin(static_cast<double>(++j)) / std::sqrt(double(kDim));
  for (double& v : m.head) v = 0.5 * std::sin(static_cast<double>(++j)) / std::sqrt(double(kDim));
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = stablenn::bench::parse_bench_args(argc, argv, "[--quick] [--threads N]");
  const int64_t iterations = args.quick ? 20 : 100;
  const ControlSamples data = spirals();
  GoalOptions goal;
  goal.l2 = goal.h1 = goal.head_l2 = 1e-3;
  DescentOptions d;
  d.iterations = iterations;
  double final_goal = 0, estimate = 0;
  int64_t passes = 0;
  const double seconds = stablenn::bench::median_seconds(
      [&] {
        ControlledOde model = starting_model();
        DescentState state;
        const DescentResult r = train_controls(model, data, goal, d, state);
        const DwrEstimate e = dwr_estimate(model, data, goal, goal_gradient(model, data, goal));
        final_goal = r.final_goal.total();
        estimate = e.estimate;
        passes = r.layer_passes;
      },
      1, args.quick ? 3 : 5);
  std::printf("BENCH adaptivity_cycle stablenn %.6f\n", seconds);
  // Armijo trial steps (goal evaluations): layer passes = 2K per gradient + K per trial.
  std::printf("# goal %.10f estimate %.6e evaluations %lld\n", final_goal, estimate,
              static_cast<long long>((passes - 2 * kLayers * iterations) / kLayers));
  return 0;
}
