// core/cuda/cuda_backend.cu — cudaMalloc behind the caching allocator, and the device backend (chapter 12).
#include "core/cuda/cuda_backend.h"

#include <memory>
#include <mutex>
#include <vector>

#include "core/cuda/cuda_check.h"
#include "core/cuda/kernels.h"
#include "core/device_ops.h"
#include "core/tensor.h"

namespace stablenn::cuda {

using detail::check_cuda;

int device_count(std::string* why) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    if (why) *why = std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return 0;
  }
  if (count == 0 && why) *why = "cudaGetDeviceCount found no device";
  return count;
}

namespace {

// The raw backend: plain cudaMalloc/cudaFree on one device (no managed memory).
struct CudaMalloc {
  int index = 0;
  void* allocate(size_t nbytes) {
    detail::DeviceGuard guard(index);
    void* ptr = nullptr;
    if (cudaMalloc(&ptr, nbytes) != cudaSuccess) {
      cudaGetLastError();  // out of memory: the allocator empties its cache and retries
      return nullptr;
    }
    return ptr;
  }
  void release(void* ptr) {
    detail::DeviceGuard guard(index);
    cudaFree(ptr);
  }
};
using Allocator = CachingAllocator<CudaMalloc>;

// One allocator per device, made on first use and never destroyed: tensors may outlive main()'s
// locals, and freeing after the CUDA runtime has shut down would fail.
Allocator& allocator(int index) {
  static std::mutex mutex;
  static auto* allocators = new std::vector<Allocator*>();
  static const int count = device_count();  // asked once: the driver's answer does not change
  std::lock_guard<std::mutex> lock(mutex);
  SNN_CHECK(index >= 0 && index < count, "cuda:", index, ": no such device (this machine has ",
            count, " CUDA device(s))");
  if (allocators->empty()) allocators->resize(static_cast<size_t>(count), nullptr);
  Allocator*& a = (*allocators)[static_cast<size_t>(index)];
  if (!a) a = new Allocator(CudaMalloc{index});
  return *a;
}

class CudaBackend final : public DeviceBackend {
 public:
  std::shared_ptr<Storage> allocate(size_t nbytes, DType dtype, Device device) override {
    Allocator& a = allocator(device.index);
    void* ptr = a.allocate(nbytes);
    return std::make_shared<Storage>(ptr, nbytes, dtype, device, [&a](void* p) { a.free(p); });
  }
  void copy_to_device(void* device_ptr, const void* host_ptr, size_t nbytes, Device device) override {
    detail::DeviceGuard guard(device.index);
    check_cuda(cudaMemcpy(device_ptr, host_ptr, nbytes, cudaMemcpyHostToDevice), "to(cuda): copy");
  }
  void copy_to_host(void* host_ptr, const void* device_ptr, size_t nbytes, Device device) override {
    detail::DeviceGuard guard(device.index);
    check_cuda(cudaMemcpy(host_ptr, device_ptr, nbytes, cudaMemcpyDeviceToHost), "to(cpu): copy");
  }
};

// The core ops on CUDA tensors (core/device_ops.h): add(a, b) with a and b on cuda:0 lands here.
class CudaOps final : public DeviceOps {
 public:
  Tensor run(DeviceOp op, const Tensor& a, const Tensor& b) override {
    switch (op) {
      case DeviceOp::Add: return cuda::add(a, b);
      case DeviceOp::Sub: return cuda::sub(a, b);
      case DeviceOp::Mul: return cuda::mul(a, b);
      case DeviceOp::Div: return cuda::div(a, b);
      case DeviceOp::Relu: return activation(Activation::Relu, a);
      case DeviceOp::Sigmoid: return activation(Activation::Sigmoid, a);
      case DeviceOp::Tanh: return activation(Activation::Tanh, a);
      case DeviceOp::Matmul: return cuda::matmul(contiguous(a), contiguous(b));
      case DeviceOp::SumAll: return cuda::sum(contiguous(a));
      case DeviceOp::Clone: return cuda::clone(a);
    }
    fail(device_op_name(op), ": not written for CUDA yet");
  }
};

}  // namespace

void register_backend() {
  std::string why;
  SNN_CHECK(device_count(&why) > 0, "cuda::register_backend: no CUDA device (", why, ")");
  static CudaBackend backend;
  static CudaOps ops;
  set_device_backend(Device::Kind::CUDA, &backend);
  set_device_ops(Device::Kind::CUDA, &ops);
}

AllocatorStats memory_stats(int index) { return allocator(index).stats(); }
void empty_cache(int index) { allocator(index).empty_cache(); }

}  // namespace stablenn::cuda
