// train/data_parallel.h — one training step split over threads by batch rows (chapter 3).
//
// A step of chapter 8's toy networks multiplies 128 x 256 by 256 x 256 matrices: small enough that
// splitting every product over two threads (OpenBLAS's way) loses much of the second core to
// hand-offs, and every element-wise op between them is one more fork and join. Here each thread
// instead runs the whole forward and backward pass on its share of the batch, on its own tape and
// with single-threaded BLAS, and the gradients are summed once at the end: one fork and join per
// step. The result is the same step as train_step's up to float rounding (the loss is a mean over
// the batch, so the batch gradient is the size-weighted mean of the shards' gradients).
//
// Only for models whose training-mode forward pass reads its parameters and buffers without
// changing them, and whose loss is a mean over the examples plus terms that do not depend on them,
// computed without state (the shards call it at once): batch normalisation (statistics over the
// batch), modules that update state in the forward pass, and every module that does not declare
// itself safe are refused (Module::data_parallel_safe). Results depend on the thread count through
// the shards' summation order, never on scheduling.
#pragma once
#include "train/trainer.h"

namespace stablenn {

// Chapter 3: train_step with the batch split into `shards` contiguous row blocks, one per thread
// (shards <= 1, or a batch smaller than 2 * kMinShardRows, runs train_step itself).
StepResult data_parallel_train_step(Module& model, Optimizer& optimizer, const LossFunction& loss_fn,
                                    const Batch& batch, double max_grad_norm, int shards);

// The fewest rows a shard gets (a smaller batch uses fewer threads): below this a GEMM leaves
// OpenBLAS's kernel too little to do per packing. A choice, not a measured threshold.
constexpr int64_t kMinShardRows = 32;

}  // namespace stablenn
