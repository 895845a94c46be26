// layers/stable/stable_blocks.h — every stable block of chapters 7 and 9, and the layers and
// operators they are built from, in one include. The bounds and certificates computed from them are
// in robust/ (robust/lipschitz.h, robust/certificates.h).
#pragma once
#include "layers/activations.h"
#include "layers/stable/antisymmetric_block.h"
#include "layers/stable/block_integrators.h"
#include "layers/stable/gradient_step_block.h"
#include "layers/stable/hamiltonian_blocks.h"
#include "layers/stable/linear_operator.h"
#include "layers/stable/lipschitz_bounded.h"
#include "layers/stable/norm_layers.h"
#include "layers/stable/resnet_block.h"
#include "layers/stable/spectral_norm.h"
#include "layers/stable/switching_blocks.h"
