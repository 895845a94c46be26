// autodiff/autodiff.h — everything of the autodiff layer in one include (chapter 2).
#pragma once
#include "autodiff/backward.h"
#include "autodiff/dot.h"
#include "autodiff/functional.h"
#include "autodiff/gradcheck.h"
#include "autodiff/node.h"
#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "autodiff/var.h"
#include "core/stablenn_core.h"  // the Tensor versions of the same ops, so both overload sets are seen
