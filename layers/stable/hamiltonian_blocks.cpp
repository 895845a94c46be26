// layers/stable/hamiltonian_blocks.cpp — two-state Verlet networks and H-DNNs (chapter 9).
#include "layers/stable/hamiltonian_blocks.h"

#include <cmath>

#include "layers/init.h"
#include "layers/stable/spectral_norm.h"
#include "ode/state_var.h"
#include "ode/symplectic.h"

namespace stablenn {

namespace {

// The bound of a shear with step·Lipschitz = t: the norm of [[1, 0], [t, 1]].
double shear_bound(double t) { return 0.5 * (t + std::sqrt(t * t + 4.0)); }

void check_state_input(const Var& x, const Shape& one_state, int64_t states, const std::string& who) {
  Shape expected = one_state;
  expected[0] *= states;
  bool ok = x.dim() == static_cast<int64_t>(expected.size()) + 1;
  for (size_t i = 0; ok && i < expected.size(); ++i) ok = x.size(i + 1) == expected[i];
  SNN_CHECK(ok, who, ": expected input [N, ", shape_str(expected).substr(1), " (the states stacked along axis 1), got ",
            shape_str(x.shape()));
}

Var init_weight(const MapGeometry& g, Generator& gen, DType dtype) {
  return Var(kaiming_uniform(g.weight_shape(), gen, std::sqrt(5.0), dtype));
}

}  // namespace

const char* hamiltonian_scheme_name(HamiltonianScheme scheme) {
  switch (scheme) {
    case HamiltonianScheme::kHaberRuthottoVerlet: return "Haber-Ruthotto Verlet";
    case HamiltonianScheme::kStormerVerlet: return "Stormer-Verlet";
    case HamiltonianScheme::kSymplecticEuler: return "symplectic Euler";
  }
  return "?";
}

// ---- HamiltonianBlock ----

HamiltonianBlock::HamiltonianBlock(const MapGeometry& state, HamiltonianOptions options_, Generator& g,
                                   DType dtype)
    : geometry(state), options(std::move(options_)) {
  SNN_CHECK(geometry.in == geometry.out, "HamiltonianBlock: the state map must be square, got ", geometry.str());
  SNN_CHECK(options.step > 0 && options.steps >= 1, "HamiltonianBlock: need h > 0 and steps >= 1");
  weight_y = register_parameter("weight_y", init_weight(geometry, g, dtype).value());
  if (options.bias) bias_y = register_parameter("bias_y", Tensor::zeros({geometry.out}, dtype));
  if (options.scheme != HamiltonianScheme::kHaberRuthottoVerlet)
    weight_z = register_parameter("weight_z", init_weight(geometry, g, dtype).value());
  if (options.bias) bias_z = register_parameter("bias_z", Tensor::zeros({geometry.out}, dtype));
}

LinearOperator HamiltonianBlock::op_z() const {
  return LinearOperator::from_geometry(geometry, weight_z.defined() ? weight_z : weight_y);
}

Var HamiltonianBlock::forward(const Var& x) {
  // x: [N, 2d] or [N, 2C, H, W] -> same
  check_state_input(x, geometry.sample_shape(), 2, describe());
  const int64_t c = geometry.in;
  Var y = narrow(x, 1, 0, c), z = narrow(x, 1, c, c);
  const LinearOperator Ky = op_y(), Kz = op_z();
  const Activation& act = options.activation;
  const double h = options.step;
  if (options.scheme == HamiltonianScheme::kHaberRuthottoVerlet) {
    for (int64_t k = 0; k < options.steps; ++k) {
      // σ(Kᵀy + b₁): Kᵀ is the adjoint of the state map (plus bias)
      Var pre = Ky.adjoint(y);
      if (bias_y.defined()) pre = geometry.conv ? add(pre, reshape(bias_y, {1, c, 1, 1})) : add(pre, bias_y);
      z = sub(z, mul(act.apply(pre), h));
      y = add(y, mul(act.apply(Ky.apply(z, bias_z)), h));
    }
    return concat(std::vector<Var>{y, z}, 1);
  }
  // Separable H(y, z) = V(y) + T(z): q = y, p = z.
  SeparableHamiltonian<Var> system;
  system.dH_dq = [&](double, const Var& q) { return Ky.adjoint(act.apply(Ky.apply(q, bias_y))); };  // ∇V
  system.dH_dp = [&](double, const Var& p) { return Kz.adjoint(act.apply(Kz.apply(p, bias_z))); };  // ∇T
  PhaseState<Var> state{y, z};
  for (int64_t k = 0; k < options.steps; ++k)
    state = options.scheme == HamiltonianScheme::kStormerVerlet ? stormer_verlet_step(system, 0.0, state, h)
                                                                : symplectic_euler_step(system, 0.0, state, h);
  return concat(std::vector<Var>{state.q, state.p}, 1);
}

std::string HamiltonianBlock::describe() const {
  return std::string("Hamiltonian(") + hamiltonian_scheme_name(options.scheme) + ", 2 x " + geometry.str() +
         ", h " + std::to_string(options.step).substr(0, 5) + " x " + std::to_string(options.steps) + ")";
}

double HamiltonianBlock::lipschitz_bound() {
  const double lip = options.activation.lipschitz(), h = options.step;
  const double ny = spectral_norm_upper_bound(op_y()), nz = spectral_norm_upper_bound(op_z());
  double per_step;
  switch (options.scheme) {
    case HamiltonianScheme::kHaberRuthottoVerlet:
      per_step = shear_bound(h * lip * ny) * shear_bound(h * lip * ny);
      break;
    case HamiltonianScheme::kStormerVerlet:
      per_step = shear_bound(0.5 * h * lip * ny * ny) * shear_bound(h * lip * nz * nz) *
                 shear_bound(0.5 * h * lip * ny * ny);
      break;
    default:
      per_step = shear_bound(h * lip * ny * ny) * shear_bound(h * lip * nz * nz);
  }
  return std::pow(per_step, double(options.steps));
}

// ---- HDNNBlock ----

HDNNBlock::HDNNBlock(const MapGeometry& state, HDNNOptions options_, Generator& g, DType dtype)
    : geometry(state), options(std::move(options_)) {
  SNN_CHECK(geometry.in == geometry.out, "HDNNBlock: K must be square, got ", geometry.str());
  SNN_CHECK(options.step > 0 && options.steps >= 1, "HDNNBlock: need h > 0 and steps >= 1");
  if (options.scheme == HDNNScheme::kForwardEuler) {
    weight_k = register_parameter("weight_k", init_weight(geometry, g, dtype).value());
    if (options.bias) bias_k = register_parameter("bias_k", Tensor::zeros({geometry.out}, dtype));
    weight_x = register_parameter("weight_x", g.normal({geometry.in, geometry.in}, 0, 1 / std::sqrt(double(geometry.in)), dtype));
  } else {
    SNN_CHECK(geometry.in % 2 == 0, "HDNNBlock: symplectic Euler splits the state into halves (p, q); width ",
              geometry.in, " is odd");
    const MapGeometry half = half_geometry();
    weight_p = register_parameter("weight_p", init_weight(half, g, dtype).value());
    weight_q = register_parameter("weight_q", init_weight(half, g, dtype).value());
    if (options.bias) {
      bias_p = register_parameter("bias_p", Tensor::zeros({half.out}, dtype));
      bias_q = register_parameter("bias_q", Tensor::zeros({half.out}, dtype));
    }
  }
}

MapGeometry HDNNBlock::half_geometry() const {
  if (!geometry.conv) return MapGeometry::dense(geometry.in / 2, geometry.in / 2);
  return MapGeometry::convolution(geometry.in / 2, geometry.in / 2, geometry.height, geometry.width, geometry.kernel);
}

Var HDNNBlock::skew_j() const { return sub(weight_x, t(weight_x)); }

Var HDNNBlock::forward(const Var& x) {
  // x: [N, 2n] or [N, 2n, H, W] -> same
  check_state_input(x, geometry.sample_shape(), 1, describe());
  const Activation& act = options.activation;
  const double h = options.step;
  if (options.scheme == HDNNScheme::kForwardEuler) {
    const LinearOperator K = LinearOperator::from_geometry(geometry, weight_k);
    const Var j = skew_j();
    Var y = x;
    for (int64_t k = 0; k < options.steps; ++k) {
      const Var grad_h = K.adjoint(act.apply(K.apply(y, bias_k)));  // ∇H(y) = Kᵀσ(Ky + b)
      // J∇H: rows hold states, so J acts from the right as Jᵀ; for images it mixes channels per pixel
      const Var j_grad = geometry.conv ? conv2d(grad_h, reshape(j, {geometry.in, geometry.in, 1, 1}), Var())
                                       : matmul(grad_h, t(j));
      y = add(y, mul(j_grad, h));
    }
    return y;
  }
  const MapGeometry half = half_geometry();
  const LinearOperator Kp = LinearOperator::from_geometry(half, weight_p), Kq = LinearOperator::from_geometry(half, weight_q);
  const int64_t n = half.in;
  Var p = narrow(x, 1, 0, n), q = narrow(x, 1, n, n);
  for (int64_t k = 0; k < options.steps; ++k) {
    p = add(p, mul(Kq.adjoint(act.apply(Kq.apply(q, bias_q))), h));  // p ← p + h ∂H/∂q(q)
    q = sub(q, mul(Kp.adjoint(act.apply(Kp.apply(p, bias_p))), h));  // q ← q − h ∂H/∂p(p)
  }
  return concat(std::vector<Var>{p, q}, 1);
}

std::string HDNNBlock::describe() const {
  return std::string("HDNN(") + (options.scheme == HDNNScheme::kForwardEuler ? "forward Euler" : "symplectic Euler") +
         ", " + geometry.str() + ", h " + std::to_string(options.step).substr(0, 5) + " x " +
         std::to_string(options.steps) + ")";
}

double HDNNBlock::lipschitz_bound() {
  const double lip = options.activation.lipschitz(), h = options.step;
  double per_step;
  if (options.scheme == HDNNScheme::kForwardEuler) {
    const double nk = spectral_norm_upper_bound(LinearOperator::from_geometry(geometry, weight_k));
    const double nj = spectral_norm_upper_bound(LinearOperator::dense(skew_j()));
    per_step = 1.0 + h * nj * lip * nk * nk;
  } else {
    const MapGeometry half = half_geometry();
    const double np = spectral_norm_upper_bound(LinearOperator::from_geometry(half, weight_p));
    const double nq = spectral_norm_upper_bound(LinearOperator::from_geometry(half, weight_q));
    per_step = shear_bound(h * lip * nq * nq) * shear_bound(h * lip * np * np);
  }
  return std::pow(per_step, double(options.steps));
}

}  // namespace stablenn
