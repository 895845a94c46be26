// bench/bench_node.cpp — chapter 5 workloads: one training step (forward, backward, Adam update) of the
// chapter's neural-ODE classifier (notebooks_cpp/ch05_model.h: 2 zero-augmented dimensions, field
// [z, t] -> 32 -> 32 -> 4 with tanh, head 4 -> 2) on 1,000 two-spiral points, full batch, float32:
//   node_step_rk4_10_backprop   fixed-step RK4, 10 steps, backprop through the solver
//   node_step_rk4_10_adjoint    the same with the adjoint method (40 evaluations forward, 40 augmented
//                               evaluations backward)
//   node_step_dopri5_backprop   Dormand–Prince, rtol 1e-5 (atol 1e-7), backprop through the solver
//   node_step_dopri5_adjoint    the same with the adjoint method
// Every repetition starts from the same weights, so an adaptive solve takes the same steps each time.
// Prints "BENCH <workload> stablenn <seconds>" (median after a warm-up) and, for the memory workloads
//   node_mem_rk4_<steps>_<method>  one training step at 10 and 1,000 RK4 steps,
// "PEAKMEM <workload> stablenn <MiB>" (VmHWM while the workload ran, reset through /proc/self/clear_refs)
// and "# nfe" comment lines with the evaluation counts. Twin: bench_node.py (RK4 written in PyTorch; its
// dopri5 workloads run RK4 with the number of evaluations this solver took, printed below).
// Usage: build/bench/bench_node [--quick] [--threads N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "datasets/toy2d.h"
#include "layers/losses.h"
#include "train/optim.h"
#include "bench/bench_util.h"
#include "notebooks_cpp/ch05_model.h"

using namespace stablenn;
using namespace stablenn::bench;

namespace {



NeuralOdeOptions rk4_options(int64_t steps, GradientMethod method) {
  NeuralOdeOptions o;
  o.solver.tableau = rk4();
  o.solver.steps = steps;
  o.solver.gradient = method;
  return o;
}

NeuralOdeOptions dopri5_options(GradientMethod method) {
  NeuralOdeOptions o;
  o.solver.tableau = dormand_prince();
  o.solver.adaptive = true;
  o.solver.adaptive_options.rtol = 1e-5;
  o.solver.adaptive_options.atol = 1e-7;
  o.solver.gradient = method;
  return o;
}

struct StepResult {
  double seconds;
  int64_t forward_nfe, backward_nfe;
};

// Median seconds of one training step from the same initial weights.
StepResult time_steps(const NeuralOdeOptions& options, const Dataset& data, int warmup, int reps) {
  Generator init(5);
  SpiralOdeClassifier model(2, 32, options, init);
  std::vector<Tensor> initial;
  for (const Var& p : model.parameters()) initial.push_back(p.value().clone());
  Adam optimizer(model.parameters(), 1e-2);
  const Var x(data.inputs);
  std::vector<double> times;
  StepResult result{0, 0, 0};
  for (int r = 0; r < warmup + reps; ++r) {
    {
      NoGrad no_grad;
      std::vector<Var> params = model.parameters();
      for (size_t i = 0; i < params.size(); ++i) params[i].copy_(initial[i]);
    }
    const auto start = std::chrono::steady_clock::now();
    optimizer.zero_grad();
    const Var loss = cross_entropy(model(x), data.labels);
    backward(loss);
    optimizer.step();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    result.forward_nfe = model.block->stats().forward_evaluations;
    result.backward_nfe = model.block->stats().backward_evaluations;
  }
  times.erase(times.begin(), times.begin() + warmup);
  std::sort(times.begin(), times.end());
  result.seconds = times[times.size() / 2];
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = stablenn::bench::parse_bench_args(argc, argv, "[--quick] [--threads N]");
  const bool quick = args.quick;
  Generator g(0);
  const Dataset data = make_spirals(1000, 0.02, g);
  const int warmup = 2, reps = quick ? 5 : 21;

  struct Workload {
    std::string name;
    NeuralOdeOptions options;
  };
  const std::vector<Workload> timed = {
      {"node_step_rk4_10_backprop", rk4_options(10, GradientMethod::kBackprop)},
      {"node_step_rk4_10_adjoint", rk4_options(10, GradientMethod::kAdjoint)},
      {"node_step_dopri5_backprop", dopri5_options(GradientMethod::kBackprop)},
      {"node_step_dopri5_adjoint", dopri5_options(GradientMethod::kAdjoint)},
  };
  for (const Workload& w : timed) {
    const StepResult r = time_steps(w.options, data, warmup, reps);
    std::printf("# nfe %s forward %lld backward %lld\n", w.name.c_str(), static_cast<long long>(r.forward_nfe),
                static_cast<long long>(r.backward_nfe));
    std::printf("BENCH %s stablenn %.6f\n", w.name.c_str(), r.seconds);
    std::fflush(stdout);
  }
  // Memory: one step (after the same warm-up) at 10 and 1,000 RK4 steps, peak RSS of the workload.
  for (int64_t steps : {10, 1000}) {
    for (GradientMethod method : {GradientMethod::kAdjoint, GradientMethod::kBackprop}) {
      const std::string name = "node_mem_rk4_" + std::to_string(steps) + "_" + gradient_method_name(method);
      reset_peak_rss();
      const StepResult r = time_steps(rk4_options(steps, method), data, 1, 1);
      std::printf("BENCH %s stablenn %.6f\n", name.c_str(), r.seconds);
      std::printf("PEAKMEM %s stablenn %.1f\n", name.c_str(), peak_rss_mib());
      std::fflush(stdout);
    }
  }
  return 0;
}
