// core/blas_gemm.h — row-major cblas_?gemm on raw pointers, one overload per dtype (chapter 1).
// Internal to core/: matmul and the convolution kernels call BLAS through it, so that float and double
// share code.
#pragma once
#include <cblas.h>

#include <cstdint>
#include <cstring>

#include "core/linalg.h"
#include "core/parallel.h"

namespace stablenn {

// Zeroes the m x n block of C (row stride ldc). OpenBLAS's own pass for beta = 0 (sgemm_beta) runs
// at a few GB/s on the project's Zen machines: at 256x256x128 one product took 241 us with beta = 0
// and 179 us as memset then beta = 1 (2 threads); it was 9 % of chapter 8's toy example. So the
// wrappers below zero C themselves and always call BLAS with beta = 1.
template <typename T>
inline void zero_block(T* c, int64_t m, int64_t n, int64_t ldc) {
  if (ldc == n) {
    std::memset(c, 0, sizeof(T) * static_cast<size_t>(m * n));
    return;
  }
  for (int64_t i = 0; i < m; ++i) std::memset(c + i * ldc, 0, sizeof(T) * static_cast<size_t>(n));
}

// C (m x n) = op(A) * op(B) + beta * C, beta 0 or 1, all row-major with leading dimensions lda, ldb, ldc.
// Sizes are checked to fit an int by the callers (conv_geometry.cpp). Outside a parallel region,
// num_threads() first hands OpenBLAS the thread count of this moment (it may have dropped under load).
inline void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
                 int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (!omp_in_parallel()) num_threads();
  count_gemm_flops(m, n, k);
  if (beta == 0.0f) {
    zero_block(c, m, n, ldc);
    beta = 1.0f;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              int(m), int(n), int(k), 1.0f, a, int(lda), b, int(ldb), beta, c, int(ldc));
}
inline void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const double* a,
                 int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  if (!omp_in_parallel()) num_threads();
  count_gemm_flops(m, n, k);
  if (beta == 0.0) {
    zero_block(c, m, n, ldc);
    beta = 1.0;
  }
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              int(m), int(n), int(k), 1.0, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

}  // namespace stablenn
