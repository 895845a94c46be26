// ode/solution.cpp — names of solve outcomes, for messages and tables (chapter 4).
#include "ode/solution.h"

namespace stablenn {

const char* solve_status_name(SolveStatus status) {
  switch (status) {
    case SolveStatus::kSuccess: return "success";
    case SolveStatus::kMaxStepsReached: return "max steps reached";
    case SolveStatus::kStepTooSmall: return "step too small";
  }
  return "unknown";
}

}  // namespace stablenn
