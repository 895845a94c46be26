// bench/bench_cuda_gemm.cpp — GEMM through the tensor API (cuda::matmul: allocation from the
// caching allocator, checks, one cuBLAS call) against a raw cuBLAS call on preallocated buffers
// (chapter 12). Issue 19 asks for a ratio >= 0.9. Built only with -DSTABLENN_CUDA=ON;
// scripts/gpu_check.sh runs it. Prints one Markdown table. Exit status 3 without a CUDA device.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "core/cuda/cuda_backend.h"
#include "core/cuda/kernels.h"
#include "core/random.h"

using namespace stablenn;

namespace {

// Seconds per call, averaged over `reps` calls after two warm-up calls.
template <class F>
double seconds_per_call(int reps, F f) {
  f();
  f();
  cudaDeviceSynchronize();
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) f();
  cudaDeviceSynchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
}

}  // namespace

int main() {
  std::string why;
  if (cuda::device_count(&why) == 0) {
    std::fprintf(stderr, "bench_cuda_gemm: no CUDA device: %s\n", why.c_str());
    return 3;
  }
  cuda::register_backend();
  cublasHandle_t handle;
  if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) {
    std::fprintf(stderr, "bench_cuda_gemm: cublasCreate failed\n");
    return 1;
  }
  std::printf("| GEMM float32 (m = n = k) | tensor API GFLOP/s | raw cuBLAS GFLOP/s | ratio API/raw |\n");
  std::printf("|---|---|---|---|\n");
  Generator g(0);
  for (int64_t n : {512, 1024, 2048, 4096}) {
    const Tensor a = g.normal({n, n}).to(Device::cuda()), b = g.normal({n, n}).to(Device::cuda());
    Tensor c = cuda::matmul(a, b);  // the raw call's output buffer
    const int reps = n <= 1024 ? 200 : 20;
    const double api = seconds_per_call(reps, [&] { (void)cuda::matmul(a, b); });
    const float one = 1, zero = 0;
    const int N = static_cast<int>(n);
    const double raw = seconds_per_call(reps, [&] {
      cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, N, N, N, &one,
                  static_cast<const float*>(b.storage()->data()), N,
                  static_cast<const float*>(a.storage()->data()), N, &zero,
                  static_cast<float*>(c.storage()->data()), N);
    });
    const double flops = 2.0 * double(n) * double(n) * double(n);
    std::printf("| %lld | %.0f | %.0f | %.3f |\n", static_cast<long long>(n), flops / api / 1e9,
                flops / raw / 1e9, raw / api);
  }
  cublasDestroy(handle);
  return 0;
}
