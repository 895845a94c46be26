// core/stablenn_core.h — everything of the tensor core in one include (chapter 1).
#pragma once
#include "core/conv.h"
#include "core/error.h"
#include "core/linalg.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"
#include "core/tensor.h"
