// tests/ch10_contractivity_test.cpp — chapter 10: the slope-restricted activation, the μ₂ power
// iteration, the weight-based condition (and the Toeplitz sums behind it), both regularisers'
// gradients, and the contraction of Euler trajectories.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "autodiff/gradcheck.h"
#include "core/random.h"
#include "layers/stable/contractivity.h"

using namespace stablenn;

namespace {

// λ_max of the symmetric part of a square matrix [n, n], by cyclic Jacobi rotations (exact to
// rounding; the test's independent reference).
double lambda_max_sym(const Tensor& j) {
  const int64_t n = j.size(0);
  std::vector<double> a(n * n);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < n; ++c) a[r * n + c] = 0.5 * (j.at({r, c}) + j.at({c, r}));
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) off += a[p * n + q] * a[p * n + q];
    if (off < 1e-30) break;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        if (std::abs(a[p * n + q]) < 1e-300) continue;
        const double theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q]);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < n; ++k) {  // columns p, q
          const double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (int64_t k = 0; k < n; ++k) {  // rows p, q
          const double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
  }
  double best = -INFINITY;
  for (int64_t i = 0; i < n; ++i) best = std::max(best, a[i * n + i]);
  return best;
}

// The Jacobian [numel, numel] of a field at one state x [1, ...] (float64).
Tensor field_jacobian(const std::function<Var(const Var&)>& f, const Tensor& x) {
  const std::vector<Tensor> j = jacobian([&](const std::vector<Var>& v) { return f(v[0]); }, {x});
  return j[0];
}

// A dense field σ(x Wᵀ + β) on states [N, n].
struct DenseField {
  Var w, b;
  Activation sigma = Activation::slope_restricted(0.5);
  Var operator()(const Var& x) const { return sigma.apply(linear(x, w, b)); }
};

DenseField random_dense_field(int64_t n, uint64_t seed, double scale = 1.0) {
  Generator g(seed);
  DenseField f;
  f.w = Var(g.normal({n, n}, 0.0, scale / std::sqrt(double(n)), DType::Float64), true);
  f.b = Var(g.normal({n}, 0.0, 0.5, DType::Float64), true);
  return f;
}

// Lowers the diagonal of W so that the weight condition certifies rate rho (the dense twin of
// enforce_weight_condition).
void enforce_dense(DenseField& f, double rho) {
  NoGrad no_grad;
  const DominanceSums s = dense_dominance(f.w);
  const SlopeBounds sb = f.sigma.slopes();
  Tensor w = f.w.value().clone();
  for (int64_t i = 0; i < w.size(0); ++i) {
    const double target = (-rho - 1e-6 - 0.5 * sb.max * s.col_off.value().at({i})) / sb.min;
    const double d = target - 0.5 * s.row_off.value().at({i});
    if (w.at({i, i}) > d) w.data<double>()[i * w.size(0) + i] = d;
  }
  f.w.mutable_value().copy_(w);
}

}  // namespace

TEST(Ch10Activation, SlopeRestrictedValuesSlopesAndGradients) {
  const Activation s = Activation::slope_restricted(0.25);
  EXPECT_DOUBLE_EQ(s.slopes().min, 0.25);
  EXPECT_DOUBLE_EQ(s.slopes().max, 1.0);
  const Tensor x = Tensor::from_vector({-30, -1, 0, 2, 30}, {5}, DType::Float64);
  const std::vector<double> y = s.apply(Var(x)).value().to_vector();
  const std::vector<double> xs = x.to_vector();
  for (size_t i = 0; i < xs.size(); ++i)
    EXPECT_NEAR(y[i], 0.25 * xs[i] + 0.75 * std::log1p(std::exp(xs[i])), 1e-12) << "x = " << xs[i];
  // Difference quotients stay inside the slope bounds, and reach near both ends.
  Generator g(3);
  const Tensor u = g.normal({2000}, 0.0, 6.0, DType::Float64);
  const Tensor v = g.normal({2000}, 0.0, 6.0, DType::Float64);
  const std::vector<double> su = s.apply(Var(u)).value().to_vector(), sv = s.apply(Var(v)).value().to_vector();
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < 2000; ++i) {
    const double q = (su[i] - sv[i]) / (u.at({i}) - v.at({i}));
    lo = std::min(lo, q);
    hi = std::max(hi, q);
  }
  EXPECT_GE(lo, 0.25 - 1e-12);
  EXPECT_LE(hi, 1.0 + 1e-12);
  EXPECT_LT(lo, 0.3);
  EXPECT_GT(hi, 0.95);
  const VarFunction f = [&](const std::vector<Var>& in) { return s.apply(in[0]); };
  EXPECT_TRUE(gradcheck(f, {g.normal({3, 4}, 0.0, 3.0, DType::Float64)}));
  EXPECT_TRUE(gradgradcheck(f, {g.normal({3, 4}, 0.0, 3.0, DType::Float64)}));
  EXPECT_THROW(Activation::slope_restricted(1.0), Error);
  EXPECT_THROW(Activation::slope_restricted(0.0), Error);
}

// The fused float32 kernels (one pass each) against the composed reference ops in float64.
TEST(Ch10Activation, FusedFloat32KernelsMatchTheComposedReference) {
  Generator g(4);
  const Tensor x = g.normal({4, 3, 5, 7}, 0.0, 8.0, DType::Float64);
  const Tensor grad = g.normal({4, 3, 5, 7}, 0.0, 1.0, DType::Float64);
  const double alpha = 0.5;
  const Tensor value_ref = add(mul(x, alpha), mul(softplus(x), 1 - alpha));
  const Tensor gate_ref = mul(grad, add(mul(sigmoid(x), 1 - alpha), alpha));
  const Tensor x32 = x.to(DType::Float32), grad32 = grad.to(DType::Float32);
  const Tensor value = slope_restricted(x32, alpha).to(DType::Float64);
  const Tensor gate = slope_restricted_gate(grad32, x32, alpha).to(DType::Float64);
  // A few float32 ulps of values up to ~30; the gate also broadcasts a [C, 1, 1] operand.
  EXPECT_LT(max_abs_diff(value, value_ref), 1e-5);
  EXPECT_LT(max_abs_diff(gate, gate_ref), 1e-6);
  EXPECT_LT(max_abs_diff(slope_restricted(x, alpha), value_ref), 1e-13);
  const Tensor column = g.normal({3, 1, 1}, 0.0, 1.0, DType::Float64);
  EXPECT_LT(max_abs_diff(slope_restricted_gate(x, column, alpha), mul(x, add(mul(sigmoid(column), 1 - alpha), alpha))),
            1e-14);
  EXPECT_THROW(slope_restricted_gate(x32, x, alpha), Error);  // mixed dtypes
}

TEST(Ch10LogNorm, PowerIterationMatchesTheExactEigenvalue) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    DenseField f = random_dense_field(6, seed, 2.0);
    Generator g(seed + 10);
    const Tensor x = g.normal({4, 6}, 0.0, 1.0, DType::Float64);
    const auto fn = [&](const Var& s) { return f(s); };
    LogNormOptions o;
    o.method = LogNormOptions::Method::kPower;
    o.iterations = 400;
    o.shift = 2.0 * std::sqrt(sum(square(f.w.value())).item());  // > ‖W‖_F >= ‖J‖₂
    const std::vector<double> mu = log_norm2_estimate(fn, x, o).value().to_vector();
    o.iterations = 3;
    const std::vector<double> rough = log_norm2_estimate(fn, x, o).value().to_vector();
    ASSERT_EQ(mu.size(), 4u);
    for (int64_t n = 0; n < 4; ++n) {
      const double exact = lambda_max_sym(field_jacobian(fn, x.narrow(0, n, 1)));
      EXPECT_NEAR(mu[n], exact, 1e-6 * (1 + std::abs(exact))) << "seed " << seed << ", sample " << n;
      // A Rayleigh quotient never exceeds λ_max: few iterations under-estimate, never over.
      EXPECT_LE(rough[n], exact + 1e-9);
    }
  }
}

TEST(Ch10LogNorm, ConvolutionalFieldSamplewise) {
  Generator g(5);
  ConvContractiveField field(2, 3, Activation::slope_restricted(0.5), g, DType::Float64);
  {
    NoGrad no_grad;  // larger than the initial weights: a wider spread of eigenvalues
    field.weight.mutable_value().copy_(g.normal({2, 2, 3, 3}, 0.0, 0.5, DType::Float64));
  }
  const Tensor x = g.normal({3, 2, 4, 4}, 0.0, 1.0, DType::Float64);
  const auto fn = [&](const Var& s) { return field.forward(s); };
  LogNormOptions power;
  power.method = LogNormOptions::Method::kPower;
  power.iterations = 5000;  // 32 eigenvalues close together: slow convergence, cheap at this size
  power.shift = field_norm_bound(field);
  const std::vector<double> mu = log_norm2_estimate(fn, x, power).value().to_vector();
  LogNormOptions lanczos;
  lanczos.iterations = 32;  // the dimension: the Krylov space is the whole space, T's spectrum S's
  const std::vector<double> mu_lanczos = log_norm2_estimate(fn, x, lanczos).value().to_vector();
  // At equal cost: k power iterates lie in the Krylov space of k + 1 Lanczos steps, whose top Ritz
  // value is the largest Rayleigh quotient there, so Lanczos(k + 1) >= power(k) for the same start.
  std::vector<std::vector<double>> power_k, lanczos_k;
  for (int k : {2, 4, 6}) {
    power.iterations = k;
    lanczos.iterations = k + 1;
    power_k.push_back(log_norm2_estimate(fn, x, power).value().to_vector());
    lanczos_k.push_back(log_norm2_estimate(fn, x, lanczos).value().to_vector());
  }
  for (int64_t n = 0; n < 3; ++n) {
    const Tensor j = field_jacobian(fn, x.narrow(0, n, 1));
    const double exact = lambda_max_sym(j);
    EXPECT_NEAR(mu[n], exact, 1e-5);
    EXPECT_LE(mu[n], exact + 1e-9);
    EXPECT_NEAR(mu_lanczos[n], exact, 1e-9);
    for (size_t i = 0; i < power_k.size(); ++i) {
      EXPECT_LE(lanczos_k[i][n], exact + 1e-9) << "sample " << n;
      EXPECT_GE(lanczos_k[i][n], power_k[i][n] - 1e-9) << "sample " << n << ", case " << i;
    }
  }
  power.iterations = 0;
  EXPECT_THROW(log_norm2_estimate(fn, x, power), Error);
}

// The convolution matrix on a 5x5 image, built column by column from conv2d, against the sums.
TEST(Ch10Toeplitz, RowAndColumnSumsMatchTheExplicitMatrix) {
  Generator g(7);
  const int64_t c = 3, k = 3, hw = 5, n = c * hw * hw;
  const Tensor kernel = g.normal({c, c, k, k}, 0.0, 1.0, DType::Float64);
  const Tensor m = field_jacobian([&](const Var& x) { return conv2d(x, Var(kernel), Var(), 1, 1); },
                                  Tensor::zeros({1, c, hw, hw}, DType::Float64));
  ASSERT_EQ(m.size(0), n);
  const DominanceSums s = conv_dominance(Var(kernel));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t ch = i / (hw * hw), y = (i / hw) % hw, x = i % hw;
    const bool interior = y > 0 && y < hw - 1 && x > 0 && x < hw - 1;
    double row = 0, col = 0;
    for (int64_t j = 0; j < n; ++j)
      if (j != i) {
        row += std::abs(m.at({i, j}));
        col += std::abs(m.at({j, i}));
      }
    EXPECT_DOUBLE_EQ(m.at({i, i}), kernel.at({ch, ch, 1, 1}));
    EXPECT_NEAR(m.at({i, i}), s.diagonal.value().at({ch}), 1e-12);
    if (interior) {
      EXPECT_NEAR(row, s.row_off.value().at({ch}), 1e-9) << "row " << i;
      EXPECT_NEAR(col, s.col_off.value().at({ch}), 1e-9) << "column " << i;
    } else {  // zero padding drops taps at the border
      EXPECT_LE(row, s.row_off.value().at({ch}) + 1e-9);
      EXPECT_LE(col, s.col_off.value().at({ch}) + 1e-9);
    }
  }
  EXPECT_THROW(conv_dominance(Var(Tensor::zeros({2, 3, 3, 3}))), Error);
}

TEST(Ch10WeightCondition, ImpliesTheLogNormBoundAtRandomStates) {
  const double rho = 0.3;
  // Dense: random weights violate the bound somewhere; after enforcing the condition every sampled
  // state has μ₂ <= −ρ.
  for (uint64_t seed : {11u, 12u}) {
    DenseField f = random_dense_field(8, seed, 2.0);
    const auto fn = [&](const Var& s) { return f(s); };
    Generator g(seed);
    double before = -INFINITY;
    for (int t = 0; t < 5; ++t)
      before = std::max(before, lambda_max_sym(field_jacobian(fn, g.normal({1, 8}, 0.0, 3.0, DType::Float64))));
    EXPECT_GT(before, -rho) << "the random weights should not already satisfy the bound";
    enforce_dense(f, rho);
    const Var gamma = weight_condition(dense_dominance(f.w), f.sigma.slopes());
    EXPECT_LE(amax(gamma.value()).item(), -rho);
    for (int t = 0; t < 20; ++t) {
      const Tensor x = g.normal({1, 8}, 0.0, t < 10 ? 1.0 : 10.0, DType::Float64);
      EXPECT_LE(lambda_max_sym(field_jacobian(fn, x)), -rho + 1e-9);
    }
  }
  // Convolutional.
  Generator g(21);
  ConvContractiveField field(3, 3, Activation::slope_restricted(0.5), g, DType::Float64);
  {
    NoGrad no_grad;  // an in-place change of a parameter, as an optimiser makes it
    field.weight.mutable_value().copy_(g.normal({3, 3, 3, 3}, 0.0, 0.5, DType::Float64));
  }
  EXPECT_GT(enforce_weight_condition(field, rho), 0.0);
  const Var gamma = weight_condition(conv_dominance(field.weight), field.sigma.slopes());
  EXPECT_LE(amax(gamma.value()).item(), -rho);
  EXPECT_EQ(enforce_weight_condition(field, rho), 0.0);  // already holds: nothing changes
  const auto fn = [&](const Var& s) { return field.forward(s); };
  for (int t = 0; t < 10; ++t)
    EXPECT_LE(lambda_max_sym(field_jacobian(fn, g.normal({1, 3, 4, 4}, 0.0, 3.0, DType::Float64))), -rho + 1e-9);
}

TEST(Ch10Regularisers, WeightPenaltyGradientMatchesFiniteDifferences) {
  Generator g(31);
  const Tensor k = g.normal({3, 3, 3, 3}, 0.0, 1.0, DType::Float64);
  const SlopeBounds sb{0.5, 1.0};
  const VarFunction conv = [&](const std::vector<Var>& in) {
    return weight_penalty(weight_condition(conv_dominance(in[0]), sb), 0.2);
  };
  ASSERT_GT(conv({Var(k)}).value().item(), 0.0);  // active, so the gradient is not trivially zero
  EXPECT_TRUE(gradcheck(conv, {k}));
  const VarFunction dense = [&](const std::vector<Var>& in) {
    return weight_penalty(weight_condition(dense_dominance(in[0]), sb), 0.2);
  };
  EXPECT_TRUE(gradcheck(dense, {g.normal({5, 5}, 0.0, 1.0, DType::Float64)}));
}

TEST(Ch10Regularisers, JacobianPenaltyGradientMatchesFiniteDifferences) {
  Generator g(41);
  const Tensor x = g.normal({2, 4}, 0.0, 1.0, DType::Float64);
  const Tensor b = g.normal({4}, 0.0, 0.5, DType::Float64);
  const Tensor w0 = g.normal({4, 4}, 0.0, 1.0, DType::Float64);
  const Activation sigma = Activation::slope_restricted(0.5);
  // Converged iterations (1000 power iterations; 4 Lanczos steps span the 4-dimensional space): the
  // Rayleigh quotient's gradient is then the eigenvalue's.
  for (const auto method : {LogNormOptions::Method::kPower, LogNormOptions::Method::kLanczos}) {
    LogNormOptions options;
    options.method = method;
    options.iterations = method == LogNormOptions::Method::kPower ? 1000 : 4;
    options.shift = 6.0;
    options.seed = 1;
    const VarFunction penalty = [&](const std::vector<Var>& in) {
      const auto fn = [&](const Var& s) { return sigma.apply(linear(s, in[0], in[1])); };
      return log_norm_penalty(log_norm2_estimate(fn, x, options), 0.5);
    };
    ASSERT_GT(penalty({Var(w0), Var(b)}).value().item(), 0.0);
    GradcheckOptions o;
    o.atol = 1e-6;
    o.rtol = 1e-4;
    EXPECT_TRUE(gradcheck(penalty, {w0, b}, o));
  }
}

TEST(Ch10Contraction, EulerTrajectoriesContractAtThePredictedRate) {
  const double rho = 0.5;
  Generator g(51);
  ConvContractiveField field(4, 3, Activation::slope_restricted(0.5), g, DType::Float64);
  {
    NoGrad no_grad;
    field.weight.mutable_value().copy_(g.normal({4, 4, 3, 3}, 0.0, 0.3, DType::Float64));
  }
  enforce_weight_condition(field, rho);
  const double l = field_norm_bound(field);
  const double h = rho / (l * l);  // inside the step condition h < 2ρ / L²
  const double q = std::sqrt(1 - 2 * h * rho + h * h * l * l);  // the predicted factor per step
  ASSERT_LT(q, 1.0);
  const int steps = 40;
  NoGrad no_grad;
  Var x(g.normal({6, 4, 6, 6}, 0.0, 1.0, DType::Float64)), y(g.normal({6, 4, 6, 6}, 0.0, 1.0, DType::Float64));
  const auto dist = [](const Var& a, const Var& b) {
    return sqrt(sum(square(a - b), {1, 2, 3})).value().to_vector();
  };
  const std::vector<double> d0 = dist(x, y);
  for (int k = 0; k < steps; ++k) {
    x = x + field.forward(x) * h;
    y = y + field.forward(y) * h;
  }
  const std::vector<double> d1 = dist(x, y);
  for (size_t n = 0; n < d0.size(); ++n) {
    EXPECT_LE(d1[n], std::pow(q, steps) * d0[n] * (1 + 1e-9)) << "pair " << n;
    // and the continuous-time rate: ‖x(t) − y(t)‖ <= e^{−ρt} ‖x(0) − y(0)‖ up to O(h)
    EXPECT_LE(d1[n], std::exp(-rho * h * steps * (1 - h * l * l / (2 * rho))) * d0[n] * (1 + 1e-9));
  }
}

TEST(Ch10Model, ShapesStatesAndGradients) {
  Generator g(61);
  ConvNodeConfig c;
  c.channels = 2;
  c.image_size = 8;
  c.steps = 3;
  ConvNodeClassifier model(c, g, DType::Float64);
  model.keep_states = true;
  const Tensor images = g.uniform({2, 1, 8, 8}, 0.0, 1.0, DType::Float64);
  const Var z = model(Var(images));
  EXPECT_EQ(z.shape(), (Shape{2, 10}));
  ASSERT_EQ(model.last_states.size(), 3u);
  EXPECT_EQ(model.last_states[0].shape(), (Shape{2, 2, 4, 4}));
  const std::vector<Tensor> traj = model.trajectory(images);
  ASSERT_EQ(traj.size(), 4u);
  EXPECT_NEAR(sum(abs(traj[1] - model.last_states[1])).item(), 0.0, 1e-12);
  // The whole classifier's gradient with respect to the field's kernel.
  const VarFunction f = [&](const std::vector<Var>& in) {
    const Var u = model.lift_state(Var(images));
    Var x = u;
    for (int k = 0; k < 3; ++k)
      x = x + model.field->sigma.apply(conv2d(x, in[0], model.field->bias, 1, 1) + u) * model.step_size();
    return sum(x);
  };
  EXPECT_TRUE(gradcheck(f, {g.normal({2, 2, 3, 3}, 0.0, 0.5, DType::Float64)}));
  ConvNodeConfig bad = c;
  bad.image_size = 10;
  EXPECT_THROW(ConvNodeClassifier(bad, g), Error);
}
