// core/cuda/host_device.h — write a per-element body once, run it on the CPU and on the GPU (chapter 12).
//
// Under nvcc, SNN_HOST_DEVICE marks a function __host__ __device__, so a kernel calls the same body
// that the CPU tests check against the CPU ops; under a plain C++ compiler it expands to nothing.
#pragma once
#include <cmath>
#include <type_traits>

#if defined(__CUDACC__)
#define SNN_HOST_DEVICE __host__ __device__
#else
#define SNN_HOST_DEVICE
#endif

namespace stablenn::cuda {

// Chapter 12: maths that compiles on both sides: CUDA's expf/exp (and log, sqrt, tanh) in device
// code, std:: on the host.
template <class T>
SNN_HOST_DEVICE inline T math_exp(T x) {
#if defined(__CUDA_ARCH__)
  if constexpr (std::is_same_v<T, float>) return ::expf(x);  // single precision on the device
  else return ::exp(x);
#else
  return std::exp(x);
#endif
}
template <class T>
SNN_HOST_DEVICE inline T math_log(T x) {
#if defined(__CUDA_ARCH__)
  if constexpr (std::is_same_v<T, float>) return ::logf(x);  // single precision on the device
  else return ::log(x);
#else
  return std::log(x);
#endif
}
template <class T>
SNN_HOST_DEVICE inline T math_sqrt(T x) {
#if defined(__CUDA_ARCH__)
  if constexpr (std::is_same_v<T, float>) return ::sqrtf(x);  // single precision on the device
  else return ::sqrt(x);
#else
  return std::sqrt(x);
#endif
}
template <class T>
SNN_HOST_DEVICE inline T math_tanh(T x) {
#if defined(__CUDA_ARCH__)
  if constexpr (std::is_same_v<T, float>) return ::tanhf(x);  // single precision on the device
  else return ::tanh(x);
#else
  return std::tanh(x);
#endif
}

}  // namespace stablenn::cuda
