// core/cuda/strided_index.h — from a flat output index to each operand's element, for kernels on
// broadcast and non-contiguous views (chapter 12).
//
// The CPU core walks strided views with detail::for_each_strided (core/dispatch.h); a GPU thread
// instead takes one flat index of the output and needs each operand's storage offset for it. The
// arithmetic is here once, SNN_HOST_DEVICE, so tests/ch12_cuda_host_test.cpp checks it on the CPU.
#pragma once
#include <array>
#include <cstdint>

#include "core/cuda/host_device.h"
#include "core/tensor.h"

namespace stablenn::cuda {

// Chapter 12: the most axes a strided kernel takes (after merging, CIFAR shapes need at most 4).
constexpr int kMaxDims = 8;

// Chapter 12: the common shape of N operands and each one's element strides (0 on broadcast axes)
// and storage offset. Passed to kernels by value.
template <int N>
struct StridedIndexer {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};
  int64_t base[N] = {};

  // The storage offsets (in elements) of output element `linear`, row-major, for every operand.
  SNN_HOST_DEVICE void offsets(int64_t linear, int64_t* out) const {
    for (int k = 0; k < N; ++k) out[k] = base[k];
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t i = linear % sizes[d];
      linear /= sizes[d];
      for (int k = 0; k < N; ++k) out[k] += i * strides[k][d];
    }
  }
};

// Chapter 12: the indexer of `operands`, each broadcast to `shape` (Tensor::expand's rules: it
// throws naming the shapes when one does not broadcast). Size-1 axes are dropped first, so only
// shapes with more than kMaxDims axes of size > 1 are refused.
template <int N>
StridedIndexer<N> make_indexer(const Shape& shape, const std::array<const Tensor*, N>& operands,
                               const char* op) {
  StridedIndexer<N> ix;
  std::array<Tensor, N> views;
  for (int k = 0; k < N; ++k) {
    views[k] = operands[k]->expand(shape);
    ix.base[k] = views[k].offset();
  }
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    SNN_CHECK(ix.ndim < kMaxDims, op, ": shape ", shape_str(shape), " has more than ", kMaxDims,
              " axes of size > 1, the most a CUDA kernel takes");
    ix.sizes[ix.ndim] = shape[d];
    for (int k = 0; k < N; ++k) ix.strides[k][ix.ndim] = views[k].strides()[d];
    ++ix.ndim;
  }
  return ix;
}

}  // namespace stablenn::cuda
