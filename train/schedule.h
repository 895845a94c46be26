// train/schedule.h — learning-rate schedules as pure functions of the step (chapter 3).
//
// A schedule maps the optimiser step (0 for the first step) to a learning rate. Being a pure
// function it can be evaluated anywhere (to plot it, to resume training at step k) and composed:
// with_warmup(cosine_schedule(0.1, 9000), 1000) warms up for 1000 steps, then decays over 9000.
#pragma once
#include <cstdint>
#include <functional>

namespace stablenn {

// Chapter 3: step (>= 0) -> learning rate. The schedules below throw naming themselves when
// called with a negative step.
using Schedule = std::function<double(int64_t step)>;

// Chapter 3: the same learning rate at every step.
Schedule constant_schedule(double lr);

// Chapter 3: lr * gamma^floor(step / every), like PyTorch's StepLR (e.g. x0.1 every 30 epochs
// when stepped once per epoch).
Schedule step_decay_schedule(double lr, int64_t every, double gamma);

// Chapter 3: cosine decay from lr at step 0 to floor_lr at step total_steps,
//   floor_lr + (lr - floor_lr) (1 + cos(pi step / total_steps)) / 2,
// like PyTorch's CosineAnnealingLR(T_max = total_steps, eta_min = floor_lr); after total_steps it
// stays at floor_lr (PyTorch would rise again).
Schedule cosine_schedule(double lr, int64_t total_steps, double floor_lr = 0.0);

// Chapter 3: how the one-cycle schedule moves between its end points.
enum class Anneal { Cos, Linear };

// Chapter 3: the shape of a one-cycle schedule, with PyTorch's OneCycleLR defaults.
struct OneCycleOptions {
  double pct_start = 0.3;         // fraction of the steps spent rising to max_lr
  double div_factor = 25;         // initial lr = max_lr / div_factor
  double final_div_factor = 1e4;  // final lr = initial lr / final_div_factor
  Anneal anneal = Anneal::Cos;
  bool three_phase = false;  // rise, fall back to the initial lr, then decay to the final lr
};

// Chapter 3: the one-cycle policy (Smith & Topin 2019), as PyTorch's OneCycleLR computes it:
// phase 1 goes from max_lr/div_factor up to max_lr over steps [0, pct_start*total_steps - 1],
// phase 2 from max_lr down to the final lr at step total_steps - 1; each phase interpolates by
// cosine (start + (end - start)(1 - cos(pi t))/2) or linearly in its fraction t. Steps past
// total_steps - 1 keep the final lr (PyTorch raises an error instead). Throws when a phase would
// be shorter than one step.
Schedule one_cycle_schedule(double max_lr, int64_t total_steps,
                            const OneCycleOptions& options = {});

// Chapter 3: the momentum that goes with one_cycle_schedule (PyTorch's cycle_momentum): it falls
// from max_momentum to base_momentum while the lr rises, and rises back while the lr falls.
Schedule one_cycle_momentum(int64_t total_steps, double base_momentum = 0.85,
                            double max_momentum = 0.95, const OneCycleOptions& options = {});

// Chapter 3: a linear warm-up in front of any schedule: for step < warmup_steps the lr is
//   schedule(0) * (start_factor + (1 - start_factor) * step / warmup_steps),
// then schedule(step - warmup_steps): the wrapped schedule starts when the warm-up ends, so the
// lr is continuous there. start_factor = 0 begins at zero, as most warm-ups do.
Schedule with_warmup(Schedule schedule, int64_t warmup_steps, double start_factor = 0.0);

}  // namespace stablenn
