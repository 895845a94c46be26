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
// with the trained network before it is split, e.g. to record accuracy, draw decision regions or save
// a checkpoint (train/control_checkpoint.h).
// To continue a run that was stopped, pass the cycles it finished as `earlier` and, as `model`, the
// trained network of the last of them (before its split): the loop splits it as recorded and goes
// on, and the cycles it returns (earlier ones included) are bit for bit those of an uninterrupted
// run, since nothing else carries over from one cycle to the next (each cycle starts a fresh Armijo
// search, and Adam's moments are reset by the split). `on_cycle` sees only the new cycles.
std::vector<AdaptiveCycle> adaptive_refinement(
    ControlledOde& model, const ControlSamples& samples, const GoalOptions& goal, const AdaptiveOptions& options,
    const std::function<void(const AdaptiveCycle&, const ControlledOde&)>& on_cycle = {},
    const std::vector<AdaptiveCycle>& earlier = {});

}  // namespace stablenn
