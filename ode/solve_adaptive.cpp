// ode/solve_adaptive.cpp — the non-template parts of adaptive step control (chapter 4).
#include "ode/solve_adaptive.h"

namespace stablenn {

void validate_adaptive_options(const AdaptiveOptions& o) {
  SNN_CHECK(std::isfinite(o.rtol) && o.rtol >= 0, "AdaptiveOptions: rtol must be >= 0, got ", o.rtol);
  SNN_CHECK(std::isfinite(o.atol) && o.atol > 0, "AdaptiveOptions: atol must be > 0 (it is the ",
            "error scale of components near zero), got ", o.atol);
  SNN_CHECK(std::isfinite(o.first_step) && o.first_step >= 0,
            "AdaptiveOptions: first_step must be >= 0 (0 = automatic), got ", o.first_step);
  SNN_CHECK(o.safety > 0 && o.safety <= 1, "AdaptiveOptions: safety must be in (0, 1], got ",
            o.safety);
  SNN_CHECK(o.min_factor > 0 && o.min_factor < 1, "AdaptiveOptions: min_factor must be in (0, 1), got ",
            o.min_factor);
  SNN_CHECK(o.max_factor > 1 && std::isfinite(o.max_factor),
            "AdaptiveOptions: max_factor must be a finite number > 1, got ", o.max_factor);
  SNN_CHECK(std::isfinite(o.min_step) && o.min_step >= 0, "AdaptiveOptions: min_step must be >= 0, got ",
            o.min_step);
  SNN_CHECK(o.max_step > 0 && o.max_step >= o.min_step, "AdaptiveOptions: max_step must be > 0 and >= ",
            "min_step, got max_step = ", o.max_step, ", min_step = ", o.min_step);
  SNN_CHECK(o.max_steps >= 1, "AdaptiveOptions: max_steps must be >= 1, got ", o.max_steps);
}

double step_size_factor(double ratio, int error_order, const AdaptiveOptions& options) {
  if (!std::isfinite(ratio)) return options.min_factor;
  if (ratio == 0.0) return options.max_factor;
  const double proposed = options.safety * std::pow(ratio, -1.0 / error_order);
  return std::min(options.max_factor, std::max(options.min_factor, proposed));
}

}  // namespace stablenn
