// core/device.cpp — devices and the backend registry (chapter 12).
#include "core/device.h"

#include <mutex>

#include "core/error.h"

namespace stablenn {

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

namespace {
std::mutex registry_mutex;
DeviceBackend* cuda_backend = nullptr;  // the only non-CPU kind so far
}  // namespace

DeviceBackend* set_device_backend(Device::Kind kind, DeviceBackend* backend) {
  SNN_CHECK(kind != Device::Kind::CPU, "set_device_backend: the CPU needs no backend");
  std::lock_guard<std::mutex> lock(registry_mutex);
  DeviceBackend* previous = cuda_backend;
  cuda_backend = backend;
  return previous;
}

DeviceBackend& device_backend(Device device) {
  SNN_CHECK(!device.is_cpu(), "device_backend: the CPU needs no backend");
  SNN_CHECK(device.index >= 0, "device ", device.str(), ": a device index is never negative");
  std::lock_guard<std::mutex> lock(registry_mutex);
  SNN_CHECK(cuda_backend != nullptr, "device ", device.str(),
            ": no CUDA backend is installed. Build with -DSTABLENN_CUDA=ON and call "
            "stablenn::cuda::register_backend() (core/cuda/cuda_backend.h) before moving tensors");
  return *cuda_backend;
}

}  // namespace stablenn
