// core/cuda/cuda_check.h — internal: CUDA and cuBLAS status checks (chapter 12). Only .cu files use it.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "core/error.h"

namespace stablenn::cuda::detail {

inline void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) fail(what, ": CUDA error ", cudaGetErrorName(status), ": ", cudaGetErrorString(status));
}
inline void check_cublas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS) fail(what, ": cuBLAS error ", static_cast<int>(status));
}
// A kernel launch reports bad configurations at once and faults only at the next synchronisation;
// the tests synchronise after each launch so that an error names the kernel that caused it.
inline void check_launch(const char* kernel) {
  check_cuda(cudaGetLastError(), kernel);
}

// Makes `index` the current device for the lifetime of the guard.
class DeviceGuard {
 public:
  explicit DeviceGuard(int index) {
    check_cuda(cudaGetDevice(&previous_), "cudaGetDevice");
    if (index != previous_) {
      check_cuda(cudaSetDevice(index), "cudaSetDevice");
      switched_ = true;
    }
  }
  ~DeviceGuard() {
    if (switched_) cudaSetDevice(previous_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
  bool switched_ = false;
};

}  // namespace stablenn::cuda::detail
