// layers/stable_blocks.h — every stable block of chapters 7 and 9, and the tools around them, in
// one include.
#pragma once
#include "layers/antisymmetric_block.h"
#include "layers/block_integrators.h"
#include "layers/certificates.h"
#include "layers/gradient_step_block.h"
#include "layers/hamiltonian_blocks.h"
#include "layers/linear_operator.h"
#include "layers/lipschitz.h"
#include "layers/norm_layers.h"
#include "layers/resnet_block.h"
#include "layers/scalar_activation.h"
#include "layers/spectral_norm.h"
#include "layers/switching_blocks.h"
