// layers/stable/linear_operator.h — the linear map A of a stable block, dense or convolutional, with its
// exact adjoint Aᵀ (chapter 7).
//
// Every stable block of chapters 7 and 9 is built from a linear map A and its adjoint: the gradient
// step x − h Aᵀσ(Ax + b), the power iteration u ← AᵀAu/‖AᵀAu‖, the Hamiltonian blocks. A dense A acts
// on rows: A x = x Wᵀ for x [N, in] and W [out, in] (PyTorch's layout), so Aᵀ y = y W. A convolutional
// A is a stride-s zero-padded convolution at a fixed input size [C, H, W]; Aᵀ is the transposed
// convolution with the same kernel (conv2d_input_adjoint), which is the exact adjoint only at that
// input size — hence the size is part of the operator.
#pragma once
#include <string>

#include "autodiff/autodiff.h"

namespace stablenn {

// Chapter 7: the shape of a block's map A, before it has a weight: dense (in -> out features) or a
// k x k convolution (in -> out channels, stride 1, "same" zero padding k/2) at input size H x W.
struct MapGeometry {
  bool conv = false;
  int64_t in = 0, out = 0;               // features (dense) or channels (conv)
  int64_t height = 0, width = 0;         // conv only: the input size the block works at
  int64_t kernel = 1;                    // conv only: odd
  static MapGeometry dense(int64_t in_features, int64_t out_features);
  static MapGeometry convolution(int64_t in_channels, int64_t out_channels, int64_t height,
                                 int64_t width, int64_t kernel = 3);
  Shape weight_shape() const;            // [out, in] or [out, in, k, k]
  Shape sample_shape() const;            // one input sample: [in] or [in, H, W]
  int64_t padding() const { return conv ? kernel / 2 : 0; }
  int64_t fan_in() const { return conv ? in * kernel * kernel : in; }
  std::string str() const;               // "256 -> 256" or "16 -> 16, 3x3 at 28x28"
};

// Chapter 7: A and Aᵀ for a given weight. Cheap to copy (it holds the weight's handle).
class LinearOperator {
 public:
  LinearOperator() = default;
  // Chapter 7: A x = x Wᵀ on rows. weight: [out, in].
  static LinearOperator dense(const Var& weight);
  // Chapter 7: A x = conv2d(x, K) with zero padding, on inputs [N, C, height, width].
  // kernel: [O, C, kh, kw].
  static LinearOperator convolution(const Var& kernel, int64_t stride, int64_t padding,
                                    int64_t height, int64_t width);
  // Chapter 7: the operator of a geometry with this weight (its shape is checked).
  static LinearOperator from_geometry(const MapGeometry& geometry, const Var& weight);

  bool defined() const { return weight_.defined(); }
  bool is_convolution() const { return conv_; }
  const Var& weight() const { return weight_; }
  // Convolutions only (dense maps: stride 1, padding 0, size 0): the geometry given at construction.
  int64_t stride() const { return stride_; }
  int64_t padding() const { return padding_; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  // The same geometry with another weight (e.g. a float64 copy for an accurate power iteration).
  LinearOperator with_weight(const Var& weight) const;

  // ---- on Vars, recorded on the tape ----
  // x: [N, ...input] -> [N, ...output]. The bias (may be undefined) is added in the same op.
  Var apply(const Var& x, const Var& bias = Var()) const;
  // y: [N, ...output] -> [N, ...input], the exact adjoint: <y, A x> = <Aᵀ y, x>.
  Var adjoint(const Var& y) const;

  // ---- on Tensors, nothing recorded (power iteration, exact references) ----
  Tensor apply(const Tensor& x) const;
  Tensor adjoint(const Tensor& y) const;

  // Shapes of one sample (no batch axis) and of a batch of n.
  Shape input_sample_shape() const;
  Shape output_sample_shape() const;
  Shape input_shape(int64_t batch) const;
  Shape output_shape(int64_t batch) const;
  int64_t input_numel() const;
  int64_t output_numel() const;
  std::string describe() const;

 private:
  Var weight_;
  bool conv_ = false;
  int64_t stride_ = 1, padding_ = 0, height_ = 0, width_ = 0;
};

}  // namespace stablenn
