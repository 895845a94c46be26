// layers/losses.h — loss functions (chapter 3). All average over the batch.
// logits: [N, K] float; labels: [N] Int64 in [0, K).
#pragma once
#include "autodiff/autodiff.h"

namespace stablenn {

// Chapter 3: the [N, K] one-hot matrix of `labels` (checked: Int64, [N], each in [0, K)).
Tensor one_hot(const Tensor& labels, int64_t num_classes, DType dtype, const char* op = "one_hot");
// Chapter 3: cross-entropy from logits, -mean_n sum_k q_nk log softmax(z_n)_k with
// q = (1 - s) one_hot + s / K (label smoothing s).
Var cross_entropy(const Var& logits, const Tensor& labels, double label_smoothing = 0.0);
// Chapter 3: mean squared error over all elements.
Var mse_loss(const Var& prediction, const Tensor& target);
// Chapter 3 (used for the 1-Lipschitz networks of chapters 7 and 9): the multi-class hinge loss
// mean_n sum_{j != y_n} max(0, z_nj - z_ny + margin).
Var multiclass_hinge(const Var& logits, const Tensor& labels, double margin);
// Chapter 3: binary cross-entropy from logits, mean(softplus(z) - t z), for targets t in [0, 1].
Var bce_with_logits(const Var& logits, const Tensor& targets);
// Chapter 3: the fraction of rows whose largest logit is at the label.
double accuracy(const Tensor& logits, const Tensor& labels);

}  // namespace stablenn
