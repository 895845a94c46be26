// core/cuda/kernels.h — tensor ops on CUDA tensors (chapter 12). Built with -DSTABLENN_CUDA=ON only.
//
// Each takes float32 or float64 tensors on one CUDA device and returns a new contiguous tensor
// there; anything else throws naming the op. The element-wise ops take any views (broadcast,
// permuted, sliced: core/cuda/strided_index.h); the others need contiguous operands. The oracle of each is the CPU op named in its comment, and
// the per-element bodies are those of core/cuda/elementwise_ops.h.
#pragma once
#include "core/tensor.h"

namespace stablenn::cuda {

// Chapter 12: the activations of elementwise_ops.h.
enum class Activation { Relu, Sigmoid, Tanh };

// Chapter 12: a contiguous copy of any view (broadcast, permuted, sliced); itself when already
// contiguous (Tensor::contiguous).
Tensor contiguous(const Tensor& x);
// Chapter 12: always a fresh contiguous copy (Tensor::clone).
Tensor clone(const Tensor& x);

// Chapter 12: element-wise ops with NumPy broadcasting (core/ops.h add, sub, mul, div; relu,
// sigmoid, tanh).
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor activation(Activation f, const Tensor& x);
// Chapter 12: the gradient through an activation: `saved` is x for relu and y = f(x) otherwise.
Tensor activation_backward(Activation f, const Tensor& g, const Tensor& saved);

// Chapter 12: y += alpha x in place (core/ops.h add_), and one Adam / AdamW step on a parameter
// and its two moment buffers, in place, for step t >= 1 (train/optim.h Adam).
void axpy_(Tensor& y, double alpha, const Tensor& x);
void adam_step_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, double lr,
                double beta1, double beta2, double eps, double weight_decay, bool decoupled, int64_t t);

// Chapter 12: the sum of all elements, a 0-d tensor on the device (core/ops.h sum). Two passes,
// a fixed tree per block, so the result is the same on every run.
Tensor sum(const Tensor& x);

// Chapter 12: the softmax family over the last axis of a [rows, n] tensor (core/ops.h softmax,
// log_softmax), and the mean cross-entropy with Int64 labels on the device (layers/losses.h), with
// its gradient with respect to the logits.
Tensor softmax(const Tensor& x);
Tensor log_softmax(const Tensor& x);
Tensor cross_entropy(const Tensor& logits, const Tensor& labels);
Tensor cross_entropy_backward(const Tensor& logits, const Tensor& labels);

// Chapter 12: a @ b by cuBLAS, for [m, k] x [k, n] or batched [B, m, k] x [B, k, n] (one strided
// batched GEMM call; core/linalg.h matmul).
Tensor matmul(const Tensor& a, const Tensor& b);

// Chapter 12: the direct convolution and its two adjoints, one thread per output element, the
// bodies of core/cuda/conv_ops.h (core/conv.h conv2d, conv2d_input_adjoint, conv2d_weight_adjoint);
// bias may be undefined.
Tensor conv2d_naive(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride = 1,
                    int64_t padding = 0);
Tensor conv2d_input_adjoint_naive(const Tensor& gy, const Tensor& w, const Shape& input_hw,
                                  int64_t stride = 1, int64_t padding = 0);
Tensor conv2d_weight_adjoint_naive(const Tensor& x, const Tensor& gy, const Shape& kernel_hw,
                                   int64_t stride = 1, int64_t padding = 0);

// Chapter 12: pooling as core/conv.h avg_pool2d and max_pool2d (indices, when asked for, Int64 on
// the device: the flat position of each maximum in its input plane).
Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding = 0);
Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding, Tensor* indices);

}  // namespace stablenn::cuda
