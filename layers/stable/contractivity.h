// layers/stable/contractivity.h — a convolutional neural ODE classifier and the two regularisers
// that push its vector field towards contraction (chapter 10; derivations in book/10-contractivity.md).
//
// Contraction: f is contractive with rate ρ in the 2-norm when μ₂(J_f(x)) <= −ρ for every x, where
// μ₂(J) = λ_max((J + Jᵀ)/2) is the log-norm. The two regularisers estimate or bound μ₂:
//  - Jacobian-based: μ₂ at sampled states, by Lanczos steps (or power iteration) on (J + Jᵀ)/2 with
//    Jacobian-vector and vector-Jacobian products from the tape (no explicit Jacobian);
//  - weight-based: for f(x) = σ(Kx + β) with slopes of σ in [a, b], a bound on μ₂(J_f(x)) for EVERY x
//    from the weights alone (a symmetrised Gershgorin / diagonal-dominance condition).
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/module.h"

namespace stablenn {

// Chapter 10: the vector field f(x) = σ(K ⋆ x + β) on states [N, C, H, W]: K [C, C, k, k] (k odd,
// "same" zero padding, stride 1), β [C]. Its Jacobian is J = D·K with D = diag(σ'(K ⋆ x + β)),
// every entry of D in the slope bounds [a, b] of σ.
class ConvContractiveField : public Module {
 public:
  ConvContractiveField(int64_t channels, int64_t kernel, Activation sigma,
                       Generator& g = default_generator(), DType dtype = DType::Float32);
  Var forward(const Var& x) override;
  // σ(K ⋆ x + β + u): the field driven by an input u of the state's shape. u does not change the
  // Jacobian in x, so every contraction statement holds for each input alike.
  Var drive(const Var& x, const Var& u);
  std::string describe() const override;
  Var weight, bias;
  Activation sigma;
  int64_t channels, kernel;
};

// Chapter 10: the sizes of the classifier.
struct ConvNodeConfig {
  int64_t in_channels = 1, image_size = 28, classes = 10;
  int64_t channels = 8;  // C: the ODE state is [C, image/2, image/2]
  int64_t kernel = 3;    // of the vector field
  int64_t steps = 4;     // forward Euler steps on [0, T]
  double horizon = 1.0;  // T
  double alpha = 0.5;    // σ(s) = αs + (1 − α)·softplus(s): slopes [α, 1]
  // The lift's activation: ReLU when true, else the field's σ. The lift is outside the flow, so the
  // contraction conditions do not constrain it; a σ with slopes in [α, 1] is nearly linear there.
  bool relu_lift = true;
  int64_t pool = 2;  // average pooling before the head (1: none; must divide image_size / 2)
};

// Chapter 10: lift (Conv2d in -> C, 4x4, stride 2, pad 1, then ReLU or σ) -> u = x(0); N forward
// Euler steps x_{k+1} = x_k + h f(x_k; u), f(x; u) = σ(K ⋆ x + β + u), h = T / N; pool x pool average
// pooling (none for pool 1); flatten; linear head to the classes. The lifted image also drives the field: a contractive field without
// an input forgets x(0) at rate ρ, so every image would end near one equilibrium (book, §2).
class ConvNodeClassifier : public Module {
 public:
  explicit ConvNodeClassifier(const ConvNodeConfig& config, Generator& g = default_generator(),
                              DType dtype = DType::Float32);
  Var forward(const Var& images) override;
  std::string describe() const override;
  // x(0) = lift_sigma(lift(images)).
  Var lift_state(const Var& images);
  // The Euler states x_0 .. x_N driven by `images`, computed without a tape; they start from the
  // lift of `start` when given (pairs with one input and two initial states measure contraction).
  std::vector<Tensor> trajectory(const Tensor& images, const Tensor* start = nullptr);
  double step_size() const { return config.horizon / static_cast<double>(config.steps); }

  ConvNodeConfig config;
  std::shared_ptr<Conv2d> lift;
  std::shared_ptr<ConvContractiveField> field;
  std::shared_ptr<Linear> head;
  Activation lift_sigma;
  // When true, forward() keeps its Euler states x_0 .. x_{N-1} (detached; x_0 is also the input u)
  // in last_states: the
  // Jacobian regulariser samples them without a second forward pass.
  bool keep_states = false;
  std::vector<Tensor> last_states;
};

// ---- the Jacobian-based regulariser ----

// Chapter 10: settings of the μ₂ estimate.
struct LogNormOptions {
  // Chapter 10: how the top eigenvector of S = (J + Jᵀ)/2 is sought. Both use one product S·v
  // (two backward passes) per iteration; Lanczos finds λ_max(S) in far fewer of them (book/10 §3).
  enum class Method { kPower, kLanczos };
  Method method = Method::kLanczos;
  int iterations = 5;  // products S·v (power iterations, or Lanczos steps)
  // Power iteration only: c makes S + cI positive semidefinite so that its dominant eigenvalue is
  // λ_max(S) + c (plain power iteration finds the eigenvalue of largest MAGNITUDE, the most negative
  // one for a contractive field). Needs c >= −λ_min(S); ‖J‖₂ or any bound of it will do.
  double shift = 0.0;
  uint64_t seed = 0;  // of the random start vectors
};

// Chapter 10: for a field f mapping [N, ...] -> [N, ...] sample by sample, an estimate of
// μ₂(J_f(x_n)) for each sample n -> [N]. The value is the Rayleigh quotient vᵀJv at the final
// (detached) vector v — the last power iterate, or the Ritz vector of the largest Ritz value of the
// Lanczos steps — so it is a LOWER estimate of λ_max(S) that converges to it; its gradient
// with respect to the parameters f closes over is that of the eigenvalue (Hellmann–Feynman: at an
// eigenvector, dλ = vᵀ dS v). Costs 2 backward passes per iteration after one forward.
Var log_norm2_estimate(const std::function<Var(const Var&)>& f, const Tensor& x,
                       const LogNormOptions& options = {});

// Chapter 10: mean over samples of ReLU(μ + ρ): zero once every sampled μ is <= −ρ.
Var log_norm_penalty(const Var& mu, double rho);

// Chapter 10: a bound of ‖J_f(x)‖₂ for the field, for every x: b · sqrt(‖K‖₁‖K‖∞) with the
// convolution's induced 1- and ∞-norms bounded by its largest column and row sums of |K|.
double field_norm_bound(const ConvContractiveField& field);

// ---- the weight-based regulariser ----

// Chapter 10: the diagonal and off-diagonal absolute row and column sums of a square matrix, or of
// the doubly block-Toeplitz matrix of a convolution (one entry per channel: every pixel's row has
// the same entries, except at the border, where zero padding drops some, so the sums are upper
// bounds there).
struct DominanceSums {
  Var diagonal;  // [n]: W_ii, or the centre taps K[c, c, k/2, k/2]
  Var row_off;   // [n]: Σ_{j≠i} |W_ij|
  Var col_off;   // [n]: Σ_{j≠i} |W_ji|
};
DominanceSums dense_dominance(const Var& weight);  // weight [n, n]
DominanceSums conv_dominance(const Var& kernel);   // kernel [C, C, k, k], k odd

// Chapter 10: γ_i = φ(W_ii + ½ row_i) + ½ b col_i with φ(s) = a·min(s, 0) + b·max(s, 0), for a field
// σ(Wx + β) (or its convolutional form) whose σ has slopes in [a, b]. μ₂(J_f(x)) <= max_i γ_i for
// every state x (proof: book/10-contractivity.md). -> [n]
Var weight_condition(const DominanceSums& sums, const SlopeBounds& slopes);

// Chapter 10: Σ_i ReLU(γ_i + ρ): zero exactly when the condition certifies rate ρ.
Var weight_penalty(const Var& gamma, double rho);

// Chapter 10: lowers the centre taps of the channels that violate γ_c <= −ρ − margin just enough
// (the smallest change of the weights that restores the condition, tap by tap), in place. Returns
// the largest change made (0 when the condition already held).
double enforce_weight_condition(ConvContractiveField& field, double rho, double margin = 1e-4);

}  // namespace stablenn
