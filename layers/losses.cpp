// layers/losses.cpp — loss functions (chapter 3).
#include "layers/losses.h"

namespace stablenn {

namespace {
void check_logits(const Var& logits, const Tensor& labels, const char* op) {
  SNN_CHECK(logits.dim() == 2, op, ": expected logits [N, K], got ", shape_str(logits.shape()));
  SNN_CHECK(labels.defined() && labels.dim() == 1 && labels.size(0) == logits.size(0), op,
            ": expected labels [", logits.size(0), "] for logits ", shape_str(logits.shape()),
            ", got ", labels.defined() ? shape_str(labels.shape()) : "undefined");
}
}  // namespace

Tensor one_hot(const Tensor& labels, int64_t k, DType dtype, const char* op) {
  SNN_CHECK(labels.dtype() == DType::Int64, op, ": labels must be int64, got ",
            dtype_name(labels.dtype()));
  const std::vector<int64_t> y = labels.to_int64();
  Tensor out = Tensor::zeros({static_cast<int64_t>(y.size()), k}, dtype);
  for (size_t i = 0; i < y.size(); ++i) {
    SNN_CHECK(y[i] >= 0 && y[i] < k, op, ": label ", y[i], " at position ", i,
              " is outside [0, ", k, ")");
    out.set({static_cast<int64_t>(i), y[i]}, 1.0);
  }
  return out;
}

Var cross_entropy(const Var& logits, const Tensor& labels, double smoothing) {
  check_logits(logits, labels, "cross_entropy");
  SNN_CHECK(smoothing >= 0 && smoothing < 1, "cross_entropy: label smoothing must be in [0, 1), got ",
            smoothing);
  const int64_t k = logits.size(1);
  Tensor target = one_hot(labels, k, logits.dtype(), "cross_entropy");
  if (smoothing > 0) target = add(mul(target, 1 - smoothing), smoothing / double(k));
  return -sum(log_softmax(logits, 1) * Var(target)) / double(logits.size(0));
}

Var mse_loss(const Var& prediction, const Tensor& target) {
  SNN_CHECK(prediction.shape() == target.shape(), "mse_loss: prediction ",
            shape_str(prediction.shape()), " and target ", shape_str(target.shape()), " differ");
  return mean(square(prediction - Var(target)));
}

Var multiclass_hinge(const Var& logits, const Tensor& labels, double margin) {
  check_logits(logits, labels, "multiclass_hinge");
  const Tensor y = one_hot(labels, logits.size(1), logits.dtype(), "multiclass_hinge");
  const Var true_logit = sum(logits * Var(y), {1}, true);                  // [N, 1]
  const Var violations = relu(logits - true_logit + margin) * Var(sub(Tensor::ones(y.shape(), y.dtype()), y));
  return sum(violations) / double(logits.size(0));
}

Var bce_with_logits(const Var& logits, const Tensor& targets) {
  SNN_CHECK(logits.shape() == targets.shape(), "bce_with_logits: logits ",
            shape_str(logits.shape()), " and targets ", shape_str(targets.shape()), " differ");
  return mean(softplus(logits) - logits * Var(targets));
}

double accuracy(const Tensor& logits, const Tensor& labels) {
  SNN_CHECK(logits.dim() == 2 && labels.dim() == 1 && labels.size(0) == logits.size(0),
            "accuracy: expected logits [N, K] and labels [N], got ", shape_str(logits.shape()),
            " and ", shape_str(labels.shape()));
  if (labels.size(0) == 0) return 0;
  const std::vector<int64_t> pred = argmax(logits, 1).to_int64(), y = labels.to_int64();
  int64_t correct = 0;
  for (size_t i = 0; i < y.size(); ++i) correct += pred[i] == y[i];
  return double(correct) / double(y.size());
}

}  // namespace stablenn
