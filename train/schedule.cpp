// train/schedule.cpp — learning-rate schedules (chapter 3).
#include "train/schedule.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace stablenn {

namespace {

constexpr double kPi = 3.14159265358979323846;

void check_step(int64_t step, const char* schedule) {
  SNN_CHECK(step >= 0, schedule, ": the step must be >= 0, got ", step);
}

void check_rate(double value, const char* schedule, const char* name) {
  SNN_CHECK(std::isfinite(value) && value >= 0, schedule, ": ", name,
            " must be finite and >= 0, got ", value);
}

// PyTorch's _annealing_cos and _annealing_linear: from start (t = 0) to end (t = 1).
double anneal(Anneal kind, double start, double end, double t) {
  if (kind == Anneal::Linear) return start + (end - start) * t;
  return end + (start - end) / 2.0 * (std::cos(kPi * t) + 1.0);
}

// The phases of a one-cycle schedule: each ends at `end_step` with value `end` (PyTorch's
// _schedule_phases; end steps are fractional, as there).
struct Phase {
  double end_step;
  double start, end;
};

std::vector<Phase> one_cycle_phases(int64_t total_steps, const OneCycleOptions& options,
                                    double initial, double peak, double final_value,
                                    const char* schedule) {
  SNN_CHECK(total_steps >= 2, schedule, ": total_steps must be >= 2, got ", total_steps);
  SNN_CHECK(options.pct_start > 0 && options.pct_start < 1, schedule,
            ": pct_start must be in (0, 1), got ", options.pct_start);
  const double rise_end = options.pct_start * double(total_steps) - 1;
  std::vector<Phase> phases;
  phases.push_back({rise_end, initial, peak});
  if (options.three_phase) {
    phases.push_back({2 * options.pct_start * double(total_steps) - 2, peak, initial});
    phases.push_back({double(total_steps - 1), initial, final_value});
  } else {
    phases.push_back({double(total_steps - 1), peak, final_value});
  }
  double start_step = 0;
  for (const Phase& phase : phases) {
    SNN_CHECK(phase.end_step > start_step, schedule, ": with total_steps = ", total_steps,
              " and pct_start = ", options.pct_start, " a phase would be shorter than one step");
    start_step = phase.end_step;
  }
  return phases;
}

// The value of a phased schedule at `step`, as OneCycleLR.get_lr walks its phases.
double phased_value(const std::vector<Phase>& phases, Anneal kind, double step) {
  double start_step = 0;
  for (size_t i = 0; i < phases.size(); ++i) {
    const Phase& phase = phases[i];
    if (step <= phase.end_step || i + 1 == phases.size()) {
      const double t = (step - start_step) / (phase.end_step - start_step);
      return anneal(kind, phase.start, phase.end, t);
    }
    start_step = phase.end_step;
  }
  return phases.back().end;  // not reached: the last phase always answers
}

}  // namespace

Schedule constant_schedule(double lr) {
  check_rate(lr, "constant_schedule", "lr");
  return [lr](int64_t step) {
    check_step(step, "constant_schedule");
    return lr;
  };
}

Schedule step_decay_schedule(double lr, int64_t every, double gamma) {
  check_rate(lr, "step_decay_schedule", "lr");
  SNN_CHECK(every >= 1, "step_decay_schedule: every must be >= 1, got ", every);
  SNN_CHECK(std::isfinite(gamma) && gamma > 0,
            "step_decay_schedule: gamma must be finite and > 0, got ", gamma);
  return [lr, every, gamma](int64_t step) {
    check_step(step, "step_decay_schedule");
    return lr * std::pow(gamma, double(step / every));
  };
}

Schedule cosine_schedule(double lr, int64_t total_steps, double floor_lr) {
  check_rate(lr, "cosine_schedule", "lr");
  check_rate(floor_lr, "cosine_schedule", "floor_lr");
  SNN_CHECK(total_steps >= 1, "cosine_schedule: total_steps must be >= 1, got ", total_steps);
  return [lr, total_steps, floor_lr](int64_t step) {
    check_step(step, "cosine_schedule");
    const double t = double(std::min(step, total_steps)) / double(total_steps);
    return floor_lr + (lr - floor_lr) * (1 + std::cos(kPi * t)) / 2;
  };
}

Schedule one_cycle_schedule(double max_lr, int64_t total_steps, const OneCycleOptions& options) {
  check_rate(max_lr, "one_cycle_schedule", "max_lr");
  SNN_CHECK(options.div_factor > 0 && options.final_div_factor > 0,
            "one_cycle_schedule: div_factor and final_div_factor must be > 0, got ",
            options.div_factor, " and ", options.final_div_factor);
  const double initial = max_lr / options.div_factor;
  const double final_lr = initial / options.final_div_factor;
  const std::vector<Phase> phases =
      one_cycle_phases(total_steps, options, initial, max_lr, final_lr, "one_cycle_schedule");
  const Anneal kind = options.anneal;
  return [phases, kind, total_steps](int64_t step) {
    check_step(step, "one_cycle_schedule");
    return phased_value(phases, kind, double(std::min(step, total_steps - 1)));
  };
}

Schedule one_cycle_momentum(int64_t total_steps, double base_momentum, double max_momentum,
                            const OneCycleOptions& options) {
  SNN_CHECK(base_momentum >= 0 && base_momentum <= max_momentum && max_momentum < 1,
            "one_cycle_momentum: needs 0 <= base_momentum <= max_momentum < 1, got ", base_momentum,
            " and ", max_momentum);
  // The momentum mirrors the lr: max -> base while the lr rises, base -> max while it falls; the
  // three-phase form then holds max_momentum, as in PyTorch.
  const std::vector<Phase> phases = one_cycle_phases(
      total_steps, options, max_momentum, base_momentum, max_momentum, "one_cycle_momentum");
  const Anneal kind = options.anneal;
  return [phases, kind, total_steps](int64_t step) {
    check_step(step, "one_cycle_momentum");
    return phased_value(phases, kind, double(std::min(step, total_steps - 1)));
  };
}

Schedule with_warmup(Schedule schedule, int64_t warmup_steps, double start_factor) {
  SNN_CHECK(schedule != nullptr, "with_warmup: the schedule is empty");
  SNN_CHECK(warmup_steps >= 0, "with_warmup: warmup_steps must be >= 0, got ", warmup_steps);
  SNN_CHECK(start_factor >= 0 && start_factor <= 1,
            "with_warmup: start_factor must be in [0, 1], got ", start_factor);
  return [schedule = std::move(schedule), warmup_steps, start_factor](int64_t step) {
    check_step(step, "with_warmup");
    if (step >= warmup_steps) return schedule(step - warmup_steps);
    const double factor = start_factor + (1 - start_factor) * double(step) / double(warmup_steps);
    return schedule(0) * factor;
  };
}

}  // namespace stablenn
