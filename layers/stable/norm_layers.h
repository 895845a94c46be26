// layers/stable/norm_layers.h — layers with a known Lipschitz bound for assembling certified networks:
// spectrally normalised lift and head layers, correctly scaled pooling, input normalisation
// (chapter 7).
//
// A 1-Lipschitz network needs every layer between the pixels and the logits to be bounded: the
// stable blocks are non-expansive by construction, and the layers around them must not undo that.
// The lift (e.g. Linear 784 -> 256, or a 1x1 convolution 3 -> 16) and the head (Linear 256 -> 10) are
// divided by max(1, σ) (not the Frobenius norm, which over-shrinks a layer by up to √rank;
// book/A-references.md §A.5 lists that flaw). In training σ is the warm-started power-iteration
// estimate, with the gradient flowing through it; in evaluation it is spectral_norm_upper_bound,
// stored in the buffers "eval_norm" and "eval_norm_key" (see SpectralNormEstimator), so the evaluated
// layer's norm is <= 1 exactly and a checkpoint reloads to the same network bit for bit.
#pragma once
#include <vector>

#include "layers/module.h"
#include "layers/stable/lipschitz_bounded.h"
#include "layers/stable/spectral_norm.h"

namespace stablenn {

// Chapter 7: how a normalised layer scales its weight.
enum class NormScaling {
  kAtMostOne,   // W / max(1, σ): the norm is min(σ, 1); small layers stay as they are
  kExactlyOne,  // W / σ: the norm is exactly 1
};

// Chapter 7: y = x Wᵀ / s + b with s = max(1, σ) (or σ), σ the spectral norm of W: by power iteration
// in training (one warm-started iteration per step, with the gradient flowing through σ), the
// stored upper bound in evaluation. x: [N, in] -> [N, out]. Buffers "power_u" [1, in], "eval_norm",
// "eval_norm_key".
class SpectralNormLinear : public Module, public LipschitzBounded {
 public:
  SpectralNormLinear(int64_t in_features, int64_t out_features, bool bias = true,
                     NormScaling scaling = NormScaling::kAtMostOne,
                     PowerIterationSchedule schedule = {}, Generator& g = default_generator(),
                     DType dtype = DType::Float32);
  Var forward(const Var& x) override;
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override;
  // The evaluation-mode norm: the stored upper bound σ̄ >= σ_max(W) times the multiplier applied,
  // 1/max(1, σ̄) (or 1/σ̄) rounded down: <= 1 (kExactlyOne: 1 up to rounding, never above).
  double lipschitz_bound() override;
  LinearOperator op() const { return LinearOperator::dense(weight); }
  // The scale s of the last forward pass (evaluation multiplies by 1/s rounded down).
  double last_scale() const { return last_scale_; }
  Var weight, bias;
  int64_t in_features, out_features;
  NormScaling scaling;

 private:
  SpectralNormEstimator norm_;
  double last_scale_ = 1.0;
};

// Chapter 7: the convolutional version: y = conv2d(x, K)/s + b at a fixed input size (the power
// iteration and the upper bound are for that size). x: [N, C, H, W] -> [N, O, Ho, Wo]. Buffers
// "power_u" [1, C, H, W], "eval_norm", "eval_norm_key".
class SpectralNormConv2d : public Module, public LipschitzBounded {
 public:
  SpectralNormConv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t height,
                     int64_t width, int64_t stride = 1, int64_t padding = -1, bool bias = true,
                     NormScaling scaling = NormScaling::kAtMostOne,
                     PowerIterationSchedule schedule = {}, Generator& g = default_generator(),
                     DType dtype = DType::Float32);
  Var forward(const Var& x) override;
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override;
  // As SpectralNormLinear's, with σ̄ = spectral_norm_upper_bound of the convolution at its input
  // size (SVD of the full matrix for small maps, else the circular-convolution bound).
  double lipschitz_bound() override;
  LinearOperator op() const;
  double last_scale() const { return last_scale_; }
  Var weight, bias;
  int64_t in_channels, out_channels, kernel, height, width, stride, padding;
  NormScaling scaling;

 private:
  SpectralNormEstimator norm_;
  double last_scale_ = 1.0;
};

// Chapter 7: (x − mean_c) / std_c along axis 1, inside the network so that its factor 1/min std_c is
// part of the bound (normalising in the loader instead would hide it: the certified radius must be
// measured in pixels).
class InputNormalization : public Module, public LipschitzBounded {
 public:
  InputNormalization(std::vector<double> mean, std::vector<double> std);
  Var forward(const Var& x) override;
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override;
  double lipschitz_bound() override;  // 1 / min_c std_c
  std::vector<double> mean, std;
};

// Chapter 7: average pooling scaled by k, k·avgpool_k (window = stride = k): the sum of each window
// divided by k, whose ℓ2 norm is exactly 1 (plain average pooling has norm 1/k and so throws away
// margin the certificate could use). x: [N, C, H, W] -> [N, C, H/k, W/k].
class ScaledAvgPool2d : public Module, public LipschitzBounded {
 public:
  explicit ScaledAvgPool2d(int64_t kernel);
  Var forward(const Var& x) override;
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override;
  double lipschitz_bound() override { return 1.0; }
  int64_t kernel;
};

// Chapter 7: √(HW) · mean over H, W: the sum over the plane divided by √(HW), norm exactly 1.
// x: [N, C, H, W] -> [N, C].
class ScaledGlobalAvgPool2d : public Module, public LipschitzBounded {
 public:
  Var forward(const Var& x) override;
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override { return "ScaledGlobalAvgPool2d"; }
  double lipschitz_bound() override { return 1.0; }
};

}  // namespace stablenn
