// robust/certificates.cpp — margins, certified radii and accuracy; empirical Lipschitz lower bounds
// (chapter 7).
#include "robust/certificates.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "robust/attacks.h"

namespace stablenn {

namespace {

void check_logits(const Tensor& logits, const char* op) {
  SNN_CHECK(logits.defined() && logits.dim() == 2 && logits.size(1) >= 2, op,
            ": expected logits [N, K] with K >= 2, got ",
            logits.defined() ? shape_str(logits.shape()) : std::string("an undefined tensor"));
}

void check_lipschitz(double lipschitz, const char* op) {
  SNN_CHECK(lipschitz > 0 && std::isfinite(lipschitz), op,
            ": the Lipschitz bound must be positive and finite, got ", lipschitz);
}

// Per-row ℓ2 norms of t [P, ...].
std::vector<double> row_norms(const Tensor& t) {
  const Tensor flat = t.reshape({t.size(0), -1}).to(DType::Float64).contiguous();
  const int64_t cols = flat.size(1);
  std::vector<double> out(flat.size(0));
  const double* p = flat.data<double>();
  for (int64_t r = 0; r < flat.size(0); ++r) {
    double s = 0;
    for (int64_t c = 0; c < cols; ++c) s += p[r * cols + c] * p[r * cols + c];
    out[r] = std::sqrt(s);
  }
  return out;
}

// ‖f(x) − f(x + δ)‖/‖δ‖ per row, without recording.
std::vector<double> ratios(Module& model, const Tensor& x, const Tensor& delta) {
  NoGrad no_grad;
  const Tensor both = concat(std::vector<Tensor>{x, add(x, delta)}, 0);
  const Tensor f = model(Var(both)).value();
  const int64_t p = x.size(0);
  const std::vector<double> num = row_norms(sub(f.narrow(0, 0, p), f.narrow(0, p, p)));
  const std::vector<double> den = row_norms(delta);
  std::vector<double> r(p);
  for (int64_t i = 0; i < p; ++i) r[i] = den[i] > 0 ? num[i] / den[i] : 0.0;
  return r;
}

// Restores a module's training mode when leaving scope.
class ModeGuard {
 public:
  explicit ModeGuard(Module& m) : module_(m), was_training_(m.training()) { m.eval(); }
  ~ModeGuard() { module_.train(was_training_); }
  ModeGuard(const ModeGuard&) = delete;
  ModeGuard& operator=(const ModeGuard&) = delete;

 private:
  Module& module_;
  bool was_training_;
};

}  // namespace

std::vector<double> logit_margins(const Tensor& logits) {
  // logits: [N, K] -> N margins
  check_logits(logits, "logit_margins");
  const Tensor z = logits.to(DType::Float64).contiguous();
  const int64_t n = z.size(0), k = z.size(1);
  const double* p = z.data<double>();
  std::vector<double> m(n);
  for (int64_t i = 0; i < n; ++i) {
    double first = -INFINITY, second = -INFINITY;
    for (int64_t j = 0; j < k; ++j) {
      const double v = p[i * k + j];
      if (v > first) second = first, first = v;
      else if (v > second) second = v;
    }
    m[i] = first - second;
  }
  return m;
}

std::vector<double> certified_radii(const Tensor& logits, double lipschitz) {
  check_lipschitz(lipschitz, "certified_radii");
  std::vector<double> r = logit_margins(logits);
  for (double& v : r) v /= std::sqrt(2.0) * lipschitz;
  return r;
}

std::vector<double> certified_accuracy_curve(const Tensor& logits, const Tensor& labels,
                                             double lipschitz, const std::vector<double>& epsilons) {
  check_logits(logits, "certified_accuracy");
  check_lipschitz(lipschitz, "certified_accuracy");
  SNN_CHECK(labels.defined() && labels.dtype() == DType::Int64 && labels.dim() == 1 &&
                labels.size(0) == logits.size(0),
            "certified_accuracy: expected labels [", logits.size(0), "] Int64, got ",
            labels.defined() ? shape_str(labels.shape()) + " " + dtype_name(labels.dtype())
                             : std::string("an undefined tensor"));
  const std::vector<double> margins = logit_margins(logits);
  const std::vector<int64_t> predicted = argmax(logits, 1).to_int64();
  const std::vector<int64_t> y = labels.to_int64();
  std::vector<double> out;
  for (double eps : epsilons) {
    SNN_CHECK(eps >= 0, "certified_accuracy: epsilon must be >= 0, got ", eps);
    int64_t certified = 0;
    for (size_t i = 0; i < y.size(); ++i)
      if (predicted[i] == y[i] && margins[i] > std::sqrt(2.0) * lipschitz * eps) ++certified;
    out.push_back(y.empty() ? 0.0 : double(certified) / double(y.size()));
  }
  return out;
}

double certified_accuracy(const Tensor& logits, const Tensor& labels, double lipschitz,
                          double epsilon) {
  return certified_accuracy_curve(logits, labels, lipschitz, {epsilon})[0];
}

EmpiricalLipschitzResult empirical_lipschitz(Module& model, const Tensor& inputs,
                                             const EmpiricalLipschitzOptions& options) {
  // inputs: [N, ...] -> lower bounds of Lip(model)
  SNN_CHECK(inputs.defined() && inputs.dim() >= 2 && inputs.size(0) >= 1 && is_floating(inputs.dtype()),
            "empirical_lipschitz: expected float inputs [N, ...], got ",
            inputs.defined() ? shape_str(inputs.shape()) : std::string("an undefined tensor"));
  SNN_CHECK(options.random_pairs >= 1 && options.min_distance > 0 &&
                options.max_distance >= options.min_distance && options.ascent_pairs >= 0 &&
                options.ascent_steps >= 0 && options.ascent_rate > 0,
            "empirical_lipschitz: invalid options (need random_pairs >= 1, 0 < min_distance <= ",
            "max_distance, ascent_rate > 0)");
  ModeGuard guard(model);
  Generator g(options.seed);
  const int64_t n = inputs.size(0), p = options.random_pairs;
  Shape sample = inputs.shape();
  sample.erase(sample.begin());

  // ---- random pairs: x + δ with random δ of log-uniform length, and pairs of two inputs ----
  std::vector<int64_t> first(p), second(p);
  for (int64_t i = 0; i < p; ++i) first[i] = g.randint(0, n), second[i] = g.randint(0, n);
  const Tensor x = take_rows(inputs, first);
  Tensor delta = g.normal(x.shape(), 0.0, 1.0, inputs.dtype());
  {
    const std::vector<double> norms = row_norms(delta);
    std::vector<double> scale(p);
    const double lo = std::log(options.min_distance), hi = std::log(options.max_distance);
    for (int64_t i = 0; i < p; ++i) scale[i] = std::exp(lo + (hi - lo) * g.uniform_scalar()) / norms[i];
    Shape scale_shape(x.dim(), 1);
    scale_shape[0] = p;
    delta = mul(delta, Tensor::from_vector(scale, scale_shape, inputs.dtype()));
    if (n >= 2) {  // the second half: the difference of two inputs
      const Tensor others = take_rows(inputs, second);
      for (int64_t i = p / 2; i < p; ++i)
        if (first[i] != second[i]) delta.select(0, i).copy_(sub(others.select(0, i), x.select(0, i)));
    }
  }
  std::vector<double> r;
  for (int64_t start = 0; start < p; start += 256) {
    const int64_t len = std::min<int64_t>(256, p - start);
    const std::vector<double> part = ratios(model, x.narrow(0, start, len), delta.narrow(0, start, len));
    r.insert(r.end(), part.begin(), part.end());
  }
  std::vector<int64_t> order(p);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return r[a] > r[b]; });
  EmpiricalLipschitzResult result;
  result.random_pairs = r[order[0]];
  result.x = x.narrow(0, order[0], 1).clone();
  result.y = add(result.x, delta.narrow(0, order[0], 1));

  // ---- gradient ascent on the ratio, from the best random pairs ----
  const int64_t q = std::min(options.ascent_pairs, p);
  if (q == 0 || options.ascent_steps == 0) return result;
  std::vector<int64_t> best(order.begin(), order.begin() + q);
  Tensor ax = take_rows(x, best), ad = take_rows(delta, best);
  Shape row_shape(x.dim(), 1);
  row_shape[0] = q;
  for (int64_t step = 0; step < options.ascent_steps; ++step) {
    Var vx(ax, true), vd(ad, true);
    const Var f = model(concat(std::vector<Var>{vx, add(vx, vd)}, 0));
    const Var diff = reshape(sub(narrow(f, 0, 0, q), narrow(f, 0, q, q)), {q, -1});
    const double tiny = inputs.dtype() == DType::Float64 ? 1e-200 : 1e-30;
    const Var num = sqrt(add(sum(square(diff), {1}), tiny));
    const Var den = sqrt(add(sum(square(reshape(vd, {q, -1})), {1}), tiny));
    const Var ratio = div(num, den);
    const std::vector<double> values = ratio.value().to_vector();
    for (int64_t i = 0; i < q; ++i) {
      if (values[i] > result.ascent) {
        result.ascent = values[i];
        if (values[i] > result.random_pairs) {
          result.x = ax.narrow(0, i, 1).clone();
          result.y = add(result.x, ad.narrow(0, i, 1));
        }
      }
    }
    const std::vector<Var> grads = grad({sum(ratio)}, {vx, vd});
    // normalised ascent steps, per pair: x moves by rate·max_distance, δ by rate·‖δ‖
    const std::vector<double> gx_norm = row_norms(grads[0].value());
    const std::vector<double> gd_norm = row_norms(grads[1].value());
    const std::vector<double> d_norm = row_norms(ad);
    std::vector<double> sx(q), sd(q);
    for (int64_t i = 0; i < q; ++i) {
      const bool ok_x = std::isfinite(gx_norm[i]) && gx_norm[i] > 0;
      const bool ok_d = std::isfinite(gd_norm[i]) && gd_norm[i] > 0;
      sx[i] = ok_x ? options.ascent_rate * options.max_distance / gx_norm[i] : 0.0;
      sd[i] = ok_d ? options.ascent_rate * d_norm[i] / gd_norm[i] : 0.0;
    }
    const Tensor gx = where(ne(grads[0].value(), grads[0].value()), Tensor::zeros({}, ax.dtype()), grads[0].value());
    const Tensor gd = where(ne(grads[1].value(), grads[1].value()), Tensor::zeros({}, ad.dtype()), grads[1].value());
    ax = add(ax, mul(gx, Tensor::from_vector(sx, row_shape, ax.dtype())));
    ad = add(ad, mul(gd, Tensor::from_vector(sd, row_shape, ad.dtype())));
    // keep δ away from 0, where the ratio is a derivative lost in rounding
    const std::vector<double> new_norm = row_norms(ad);
    std::vector<double> fix(q, 1.0);
    for (int64_t i = 0; i < q; ++i)
      if (new_norm[i] < options.min_distance * 1e-2 && new_norm[i] > 0)
        fix[i] = options.min_distance * 1e-2 / new_norm[i];
    ad = mul(ad, Tensor::from_vector(fix, row_shape, ad.dtype()));
  }
  return result;
}

}  // namespace stablenn
