// train/control_ode.h — a neural ODE as an optimal-control problem: piecewise-constant controls on a
// time mesh, explicit Euler, the goal J and its gradient by the discrete adjoint (chapter 11).
//
// State equation on [0, T]:  ẋ = F(x, θ(t)) = σ(W(t) x + b(t)),  x(0) = (u, 0, ..., 0) (the input
// u ∈ R^m padded with zeros to R^d). θ = (W, b) is constant on each interval I_k of the mesh
// 0 = t_0 < ... < t_K = T, of length τ_k: interval k is layer k. Explicit Euler (DG(0) in time):
//   x_{k+1} = x_k + τ_k σ(W_k x_k + b_k).
// Goal, with a linear head y = C x_K + c and the mean loss ℓ over the N samples:
//   J = (1/N) Σ_i ℓ(C x_K^i + c, y_i)
//     + (λ/2) Σ_k τ_k |θ_k|²                                   (discrete L² in time)
//     + (λ_H¹/2) Σ_{k<K-1} |θ_{k+1} − θ_k|² / ((τ_k + τ_{k+1})/2)   (discrete H¹ seminorm)
//     + (λ_head/2) |C|²                                         (the head; its bias is free)
// Discrete adjoint (the exact gradient of this discrete J, written by hand):
//   p_K = (1/N) Cᵀ ∂ℓ/∂y,   p_k = p_{k+1} + τ_k W_kᵀ (σ'(z_k) ⊙ p_{k+1}),   z_k = W_k x_k + b_k,
//   ∂J/∂W_k = τ_k Σ_i (σ'(z_k^i) ⊙ p_{k+1}^i) (x_k^i)ᵀ + regulariser,  ∂J/∂b_k likewise without x.
// Everything is double precision; the samples are rows of plain arrays, so that a layer costs N d²
// multiply-adds and nothing else (the sizes here are tiny: d ≈ 8, N ≈ 1,000).
#pragma once
#include <cstdint>
#include <vector>

#include "core/random.h"
#include "datasets/dataset.h"

namespace stablenn {

// Chapter 11: σ of the controlled field: tanh for the classifiers, the identity for linear ODEs
// whose solution is known (the tests).
enum class FieldActivation { kTanh, kIdentity };

// Chapter 11: ℓ of the goal: softmax cross-entropy against class labels, or ½|y − target|².
enum class GoalLoss { kCrossEntropy, kSquaredError };

// Chapter 11: the samples of the goal, row-major (N rows).
struct ControlSamples {
  int64_t count = 0;              // N
  int64_t input_dim = 0;          // m (≤ the state dimension d)
  std::vector<double> inputs;     // N × m
  std::vector<int64_t> labels;    // N, for kCrossEntropy
  std::vector<double> targets;    // N × outputs, for kSquaredError
};

// Chapter 11: a toy Dataset ([N, m] inputs, [N] labels) as samples of the goal; inputs are scaled
// by `scale`. Throws naming the dataset when it is not two-dimensional.
ControlSamples samples_from_dataset(const Dataset& data, double scale = 1.0);

// Chapter 11: the network: mesh, controls and head.
struct ControlledOde {
  int64_t dim = 0;       // d, the state dimension
  int64_t outputs = 0;   // rows of the head C
  FieldActivation activation = FieldActivation::kTanh;
  std::vector<double> tau;       // K interval lengths (the layers' steps); T = their sum
  std::vector<double> controls;  // K blocks of control_size(): W_k (d × d, row-major), then b_k (d)
  std::vector<double> head;      // C (outputs × d, row-major), then c (outputs)

  int64_t layers() const { return static_cast<int64_t>(tau.size()); }
  int64_t control_size() const { return dim * dim + dim; }
  int64_t parameter_count() const { return static_cast<int64_t>(controls.size() + head.size()); }
  double final_time() const;
  // The interval boundaries t_0 = 0, ..., t_K = T.
  std::vector<double> mesh() const;
};

// Chapter 11: K equal intervals on [0, T], controls and head N(0, scale²/d) from `gen`.
ControlledOde make_controlled_ode(int64_t dim, int64_t outputs, int64_t layers, double final_time,
                                  FieldActivation activation, Generator& gen, double scale = 1.0);

// Chapter 11: the weights of the goal's terms.
struct GoalOptions {
  GoalLoss loss = GoalLoss::kCrossEntropy;
  double l2 = 1e-4;         // λ
  double h1 = 1e-4;         // λ_H¹
  double head_l2 = 1e-4;    // λ_head
  bool train_head = true;   // false: the head is fixed (its gradient is reported as zero)
};

// Chapter 11: J split into its terms.
struct GoalValue {
  double loss = 0;         // (1/N) Σ ℓ
  double regulariser = 0;  // the L², H¹ and head terms
  double total() const { return loss + regulariser; }
};

// Chapter 11: the Euler states x_0 .. x_K (each N × d) and σ(z_k) (K blocks, N × d).
struct Trajectory {
  std::vector<std::vector<double>> states;
  std::vector<std::vector<double>> activations;
};

// Chapter 11: the forward pass. Throws when the samples do not fit the model (input_dim > dim).
Trajectory integrate(const ControlledOde& model, const ControlSamples& samples);
// Chapter 11: the same into `out`, reusing its buffers (training calls it in a loop).
void integrate_into(const ControlledOde& model, const ControlSamples& samples, Trajectory& out);
// Chapter 11: the head's outputs y = C x_K + c (N × outputs) from a trajectory.
std::vector<double> head_outputs(const ControlledOde& model, const std::vector<double>& final_states,
                                 int64_t count);
// Chapter 11: the goal's loss term and its gradient with respect to x_K (N × d, including 1/N):
// p_K, the adjoint's initial value. `adjoint_out` may be null.
double goal_loss(const ControlledOde& model, const ControlSamples& samples,
                 const std::vector<double>& final_states, const GoalOptions& options,
                 std::vector<double>* adjoint_out);
// Chapter 11: the regulariser terms of J.
double goal_regulariser(const ControlledOde& model, const GoalOptions& options);
// Chapter 11: J (one forward pass).
GoalValue evaluate_goal(const ControlledOde& model, const ControlSamples& samples,
                        const GoalOptions& options);
// Chapter 11: the same with a reused trajectory buffer.
GoalValue evaluate_goal(const ControlledOde& model, const ControlSamples& samples,
                        const GoalOptions& options, Trajectory& workspace);

// Chapter 11: J and its gradient by the discrete adjoint.
struct GoalGradient {
  GoalValue value;
  std::vector<double> controls;  // ∂J/∂θ_k, laid out like ControlledOde::controls
  std::vector<double> head;      // ∂J/∂(C, c), like ControlledOde::head
  std::vector<std::vector<double>> adjoints;  // p_0 .. p_K (each N × d)
  Trajectory trajectory;                      // the forward pass it used
};
GoalGradient goal_gradient(const ControlledOde& model, const ControlSamples& samples,
                           const GoalOptions& options);
// Chapter 11: the same into `out`, reusing its buffers.
void goal_gradient_into(const ControlledOde& model, const ControlSamples& samples, const GoalOptions& options,
                        GoalGradient& out);

// Chapter 11: predicted classes (argmax of the head) and the fraction predicted right, in [0, 1].
std::vector<int64_t> predict_classes(const ControlledOde& model, const ControlSamples& samples);
double accuracy(const ControlledOde& model, const ControlSamples& samples);

// Chapter 11: interval k replaced by two halves of length τ_k/2 carrying copies of θ_k, so the
// control θ(t) is the same function of t, bit for bit, and so is the L² term. The Euler network's
// outputs are NOT: two half-steps differ from one full step by
//   δ_k = (τ_k/2) (σ(W_k (x_k + (τ_k/2) s_k) + b_k) − s_k),  s_k = σ(W_k x_k + b_k),
// an O(τ_k²) change that is exactly what the estimator (train/dwr_estimator.h) weighs with the
// adjoint. (No split with copied controls keeps an explicit Euler network's outputs unchanged unless
// F vanishes.) Throws when k is out of range.
void split_interval(ControlledOde& model, int64_t k);

}  // namespace stablenn
