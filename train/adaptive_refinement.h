// train/adaptive_refinement.h — the layerwise adaptive loop (chapter 11): start shallow, train,
// estimate each layer's contribution to the error of the goal (train/dwr_estimator.h), mark by
// Dörfler, split the marked intervals into two layers with copied controls, retrain; stop when the
// estimate is below a tolerance (relative to the loss; not in the untrained first cycle, whose
// field is nearly zero and so is its estimate) or the layer budget is reached.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "train/control_descent.h"
#include "train/dwr_estimator.h"

namespace stablenn {

// Chapter 11: options of `adaptive_refinement`.
struct AdaptiveOptions {
  DescentOptions training;      // per cycle (the first cycle trains `first_iterations` instead when > 0)
  int64_t first_iterations = 0;
  double fraction = 0.5;        // Dörfler's θ; 1 with `uniform` = uniform refinement
  bool uniform = false;         // split every interval (the comparison)
  double tolerance = 0;         // stop when |estimate| < tolerance · (the goal's loss term), from cycle 1 on
  int64_t max_layers = 32;      // the budget: never more layers than this
  int64_t max_cycles = 100;
  bool measure_effectivity = true;  // one extra forward pass on the uniformly refined mesh per cycle
};

// Chapter 11: one cycle: the network after training, before it is refined.
struct AdaptiveCycle {
  int64_t layers = 0;
  GoalValue goal;                   // J after training
  std::vector<double> mesh;         // t_0 .. t_K
  std::vector<double> indicators;   // η_k
  double estimate = 0;              // the estimate for uniform refinement (DwrEstimate)
  Effectivity effectivity;          // when measured
  std::vector<int64_t> marked;      // the intervals split after this cycle (empty at the end)
  int64_t layer_passes = 0;         // training cost of this cycle (train/control_descent.h)
  int64_t total_layer_passes = 0;   // since the start
};

// Chapter 11: runs the loop on `model` (changed in place); `on_cycle` (may be empty) sees each cycle
// with the trained network before it is split, e.g. to record accuracy or draw decision regions.
std::vector<AdaptiveCycle> adaptive_refinement(
    ControlledOde& model, const ControlSamples& samples, const GoalOptions& goal, const AdaptiveOptions& options,
    const std::function<void(const AdaptiveCycle&, const ControlledOde&)>& on_cycle = {});

}  // namespace stablenn
