// core/device.h — where a tensor's storage lives, and the one dispatch point to other devices (chapter 12).
//
// The CPU core knows no CUDA. A device backend (core/cuda/ registers one when built with
// -DSTABLENN_CUDA=ON) allocates storage on its device and copies bytes to and from the host;
// Tensor::to(Device) is written against this interface only, so the CPU build needs no CUDA and a
// test can plug in a fake backend that keeps "device" memory on the host.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

namespace stablenn {

enum class DType;
class Storage;

// Chapter 12: a device: the CPU, or CUDA device `index`.
struct Device {
  enum class Kind { CPU, CUDA };
  Kind kind = Kind::CPU;
  int index = 0;

  static Device cpu() { return {Kind::CPU, 0}; }
  static Device cuda(int index = 0) { return {Kind::CUDA, index}; }
  bool is_cpu() const { return kind == Kind::CPU; }
  bool is_cuda() const { return kind == Kind::CUDA; }
  std::string str() const;  // "cpu", "cuda:0"
};
inline bool operator==(Device a, Device b) {
  return a.kind == b.kind && (a.kind == Device::Kind::CPU || a.index == b.index);
}
inline bool operator!=(Device a, Device b) { return !(a == b); }

// Chapter 12: what a device must provide for tensors to live on it. Copies are synchronous and
// take plain byte counts; `device_ptr` is memory this backend's allocate() handed out.
class DeviceBackend {
 public:
  virtual ~DeviceBackend() = default;
  // Storage of `nbytes` on `device`; its destructor gives the memory back to this backend.
  virtual std::shared_ptr<Storage> allocate(size_t nbytes, DType dtype, Device device) = 0;
  virtual void copy_to_device(void* device_ptr, const void* host_ptr, size_t nbytes,
                              Device device) = 0;
  virtual void copy_to_host(void* host_ptr, const void* device_ptr, size_t nbytes,
                            Device device) = 0;
};

// Chapter 12: installs the backend for a device kind (nullptr removes it); returns the previous one.
// The CPU needs none. core/cuda/ installs its backend with stablenn::cuda::register_backend().
DeviceBackend* set_device_backend(Device::Kind kind, DeviceBackend* backend);
// The backend for `device`; throws a clear error when none is installed (e.g. a CPU-only build).
DeviceBackend& device_backend(Device device);

}  // namespace stablenn
