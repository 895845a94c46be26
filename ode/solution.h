// ode/solution.h — what every solver returns: states at output times and statistics (chapter 4).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace stablenn {

// Chapter 4: the right-hand side f(t, y) of y' = f(t, y).
template <class State>
using OdeFunction = std::function<State(double t, const State& y)>;

// Chapter 4: how a solve ended.
enum class SolveStatus {
  kSuccess,          // reached the final time
  kMaxStepsReached,  // stopped after max_steps step attempts
  kStepTooSmall,     // the controller asked for a step below min_step (or below rounding of t)
};

const char* solve_status_name(SolveStatus status);

// Chapter 4: what a solver does when it cannot reach the final time.
enum class FailurePolicy {
  kThrow,       // throw stablenn::Error with a message saying what happened and what to change
  kReturnLast,  // return the outputs reached so far, the last state and a status flag
};

// Chapter 4: counters of one solve. For an adaptive FSAL pair (Bogacki–Shampine, Dormand–Prince):
//   function_evaluations = evaluations_per_step * (accepted_steps + rejected_steps)
//                          + initial_step_evaluations.
struct SolverStats {
  int64_t function_evaluations = 0;      // calls of f (finite-difference Jacobians included)
  int64_t accepted_steps = 0;
  int64_t rejected_steps = 0;
  int64_t initial_step_evaluations = 0;  // f(t0, y0) and the trial evaluation of the step selection
  int64_t evaluations_per_step = 0;      // new calls of f per step attempt (s, or s − 1 with FSAL)
  int64_t newton_iterations = 0;         // implicit methods only
  int64_t jacobian_evaluations = 0;      // implicit methods only
  std::vector<double> step_starts;       // t at the start of every accepted step
  std::vector<double> step_sizes;        // the accepted step sizes (signed: negative backwards)
};

// Chapter 4: a solution at requested times. On kReturnLast failures, `times`/`states` hold the
// outputs reached so far and (last_time, last_state) the point where the solver stopped.
template <class State>
struct OdeSolution {
  std::vector<double> times;
  std::vector<State> states;
  double last_time = 0.0;
  State last_state{};
  SolveStatus status = SolveStatus::kSuccess;
  SolverStats stats;
};

}  // namespace stablenn
