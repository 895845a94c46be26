// layers/attacks.cpp — FGSM and PGD (chapter 8).
#include "layers/attacks.h"

#include <algorithm>
#include <cmath>

#include "layers/losses.h"

namespace stablenn {

namespace {

// Per-example loss summed over the batch, so each example's input gradient is its own.
Var attack_objective(const Var& logits, const Tensor& labels, AttackLoss kind) {
  if (kind == AttackLoss::CrossEntropy)
    return cross_entropy(logits, labels) * double(logits.size(0));
  const Tensor y = one_hot(labels, logits.size(1), logits.dtype(), "pgd");
  const Var true_logit = sum(logits * Var(y), {1});
  // the largest other logit: push the true class to -inf-ish by subtracting a large constant
  const Var others = logits - Var(mul(y, 1e9));
  return sum(amax(others, {1}) - true_logit);
}

// The gradient of the objective at x_adv and the logits there.
std::pair<Tensor, Tensor> input_gradient(Module& model, const Tensor& x_adv, const Tensor& labels,
                                         AttackLoss kind) {
  Var x(x_adv, true);
  Var logits = model(x);
  Var objective = attack_objective(logits, labels, kind);
  std::vector<Var> g = grad({objective}, {x});
  return {g[0].value(), logits.value()};
}

// Shape [N, 1, 1, ...] for broadcasting a per-example scalar over an example.
Shape per_example_shape(const Tensor& x) {
  Shape s(x.dim(), 1);
  s[0] = x.size(0);
  return s;
}

// Unit direction of steepest ascent for the norm: sign(g) for l-inf, g / ||g|| for l2.
Tensor ascent_direction(const Tensor& g, AttackNorm norm) {
  if (norm == AttackNorm::Linf) return sign(g);
  const Tensor n = per_example_norm(g).reshape(per_example_shape(g));
  return div(g, add(n, 1e-12));
}

std::vector<bool> misclassified(const Tensor& logits, const Tensor& labels, const Tensor& targets) {
  const std::vector<int64_t> pred = argmax(logits, 1).to_int64();
  const std::vector<int64_t> y = (targets.defined() ? targets : labels).to_int64();
  std::vector<bool> out(pred.size());
  for (size_t i = 0; i < pred.size(); ++i) out[i] = targets.defined() ? pred[i] == y[i] : pred[i] != y[i];
  return out;
}

void check_batch(const Tensor& x, const Tensor& labels, const char* op) {
  SNN_CHECK(x.defined() && x.dim() >= 2, op, ": expected a batch [N, ...], got ",
            x.defined() ? shape_str(x.shape()) : "undefined");
  SNN_CHECK(labels.defined() && labels.dtype() == DType::Int64 && labels.dim() == 1 &&
                labels.size(0) == x.size(0),
            op, ": expected int64 labels [", x.size(0), "], got ",
            labels.defined() ? shape_str(labels.shape()) : "undefined");
}

// Copies example i of src into example i of dst ([N, ...] tensors).
void copy_example(Tensor& dst, const Tensor& src, int64_t i) {
  Tensor d = dst.select(0, i);
  d.copy_(src.select(0, i));
}

}  // namespace

int64_t AttackResult::fooled_count() const {
  return static_cast<int64_t>(std::count(fooled.begin(), fooled.end(), true));
}

Tensor per_example_norm(const Tensor& x) {
  return sqrt(sum(square(x.reshape({x.size(0), -1})), {1}));
}

Tensor project_to_ball(const Tensor& delta, AttackNorm norm, double eps) {
  if (norm == AttackNorm::Linf) return clamp(delta, -eps, eps);
  const Tensor n = per_example_norm(delta).reshape(per_example_shape(delta));
  // scale = min(1, eps / ||delta||)
  const Tensor scale = clamp(div(Tensor::scalar(eps, delta.dtype()), add(n, 1e-12)), 0.0, 1.0);
  return mul(delta, scale);
}

AttackResult fgsm(Module& model, const Tensor& x, const Tensor& labels, AttackNorm norm, double eps,
                  double lo, double hi) {
  check_batch(x, labels, "fgsm");
  SNN_CHECK(eps >= 0, "fgsm: eps must be >= 0, got ", eps);
  const auto [g, clean_logits] = input_gradient(model, x, labels, AttackLoss::CrossEntropy);
  (void)clean_logits;
  AttackResult r;
  r.adversarial = clamp(add(x, mul(ascent_direction(g, norm), eps)), lo, hi);
  NoGrad no_grad;
  r.fooled = misclassified(model(Var(r.adversarial)).value(), labels, Tensor());
  return r;
}

AttackResult pgd(Module& model, const Tensor& x, const Tensor& labels, const PgdOptions& o,
                 const Tensor& targets) {
  check_batch(x, labels, "pgd");
  SNN_CHECK(o.eps >= 0 && o.iterations >= 0 && o.restarts >= 1, "pgd: need eps >= 0 (got ", o.eps,
            "), iterations >= 0 (got ", o.iterations, ") and restarts >= 1 (got ", o.restarts, ")");
  if (targets.defined()) check_batch(x, targets, "pgd (targets)");
  const double step = o.step_size > 0 ? o.step_size : 2.5 * o.eps / std::max(1, o.iterations);
  const Tensor& goal_labels = targets.defined() ? targets : labels;
  const double direction = targets.defined() ? -1.0 : 1.0;  // targeted: descend towards the target
  const int64_t n = x.size(0);
  Generator gen(o.seed);

  AttackResult r;
  r.adversarial = x.clone();
  r.fooled.assign(n, false);
  // records iterate x_adv wherever it fools the model and nothing has been recorded yet
  auto record = [&](const Tensor& x_adv, const Tensor& logits) {
    const std::vector<bool> hit = misclassified(logits, labels, targets);
    for (int64_t i = 0; i < n; ++i)
      if (hit[i] && !r.fooled[i]) { r.fooled[i] = true; copy_example(r.adversarial, x_adv, i); }
  };
  {  // an example the model already gets wrong is not robust at any eps
    NoGrad no_grad;
    record(x, model(Var(x)).value());
  }
  for (int restart = 0; restart < o.restarts && r.fooled_count() < n; ++restart) {
    Tensor delta = Tensor::zeros(x.shape(), x.dtype());
    if (o.random_start && o.eps > 0) {
      if (o.norm == AttackNorm::Linf) {
        delta = gen.uniform(x.shape(), -o.eps, o.eps, x.dtype());
      } else {  // uniform direction, radius eps * u^(1/d): uniform in the ball
        const Tensor dir = ascent_direction(gen.normal(x.shape(), 0, 1, x.dtype()), AttackNorm::L2);
        const double d = double(x.numel() / n);
        Tensor radius = mul(pow(gen.uniform({n}, 0, 1, x.dtype()), 1.0 / d), o.eps);
        delta = mul(dir, radius.reshape(per_example_shape(x)));
      }
    }
    Tensor x_adv = clamp(add(x, delta), o.lo, o.hi);
    for (int it = 0; it < o.iterations; ++it) {
      auto [g, logits] = input_gradient(model, x_adv, goal_labels, o.loss);
      record(x_adv, logits);
      delta = add(sub(x_adv, x), mul(ascent_direction(g, o.norm), direction * step));
      delta = project_to_ball(delta, o.norm, o.eps);
      x_adv = clamp(add(x, delta), o.lo, o.hi);  // clipping keeps the iterate in the ball
    }
    NoGrad no_grad;
    record(x_adv, model(Var(x_adv)).value());
  }
  return r;
}

Tensor predict_logits(Module& model, const Tensor& images, int64_t batch_size) {
  SNN_CHECK(images.dim() >= 2 && batch_size > 0, "predict_logits: expected a batch [N, ...] and a "
            "positive batch size, got ", shape_str(images.shape()), " and ", batch_size);
  NoGrad no_grad;
  std::vector<Tensor> parts;
  for (int64_t at = 0; at < images.size(0); at += batch_size) {
    const int64_t len = std::min(batch_size, images.size(0) - at);
    parts.push_back(model(Var(images.narrow(0, at, len))).value());
  }
  SNN_CHECK(!parts.empty(), "predict_logits: no images");
  return concat(parts, 0);
}

std::vector<double> robust_accuracy_curve(Module& model, const Tensor& images, const Tensor& labels,
                                          const std::vector<double>& eps_grid, PgdOptions options,
                                          int64_t batch_size,
                                          const std::function<void(int64_t, int64_t)>& on_batch) {
  check_batch(images, labels, "robust_accuracy_curve");
  const int64_t n = images.size(0);
  const int64_t batches = (n + batch_size - 1) / batch_size;
  std::vector<double> acc;
  int64_t done = 0;
  for (double eps : eps_grid) {
    int64_t robust = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t at = b * batch_size, len = std::min(batch_size, n - at);
      const Tensor xb = images.narrow(0, at, len), yb = labels.narrow(0, at, len);
      if (eps == 0) {
        robust += static_cast<int64_t>(std::llround(accuracy(predict_logits(model, xb), yb) * len));
      } else {
        options.eps = eps;
        options.seed += 1;
        robust += len - pgd(model, xb, yb, options).fooled_count();
      }
      if (on_batch) on_batch(++done, batches * static_cast<int64_t>(eps_grid.size()));
    }
    acc.push_back(double(robust) / double(n));
  }
  return acc;
}

}  // namespace stablenn
