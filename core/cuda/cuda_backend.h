// core/cuda/cuda_backend.h — the CUDA device behind Tensor::to(Device) (chapter 12).
// Built only with -DSTABLENN_CUDA=ON (library stablenn_cuda); needs no CUDA header to include.
#pragma once
#include <string>

#include "core/cuda/caching_allocator.h"
#include "core/device.h"

namespace stablenn::cuda {

// Chapter 12: how many CUDA devices this process sees; 0 (never an exception) when there is no
// driver or no device, with the reason in `why` when given.
int device_count(std::string* why = nullptr);

// Chapter 12: installs the CUDA backend (core/device.h), so that tensor.to(Device::cuda(i)) works,
// and its op table (core/device_ops.h), so that the core ops it covers run on CUDA tensors.
// Safe to call more than once. Throws a clear error when there is no usable device.
void register_backend();

// Chapter 12: device `index`'s caching allocator: its statistics, and giving its cache back.
AllocatorStats memory_stats(int index = 0);
void empty_cache(int index = 0);

}  // namespace stablenn::cuda
