// core/blas_gemm.h — row-major cblas_?gemm on raw pointers, one overload per dtype (chapter 1).
// Internal to core/: the convolution kernels call BLAS through it so that float and double share code.
#pragma once
#include <cblas.h>

#include <cstdint>

#include "core/linalg.h"
#include "core/parallel.h"

namespace stablenn {

// C (m x n) = op(A) * op(B) + beta * C, all row-major with leading dimensions lda, ldb, ldc.
// Sizes are checked to fit an int by the callers (conv_geometry.cpp). Outside a parallel region,
// num_threads() first hands OpenBLAS the thread count of this moment (it may have dropped under load).
inline void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
                 int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (!omp_in_parallel()) num_threads();
  count_gemm_flops(m, n, k);
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              int(m), int(n), int(k), 1.0f, a, int(lda), b, int(ldb), beta, c, int(ldc));
}
inline void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const double* a,
                 int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  if (!omp_in_parallel()) num_threads();
  count_gemm_flops(m, n, k);
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              int(m), int(n), int(k), 1.0, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

}  // namespace stablenn
