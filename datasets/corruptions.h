// datasets/corruptions.h — noise corruptions for robustness experiments (chapter 8).
//
// Each takes images with values in [0, 1] (any shape, float32 or float64) and returns a corrupted
// copy clipped to [0, 1]. All randomness comes from `gen`, so a seed fixes the corruption.
#pragma once
#include "core/random.h"
#include "core/tensor.h"

namespace stablenn {

// Chapter 8: x + N(0, sigma^2) per pixel, clipped to [0, 1].
Tensor gaussian_noise(const Tensor& images, double sigma, Generator& gen);
// Chapter 8: each pixel independently becomes 0 (pepper) with probability p/2 and 1 (salt) with
// probability p/2; the rest are kept.
Tensor salt_and_pepper(const Tensor& images, double p, Generator& gen);
// Chapter 8: x + U(-amplitude, amplitude) per pixel, clipped to [0, 1].
Tensor uniform_noise(const Tensor& images, double amplitude, Generator& gen);

}  // namespace stablenn
