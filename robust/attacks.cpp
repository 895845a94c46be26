// robust/attacks.cpp — FGSM, PGD, APGD and the minimum-norm attack FMN (chapter 8).
#include "robust/attacks.h"

#include <algorithm>
#include <cmath>

#include "core/dispatch.h"
#include "layers/losses.h"
#include "robust/attack_kernels.h"

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

// A per-example scalar v [N] as a tensor [N, 1, 1, ...] that broadcasts over `like` [N, ...].
Tensor per_example(const std::vector<double>& v, const Tensor& like) {
  return Tensor::from_vector(v, per_example_shape(like), like.dtype());
}

// x_adv projected onto the eps-ball around x and then clipped to [lo, hi]; clipping after the ball
// keeps the point in the ball, since each coordinate only moves towards x's own (in-range) value.
// (attack_kernels: one fused pass per example for l2.)
Tensor project(const Tensor& x, const Tensor& x_adv, AttackNorm norm, double eps, double lo, double hi) {
  return attack_kernels::project(x, x_adv, norm, eps, lo, hi);
}

using attack_kernels::choose_rows;  // rows of t where mask[i], else rows of otherwise

// Per-example p-norms (p = 1, 2 or infinity) of [N, ...] in float64: each value converted to double,
// then |v|, summed (or maxed) in order. Read in place (no float64 copy of the batch), as FMN asks for
// three of these per step.
std::vector<double> row_p_norms(const Tensor& x, double p) {
  const Tensor flat = (is_floating(x.dtype()) ? x : x.to(DType::Float64)).reshape({x.size(0), -1}).contiguous();
  const int64_t rows = flat.size(0), cols = flat.size(1);
  std::vector<double> out(rows, 0.0);
  detail::dispatch_float(flat.dtype(), "row_p_norms", [&](auto tag) {
    using T = decltype(tag);
    const T* d = flat.data<T>();
    for (int64_t r = 0; r < rows; ++r) {
      double acc = 0;
      for (int64_t c = 0; c < cols; ++c) {
        const double v = std::abs(double(d[r * cols + c]));
        if (std::isinf(p)) acc = std::max(acc, v);
        else acc += p == 1 ? v : v * v;
      }
      out[r] = p == 2 ? std::sqrt(acc) : acc;
    }
  });
  return out;
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

Tensor take_rows(const Tensor& t, const std::vector<int64_t>& index) {
  SNN_CHECK(!index.empty(), "take_rows: no rows asked for");
  std::vector<Tensor> rows;
  rows.reserve(index.size());
  for (int64_t i : index) rows.push_back(t.select(0, i));
  return stack(rows, 0);
}

std::vector<double> per_example_norms(const Tensor& x, AttackNorm norm) {
  return row_p_norms(x, norm == AttackNorm::L2 ? 2.0 : INFINITY);
}

std::vector<double> per_example_attack_loss(const Tensor& logits, const Tensor& labels, AttackLoss kind) {
  // logits [N, K], labels [N] -> N losses
  const Tensor z = logits.to(DType::Float64).contiguous();
  const std::vector<int64_t> y = labels.to_int64();
  const int64_t n = z.size(0), k = z.size(1);
  SNN_CHECK(static_cast<int64_t>(y.size()) == n, "per_example_attack_loss: ", n, " rows of logits but ",
            y.size(), " labels");
  const double* p = z.data<double>();
  std::vector<double> loss(n);
  for (int64_t i = 0; i < n; ++i) {
    const double* row = p + i * k;
    double other = -INFINITY, top = -INFINITY;
    for (int64_t j = 0; j < k; ++j) {
      top = std::max(top, row[j]);
      if (j != y[i]) other = std::max(other, row[j]);
    }
    if (kind == AttackLoss::Margin) {
      loss[i] = other - row[y[i]];
    } else {
      double s = 0;
      for (int64_t j = 0; j < k; ++j) s += std::exp(row[j] - top);
      loss[i] = top + std::log(s) - row[y[i]];
    }
  }
  return loss;
}

Tensor random_start(const Tensor& x, AttackNorm norm, double eps, double lo, double hi, Generator& gen) {
  Tensor delta = norm == AttackNorm::Linf
                     ? gen.uniform(x.shape(), -eps, eps, x.dtype())
                     : mul(ascent_direction(gen.normal(x.shape(), 0, 1, x.dtype()), AttackNorm::L2), eps);
  return clamp(add(x, delta), lo, hi);
}

AttackResult apgd(Module& model, const Tensor& x, const Tensor& labels, const ApgdOptions& o,
                  const Tensor& start) {
  // x [N, ...], labels [N], start [N, ...] -> the fooling iterate of each example that was fooled
  check_batch(x, labels, "apgd");
  SNN_CHECK(start.defined() && start.shape() == x.shape(), "apgd: expected a start of shape ",
            shape_str(x.shape()), ", got ", start.defined() ? shape_str(start.shape()) : "undefined");
  SNN_CHECK(o.eps >= 0 && o.iterations >= 0 && o.momentum > 0 && o.momentum <= 1 && o.rho > 0,
            "apgd: need eps >= 0 (got ", o.eps, "), iterations >= 0 (got ", o.iterations,
            "), momentum in (0, 1] and rho > 0");
  const int64_t n = x.size(0);
  AttackResult r;
  r.adversarial = x.clone();
  r.fooled.assign(n, false);
  // Host state per example, indexed by the example's row in x.
  std::vector<double> eta(n, 2.0 * o.eps), best(n), best_at_check(n), last(n);
  std::vector<int64_t> increases(n, 0);
  std::vector<bool> reduced_at_check(n, true);
  // Tensors hold only the examples still unbroken: `active` maps their rows to rows of x.
  std::vector<int64_t> active(n);
  for (int64_t i = 0; i < n; ++i) active[i] = i;
  Tensor xa = x, ya = labels, cur = project(x, start, o.norm, o.eps, o.lo, o.hi), prev, best_x, g, best_g;

  // The loss and its gradient at `at`; records the rows that `at` misclassifies.
  auto evaluate = [&](const Tensor& at) {
    auto [grad, logits] = input_gradient(model, at, ya, o.loss);
    g = grad;
    const std::vector<bool> hit = misclassified(logits, ya, Tensor());
    for (size_t i = 0; i < active.size(); ++i)
      if (hit[i]) {
        r.fooled[active[i]] = true;
        Tensor d = r.adversarial.select(0, active[i]);
        d.copy_(at.select(0, static_cast<int64_t>(i)));
      }
    return per_example_attack_loss(logits, ya, o.loss);
  };
  // Drops the rows fooled so far (early exit); false when none are left.
  auto compact = [&]() {
    std::vector<int64_t> keep;
    for (size_t i = 0; i < active.size(); ++i)
      if (!r.fooled[active[i]]) keep.push_back(static_cast<int64_t>(i));
    if (keep.size() == active.size()) return true;
    if (keep.empty()) return false;
    for (Tensor* t : {&xa, &ya, &cur, &prev, &best_x, &g, &best_g}) *t = take_rows(*t, keep);
    std::vector<int64_t> next;
    for (int64_t i : keep) next.push_back(active[i]);
    active = next;
    return true;
  };
  auto on_active = [&](const std::vector<double>& by_row) {  // host values of the active rows
    std::vector<double> v;
    for (int64_t i : active) v.push_back(by_row[i]);
    return v;
  };

  const std::vector<double> first = evaluate(cur);
  for (size_t i = 0; i < active.size(); ++i) best[active[i]] = last[active[i]] = best_at_check[active[i]] = first[i];
  prev = cur;
  best_x = cur;
  best_g = g;
  // Checkpoints after 22 % of the budget, then intervals shrinking by 3 % to at least 6 %.
  int64_t interval = std::max(1, int(0.22 * o.iterations)), since_check = 0;
  const int64_t min_interval = std::max(1, int(0.06 * o.iterations)),
                shrink = std::max(1, int(0.03 * o.iterations));
  for (int it = 0; it < o.iterations && compact(); ++it) {
    const double a = it == 0 ? 1.0 : o.momentum;
    // z = project(cur + ascent_direction(g)·eta), next = project(cur + (z − cur)·a + (cur − prev)·(1 − a)),
    // each one fused pass per example (attack_kernels)
    const Tensor z = attack_kernels::step_and_project(xa, cur, g, on_active(eta), o.norm, o.eps, o.lo, o.hi);
    const Tensor next = attack_kernels::momentum_and_project(xa, cur, z, prev, a, o.norm, o.eps, o.lo, o.hi);
    prev = cur;
    cur = next;
    const std::vector<double> loss = evaluate(cur);
    std::vector<bool> improved(active.size());
    for (size_t i = 0; i < active.size(); ++i) {
      const int64_t e = active[i];
      if (loss[i] > last[e]) ++increases[e];
      last[e] = loss[i];
      improved[i] = loss[i] > best[e];
      if (improved[i]) best[e] = loss[i];
    }
    best_x = choose_rows(improved, cur, best_x);
    best_g = choose_rows(improved, g, best_g);
    if (++since_check < interval) continue;
    // Checkpoint: halve the step (and restart from the best point) where the loss oscillated or
    // where the previous checkpoint did not halve and the best loss has not improved since.
    std::vector<bool> halve(active.size());
    for (size_t i = 0; i < active.size(); ++i) {
      const int64_t e = active[i];
      const bool oscillating = double(increases[e]) <= o.rho * double(interval);
      const bool stalled = !reduced_at_check[e] && best_at_check[e] >= best[e];
      halve[i] = oscillating || stalled;
      reduced_at_check[e] = halve[i];
      best_at_check[e] = best[e];
      increases[e] = 0;
      if (halve[i]) eta[e] /= 2;
    }
    cur = choose_rows(halve, best_x, cur);
    g = choose_rows(halve, best_g, g);
    since_check = 0;
    interval = std::max(min_interval, interval - shrink);
  }
  return r;
}

MinNormResult minimum_norm_attack(Module& model, const Tensor& x, const Tensor& labels,
                                  const MinNormOptions& o) {
  // x [N, ...], labels [N] -> the smallest misclassified iterate per example and its norm
  check_batch(x, labels, "minimum_norm_attack");
  SNN_CHECK(o.steps >= 1 && o.step_init > 0 && o.gamma_init > 0 && o.gamma_final > 0 && o.gamma_init < 1,
            "minimum_norm_attack: need steps >= 1 (got ", o.steps, "), step_init > 0 and 0 < gamma < 1");
  const int64_t n = x.size(0);
  const double p = o.norm == AttackNorm::L2 ? 2.0 : INFINITY, dual = o.norm == AttackNorm::L2 ? 2.0 : 1.0;
  MinNormResult r;
  r.adversarial = x.clone();
  r.norm.assign(n, INFINITY);
  // the largest distance the pixel range allows: no radius beyond it is needed
  const std::vector<double> worst = row_p_norms(maximum(sub(x, o.lo), sub(Tensor::scalar(o.hi, x.dtype()), x)), p);
  std::vector<double> radius(n, INFINITY);
  std::vector<bool> found(n, false);
  Tensor delta = Tensor::zeros(x.shape(), x.dtype());
  for (int k = 0; k <= o.steps; ++k) {
    const Tensor at = add(x, delta);
    auto [g, logits] = input_gradient(model, at, labels, AttackLoss::Margin);
    const std::vector<bool> hit = misclassified(logits, labels, Tensor());
    const std::vector<double> d = row_p_norms(delta, p);
    for (int64_t i = 0; i < n; ++i)
      if (hit[i] && d[i] < r.norm[i]) {
        r.norm[i] = d[i];
        copy_example(r.adversarial, at, i);
      }
    if (k == o.steps) break;  // the last iterate is only checked
    const double cosine = (1 + std::cos(M_PI * k / o.steps)) / 2;
    const double alpha = o.step_init / 100 + (o.step_init - o.step_init / 100) * cosine;
    const double gamma = o.gamma_final + (o.gamma_init - o.gamma_final) * cosine;
    const std::vector<double> loss = per_example_attack_loss(logits, labels, AttackLoss::Margin);
    const std::vector<double> g_l2 = row_p_norms(g, 2.0);
    const std::vector<double> g_dual = dual == 2.0 ? g_l2 : row_p_norms(g, dual);  // l2 is its own dual
    std::vector<double> step(n);
    for (int64_t i = 0; i < n; ++i) {
      if (hit[i]) radius[i] = std::min(radius[i] * (1 - gamma), r.norm[i]);
      else if (found[i]) radius[i] *= 1 + gamma;
      // before the first success: just past the linear estimate of the boundary (landing exactly on
      // it, as a linear model would, never crosses it)
      else radius[i] = d[i] + (1 + gamma) * std::abs(loss[i]) / std::max(g_dual[i], 1e-12);
      found[i] = found[i] || hit[i];
      radius[i] = std::min(radius[i], worst[i]);
      step[i] = alpha / std::max(g_l2[i], 1e-12);
    }
    delta = add(delta, mul(g, per_example(step, g)));  // ascent on the margin
    const Tensor rad = per_example(radius, delta);
    if (o.norm == AttackNorm::Linf) {
      delta = maximum(minimum(delta, rad), neg(rad));
    } else {
      const Tensor norms = per_example(row_p_norms(delta, 2.0), delta);
      delta = mul(delta, minimum(Tensor::scalar(1.0, delta.dtype()), div(rad, add(norms, 1e-12))));
    }
    delta = sub(clamp(add(x, delta), o.lo, o.hi), x);
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
