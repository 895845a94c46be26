// layers/init.h — weight initialisers (chapter 3).
// fan_in/fan_out of a weight [out, in] are in/out; of a kernel [O, C, kh, kw] they are C*kh*kw and
// O*kh*kw.
#pragma once
#include "core/random.h"
#include "core/tensor.h"

namespace stablenn {

// Chapter 3: fan-in and fan-out of a dense weight or convolution kernel.
int64_t fan_in(const Shape& weight_shape);
int64_t fan_out(const Shape& weight_shape);

// Chapter 3: Kaiming/He initialisation for ReLU-like activations with negative slope `slope`:
// std = gain / sqrt(fan_in), gain = sqrt(2 / (1 + slope^2)). Uniform uses bound = sqrt(3) * std.
Tensor kaiming_uniform(const Shape& shape, Generator& g, double slope = 0.0,
                       DType dtype = DType::Float32);
Tensor kaiming_normal(const Shape& shape, Generator& g, double slope = 0.0,
                      DType dtype = DType::Float32);
// Chapter 3: Xavier/Glorot: std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor xavier_uniform(const Shape& shape, Generator& g, double gain = 1.0,
                      DType dtype = DType::Float32);
Tensor xavier_normal(const Shape& shape, Generator& g, double gain = 1.0,
                     DType dtype = DType::Float32);
// Chapter 3: a random [rows, cols] matrix with orthonormal rows (rows <= cols) or columns
// (rows >= cols), times `gain`: Gram-Schmidt (twice, for accuracy) on a Gaussian matrix.
Tensor orthogonal(int64_t rows, int64_t cols, Generator& g, double gain = 1.0,
                  DType dtype = DType::Float32);
// Chapter 3 (used by the stable blocks of chapter 9): a kernel [O, C, k, k] that is zero except at
// the centre tap, where it holds an orthogonal O x C matrix, so the convolution is an isometry
// (for O >= C) at initialisation.
Tensor delta_orthogonal(const Shape& kernel_shape, Generator& g, double gain = 1.0,
                        DType dtype = DType::Float32);

}  // namespace stablenn
