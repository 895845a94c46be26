// tests/ch09_hamiltonian_test.cpp — Hamiltonian blocks: the separable Verlet and symplectic Euler
// maps are symplectic (JᵀΩJ = Ω to 1e-10, Jacobian by autodiff in float64), the Haber–Ruthotto form
// preserves volume but is not symplectic, H-DNNs, and every block within its Lipschitz bound
// (chapter 9).
#include <gtest/gtest.h>

#include <cmath>

#include "layers/stable/hamiltonian_blocks.h"
#include "robust/certificates.h"

namespace stablenn {
namespace {

constexpr DType kF64 = DType::Float64;

// The Jacobian [2n, 2n] of a block at one sample x [1, ...].
Tensor block_jacobian(Module& block, const Tensor& x) {
  return jacobian([&](const std::vector<Var>& in) { return flatten(block(in[0])); }, {x})[0];
}

// Ω = [[0, I], [−I, 0]] of size 2n, for states ordered (first half, second half).
Tensor omega(int64_t n) {
  Tensor o = Tensor::zeros({2 * n, 2 * n}, kF64);
  for (int64_t i = 0; i < n; ++i) o.set({i, n + i}, 1.0), o.set({n + i, i}, -1.0);
  return o;
}

// ‖JᵀΩJ − Ω‖_max
double symplecticity_defect(const Tensor& j) {
  const int64_t n = j.size(0) / 2;
  const Tensor w = omega(n);
  return max_abs_diff(matmul_naive(matmul_naive(j.t(), w), j), w);
}

// Determinant by Gaussian elimination with partial pivoting.
double determinant(const Tensor& m) {
  const int64_t n = m.size(0);
  std::vector<double> a = m.to_vector();
  double det = 1;
  for (int64_t c = 0; c < n; ++c) {
    int64_t p = c;
    for (int64_t r = c + 1; r < n; ++r)
      if (std::abs(a[r * n + c]) > std::abs(a[p * n + c])) p = r;
    if (a[p * n + c] == 0) return 0;
    if (p != c) {
      for (int64_t k = 0; k < n; ++k) std::swap(a[p * n + k], a[c * n + k]);
      det = -det;
    }
    det *= a[c * n + c];
    for (int64_t r = c + 1; r < n; ++r) {
      const double f = a[r * n + c] / a[c * n + c];
      for (int64_t k = c; k < n; ++k) a[r * n + k] -= f * a[c * n + k];
    }
  }
  return det;
}

EmpiricalLipschitzOptions search(uint64_t seed) {
  EmpiricalLipschitzOptions o;
  o.random_pairs = 128;
  o.ascent_pairs = 8;
  o.ascent_steps = 60;
  o.seed = seed;
  return o;
}

TEST(Ch09Hamiltonian, SeparableVerletAndSymplecticEulerAreSymplectic) {
  Generator g(71);
  for (HamiltonianScheme scheme : {HamiltonianScheme::kStormerVerlet, HamiltonianScheme::kSymplecticEuler}) {
    for (bool conv : {false, true}) {
      HamiltonianOptions o;
      o.scheme = scheme;
      o.step = 0.4;
      o.steps = 3;
      const MapGeometry state = conv ? MapGeometry::convolution(1, 1, 3, 3) : MapGeometry::dense(3, 3);
      HamiltonianBlock block(state, o, g, kF64);
      {
        NoGrad no_grad;
        block.bias_y.copy_(g.normal(block.bias_y.shape(), 0, 1, kF64));
        block.bias_z.copy_(g.normal(block.bias_z.shape(), 0, 1, kF64));
      }
      Shape shape = state.sample_shape();
      shape[0] *= 2;
      shape.insert(shape.begin(), 1);
      const Tensor j = block_jacobian(block, g.normal(shape, 0, 1.5, kF64));
      EXPECT_LT(symplecticity_defect(j), 1e-10) << block.describe();
      EXPECT_NEAR(determinant(j), 1.0, 1e-10) << block.describe();
    }
  }
}

TEST(Ch09Hamiltonian, HaberRuthottoFormPreservesVolumeButIsNotSymplectic) {
  Generator g(72);
  HamiltonianOptions o;
  o.scheme = HamiltonianScheme::kHaberRuthottoVerlet;
  o.step = 0.5;
  o.steps = 2;
  HamiltonianBlock block(MapGeometry::dense(3, 3), o, g, kF64);
  {
    NoGrad no_grad;
    block.weight_y.mul_(3.0);
  }
  const Tensor j = block_jacobian(block, g.normal({1, 6}, 0, 1, kF64));
  EXPECT_NEAR(determinant(j), 1.0, 1e-10);  // every half-step is a shear
  EXPECT_GT(symplecticity_defect(j), 1e-3);  // σ outside K: diag(σ')Kᵀ is not symmetric
  // the formula, one step: z − hσ(Kᵀy + b₁), then y + hσ(Kz' + b₂)
  HamiltonianOptions one = o;
  one.steps = 1;
  HamiltonianBlock b1(MapGeometry::dense(2, 2), one, g, kF64);
  const Tensor x = g.normal({2, 4}, 0, 1, kF64);
  const Tensor y = x.narrow(1, 0, 2), z = x.narrow(1, 2, 2), K = b1.weight_y.value();
  const Tensor z1 = sub(z, mul(tanh(add(matmul_naive(y, K), b1.bias_y.value())), 0.5));
  const Tensor y1 = add(y, mul(tanh(add(matmul_naive(z1, K.t()), b1.bias_z.value())), 0.5));
  EXPECT_LT(max_abs_diff(b1(Var(x)).value(), concat(std::vector<Tensor>{y1, z1}, 1)), 1e-14);
}

TEST(Ch09Hamiltonian, SymplecticEulerHDNNIsSymplecticForwardEulerIsNot) {
  Generator g(73);
  HDNNOptions o;
  o.scheme = HDNNScheme::kSymplecticEuler;
  o.step = 0.3;
  o.steps = 2;
  HDNNBlock symplectic(MapGeometry::dense(4, 4), o, g, kF64);
  const Tensor x = g.normal({1, 4}, 0, 1, kF64);
  EXPECT_LT(symplecticity_defect(block_jacobian(symplectic, x)), 1e-10);
  HDNNOptions fe;
  fe.step = 0.3;
  fe.steps = 2;
  HDNNBlock forward(MapGeometry::dense(4, 4), fe, g, kF64);
  {
    NoGrad no_grad;
    forward.weight_k.mul_(3.0);
  }
  EXPECT_GT(symplecticity_defect(block_jacobian(forward, x)), 1e-4);
}

TEST(Ch09Hamiltonian, HDNNForwardEulerKeepsTheEnergyForSmallSteps) {
  // H(y) = Σ log cosh(Ky + b) is conserved by the exact flow ẏ = J∇H; forward Euler changes it by
  // O(h²) per step, so halving h quarters the change over one step.
  Generator g(74);
  HDNNOptions o;
  HDNNBlock block(MapGeometry::dense(4, 4), o, g, kF64);
  const Tensor y = g.normal({1, 4}, 0, 1, kF64), K = block.weight_k.value(), b = block.bias_k.value();
  double previous = 0;
  for (double h : {0.02, 0.01}) {
    block.options.step = h;
    const Tensor y1 = block(Var(y)).value();
    const Tensor pre0 = add(matmul_naive(y, K.t()), b), pre1 = add(matmul_naive(y1, K.t()), b);
    auto log_cosh = [](const Tensor& t) {
      double s = 0;
      for (double v : t.to_vector()) s += std::log(std::cosh(v));
      return s;
    };
    const double change = std::abs(log_cosh(pre1) - log_cosh(pre0));
    if (previous > 0) {
      EXPECT_NEAR(change / previous, 0.25, 0.05);
    }
    previous = change;
  }
}

TEST(Ch09Hamiltonian, EveryBlockWithinItsBound) {
  Generator g(75);
  int variant = 0;
  for (HamiltonianScheme scheme : {HamiltonianScheme::kHaberRuthottoVerlet, HamiltonianScheme::kStormerVerlet,
                                   HamiltonianScheme::kSymplecticEuler}) {
    HamiltonianOptions o;
    o.scheme = scheme;
    o.step = 0.3;
    o.steps = 2;
    o.activation = Activation::leaky_relu(0.2);
    HamiltonianBlock block(MapGeometry::dense(3, 3), o, g, kF64);
    const double bound = block.lipschitz_bound();
    EXPECT_GE(bound, 1.0);  // a symplectic map cannot be a contraction
    const EmpiricalLipschitzResult r = empirical_lipschitz(block, g.normal({16, 6}, 0, 1, kF64), search(40 + variant++));
    EXPECT_LE(r.best(), (1 + 1e-6) * bound) << block.describe();
    EXPECT_GE(r.best(), 1.0 - 1e-9) << block.describe();  // volume preserving: some direction stretches
  }
  for (HDNNScheme scheme : {HDNNScheme::kForwardEuler, HDNNScheme::kSymplecticEuler}) {
    for (bool conv : {false, true}) {
      HDNNOptions o;
      o.scheme = scheme;
      o.step = 0.3;
      const MapGeometry state = conv ? MapGeometry::convolution(2, 2, 3, 3) : MapGeometry::dense(4, 4);
      HDNNBlock block(state, o, g, kF64);
      Shape shape = state.sample_shape();
      shape.insert(shape.begin(), 12);
      const double bound = block.lipschitz_bound();
      const EmpiricalLipschitzResult r = empirical_lipschitz(block, g.normal(shape, 0, 1, kF64), search(50 + variant++));
      EXPECT_LE(r.best(), (1 + 1e-6) * bound) << block.describe();
    }
  }
}

TEST(Ch09Hamiltonian, BadInputsThrow) {
  HamiltonianBlock block(MapGeometry::dense(3, 3));
  EXPECT_THROW(block(Var(Tensor::zeros({2, 3}))), Error);  // needs both states: [N, 6]
  HDNNOptions o;
  o.scheme = HDNNScheme::kSymplecticEuler;
  EXPECT_THROW(HDNNBlock(MapGeometry::dense(3, 3), o), Error);  // odd width
}

}  // namespace
}  // namespace stablenn
