// train/adaptive_refinement.cpp — the adaptive loop of chapter 11.
#include "train/adaptive_refinement.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace stablenn {

std::vector<AdaptiveCycle> adaptive_refinement(
    ControlledOde& model, const ControlSamples& samples, const GoalOptions& goal, const AdaptiveOptions& options,
    const std::function<void(const AdaptiveCycle&, const ControlledOde&)>& on_cycle,
    const std::vector<AdaptiveCycle>& earlier) {
  if (options.max_layers < model.layers())
    throw Error("adaptive_refinement: max_layers (" + std::to_string(options.max_layers) +
                ") is below the starting depth (" + std::to_string(model.layers()) + ")");
  std::vector<AdaptiveCycle> cycles = earlier;
  DescentState state;
  int64_t total = 0;
  if (!earlier.empty()) {
    const AdaptiveCycle& last = earlier.back();
    if (last.layers != model.layers())
      throw Error("adaptive_refinement: the network to continue from has " + std::to_string(model.layers()) +
                  " layers, the last earlier cycle " + std::to_string(last.layers));
    if (last.marked.empty()) return cycles;  // that run had finished
    total = last.total_layer_passes;
    for (auto it = last.marked.rbegin(); it != last.marked.rend(); ++it) split_interval(model, *it);
  }
  for (int64_t cycle = static_cast<int64_t>(earlier.size()); cycle < options.max_cycles; ++cycle) {
    DescentOptions training = options.training;
    if (cycle == 0 && options.first_iterations > 0) training.iterations = options.first_iterations;
    state.step = 0;  // a fresh Armijo search after each refinement; Adam's moments reset by size
    const DescentResult trained = train_controls(model, samples, goal, training, state);
    AdaptiveCycle c;
    c.layers = model.layers();
    c.goal = trained.final_goal;
    c.mesh = model.mesh();
    const GoalGradient g = goal_gradient(model, samples, goal);
    const DwrEstimate estimate = dwr_estimate(model, samples, goal, g);
    c.indicators = estimate.indicators;
    c.estimate = estimate.estimate;
    c.layer_passes = trained.layer_passes + 2 * model.layers();
    if (options.measure_effectivity) {
      c.effectivity.estimate = c.estimate;
      c.effectivity.actual = evaluate_goal(refine_uniformly(model), samples, goal).loss - g.value.loss;
    }
    total += c.layer_passes;
    c.total_layer_passes = total;
    const bool done = (cycle > 0 && std::abs(c.estimate) < options.tolerance * c.goal.loss) || model.layers() >= options.max_layers ||
                      cycle + 1 == options.max_cycles;
    if (!done) {
      if (options.uniform) {
        c.marked.resize(model.layers());
        std::iota(c.marked.begin(), c.marked.end(), 0);
      } else {
        c.marked = dorfler_mark(c.indicators, options.fraction);
      }
      // Within the budget: keep the marked intervals with the largest |η_k|.
      const int64_t room = options.max_layers - model.layers();
      if (static_cast<int64_t>(c.marked.size()) > room) {
        std::stable_sort(c.marked.begin(), c.marked.end(), [&](int64_t a, int64_t b) {
          return std::abs(c.indicators[a]) > std::abs(c.indicators[b]);
        });
        c.marked.resize(room);
        std::sort(c.marked.begin(), c.marked.end());
      }
    }
    if (on_cycle) on_cycle(c, model);
    cycles.push_back(c);
    if (done || c.marked.empty()) break;
    for (auto it = c.marked.rbegin(); it != c.marked.rend(); ++it) split_interval(model, *it);
  }
  return cycles;
}

}  // namespace stablenn
