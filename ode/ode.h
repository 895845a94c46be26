// ode/ode.h — everything of the ODE layer in one include (chapter 4).
#pragma once
#include "ode/butcher.h"
#include "ode/fixed_grid.h"
#include "ode/implicit.h"
#include "ode/linear_solve.h"
#include "ode/rk_step.h"
#include "ode/solution.h"
#include "ode/solve_adaptive.h"
#include "ode/solve_fixed.h"
#include "ode/stability.h"
#include "ode/state_var.h"
#include "ode/state_vector.h"
#include "ode/symplectic.h"
