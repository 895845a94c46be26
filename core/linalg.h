// core/linalg.h — matrix products through OpenBLAS, with a naive reference (chapter 1).
#pragma once
#include "core/tensor.h"

namespace stablenn {

// Chapter 1: matrix product. a: [..., m, k], b: [..., k, n] -> [..., m, n]; batch axes broadcast.
// A 1-D operand is treated as a row (left) or column (right) vector and that axis is dropped, as in
// NumPy. Transposed or otherwise strided 2-D blocks are handed to cblas_?gemm without copying when
// one of their two strides is 1; other layouts are made contiguous first.
Tensor matmul(const Tensor& a, const Tensor& b);
// Chapter 3: a·b + bias, the bias [n] added to every row, for 2-D a [m, k] and b [k, n]: the dense
// layer's forward pass. The GEMM adds onto the bias rows, so the sum costs no pass of its own.
Tensor matmul_bias(const Tensor& a, const Tensor& b, const Tensor& bias);
// The same product by a plain triple loop (accumulating in double). The test oracle for matmul.
Tensor matmul_naive(const Tensor& a, const Tensor& b);

// Chapter 1: floating-point operations done in GEMM so far by this process (2·m·n·k per product,
// matmul and the convolutions alike). The benchmarks divide it by the time for GFLOP/s.
double gemm_flops();
// Internal to core/: add one product's operations (called by every cblas_?gemm wrapper).
void count_gemm_flops(int64_t m, int64_t n, int64_t k);

}  // namespace stablenn
