// layers/normalization.cpp — Dropout and BatchNorm (chapter 3).
#include "layers/normalization.h"

namespace stablenn {

Dropout::Dropout(double p_drop, Generator& g) : p(p_drop), generator_(&g) {
  SNN_CHECK(p >= 0 && p < 1, "Dropout: p must be in [0, 1), got ", p);
}

Var Dropout::forward(const Var& x) {
  if (!training() || p == 0) return x;
  const Tensor keep = generator_->bernoulli(x.shape(), 1 - p, x.dtype());
  return x * Var(mul(keep, 1 / (1 - p)));
}

BatchNorm::BatchNorm(int64_t c, double mom, double e, DType dtype)
    : channels(c), momentum(mom), eps(e) {
  weight = register_parameter("weight", Tensor::ones({c}, dtype));
  bias = register_parameter("bias", Tensor::zeros({c}, dtype));
  running_mean = register_buffer("running_mean", Tensor::zeros({c}, dtype));
  running_var = register_buffer("running_var", Tensor::ones({c}, dtype));
}

Var BatchNorm::forward(const Var& x) {
  SNN_CHECK(x.dim() >= 2 && x.size(1) == channels, "BatchNorm(", channels,
            "): expected input [N, ", channels, ", ...], got ", shape_str(x.shape()));
  Shape axes = {0}, stat_shape(x.dim(), 1);
  for (int64_t d = 2; d < x.dim(); ++d) axes.push_back(d);
  stat_shape[1] = channels;
  Var mu, variance;
  if (training()) {
    const int64_t count = x.numel() / channels;
    SNN_CHECK(count > 1, "BatchNorm: training needs more than one value per channel, got shape ",
              shape_str(x.shape()));
    mu = mean(x, axes, true);
    variance = var(x, axes, 0, true);
    NoGrad no_grad;
    Tensor m = mu.value().reshape({channels});
    Tensor unbiased = mul(variance.value().reshape({channels}), double(count) / (count - 1));
    running_mean.copy_(add(mul(running_mean, 1 - momentum), mul(m, momentum)));
    running_var.copy_(add(mul(running_var, 1 - momentum), mul(unbiased, momentum)));
  } else {
    mu = Var(running_mean.reshape(stat_shape));
    variance = Var(running_var.reshape(stat_shape));
  }
  Var xhat = (x - mu) / sqrt(variance + eps);
  return xhat * reshape(weight, stat_shape) + reshape(bias, stat_shape);
}

}  // namespace stablenn
