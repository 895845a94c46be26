// layers/stable/spectral_norm.h — spectral norms ‖A‖₂: warm-started power iteration for training, guaranteed
// upper bounds for evaluation and certificates, and exact references (chapter 7).
//
// Power iteration on AᵀA: u ← AᵀAu / ‖AᵀAu‖ converges to the top right singular vector of A (from
// any start not orthogonal to it), and √‖AᵀAu‖ → σ_max(A) from below; the error in σ² shrinks like
// (σ₂/σ₁)^(2k). This returns σ, not σ² (one of the public-code flaws in book/A-references.md §A.5).
// Training keeps u as a module buffer and takes ONE warm-started iteration per step: the weights move
// little between steps, so u stays close to the top singular vector. A power iteration only ever
// approaches σ from below, and with a small spectral gap it stops early, so evaluation does not use
// it: it uses spectral_norm_upper_bound (SVD, or the circular-convolution norm per frequency), which
// is >= σ, computed once per weight and stored in module buffers so that a checkpoint carries it.
#pragma once
#include <cstdint>
#include <vector>

#include "core/random.h"
#include "layers/stable/linear_operator.h"

namespace stablenn {

// Chapter 7: the outcome of a power iteration.
struct PowerIterationResult {
  double sigma = 0;          // the estimate √‖AᵀAu‖ of σ_max(A), from below
  int64_t iterations = 0;    // iterations run
  bool converged = false;    // the relative change of σ² fell below the tolerance
};

// Chapter 7: runs up to `max_iterations` iterations u ← AᵀAu/‖AᵀAu‖ from the unit vector u
// ([1, ...input], updated in place) in u's dtype (A's weight must have it too). Stops early when the
// relative change of σ² between two iterations is at most `tolerance` (0: never, run them all).
// A zero map gives σ = 0 and leaves u as it was.
PowerIterationResult power_iteration(const LinearOperator& A, Tensor& u, int64_t max_iterations,
                                     double tolerance = 0.0);

// Chapter 7: a random unit vector [1, ...input] of A's input space, for starting a power iteration.
Tensor random_unit_vector(const Shape& sample_shape, Generator& g, DType dtype);

// Chapter 7: ‖A u‖ as a Var, differentiable in A's weight with u held fixed. With u the top right
// singular vector this is σ_max, and its gradient v uᵀ (v = Au/‖Au‖) is the one of σ_max
// (Miyato et al. 2018), which is how normalised layers pass gradients through their norm.
Var norm_of_image(const LinearOperator& A, const Tensor& u);

// Chapter 7: how many power iterations a layer's estimator runs, and when (evaluation runs none).
struct PowerIterationSchedule {
  int64_t init_iterations = 1000;   // at construction
  int64_t train_iterations = 1;     // per forward pass in training mode, warm-started
  double tolerance = -1;            // early stop of the construction run; < 0: 1e-13 (float64) or
                                    // 1e-7 (float32), about where rounding stops further progress
};

// Chapter 7: the norm state of one linear map, held in three buffers the owning module registers
// (updated in place, so checkpoints see them):
//   "power_u"        [1, ...input], the warm-started vector of the training-mode power iteration;
//   "eval_norm"      float64 0-d, spectral_norm_upper_bound of the weight (0: not computed yet);
//   "eval_norm_key"  int64 0-d, weight_norm_key of the weight eval_norm belongs to.
// Evaluation reuses eval_norm bit for bit while the key matches the current weight, so a network
// loaded from a checkpoint is exactly the network that was saved. The key is checked on every
// evaluation forward pass, but through weight_fingerprint, which runs at memory speed: the slower
// weight_norm_key is recomputed only when the fingerprint or the buffers moved since it last was.
class SpectralNormEstimator {
 public:
  SpectralNormEstimator() = default;
  // Runs init_iterations power iterations on u now. eval_norm/eval_key: 0-d float64/int64 buffers.
  SpectralNormEstimator(const LinearOperator& A, Tensor u, Tensor eval_norm, Tensor eval_key,
                        PowerIterationSchedule schedule);
  // Chapter 7: fresh buffers for a module to register: eval_norm = 0.0 (float64), key = 0 (int64).
  static Tensor fresh_eval_norm();
  static Tensor fresh_eval_key();

  // Chapter 7: the norm a forward pass uses. Training: train_iterations warm-started iterations,
  // then √‖AᵀAu‖ (an estimate from below); within one data-parallel step (shared_step_number,
  // layers/module.h) only the first shard iterates and the others reuse its result. Evaluation:
  // upper_bound(A). Callers whose shards may run concurrently hold training_state_mutex().
  double estimate(const LinearOperator& A, bool training);
  // Chapter 7: the stored upper bound of σ_max(A) when its key matches A's weight, else
  // spectral_norm_upper_bound(A), stored with the weight's key. Never moves u.
  double upper_bound(const LinearOperator& A);
  // The value returned by the last estimate()/upper_bound() call (0 before any).
  double last() const { return last_; }
  const Tensor& vector() const { return u_; }
  const PowerIterationSchedule& schedule() const { return schedule_; }
  double tolerance() const;  // the construction run's tolerance for u's dtype

 private:
  Tensor u_, eval_norm_, eval_key_;
  PowerIterationSchedule schedule_;
  double last_ = 0;
  uint64_t iterated_in_step_ = 0;  // the data-parallel step whose shard last iterated (0: none)
  // What upper_bound last verified: the weight's fingerprint and the buffers' values then. While all
  // three are unchanged, the stored key still matches the weight and weight_norm_key is not needed.
  bool verified_ = false;
  uint64_t verified_fingerprint_ = 0;
  int64_t verified_key_ = 0;
  double verified_norm_ = 0;
};

// Chapter 7: a 64-bit FNV-1a hash of A's weight (its bytes, dtype and shape) and A's geometry:
// what "eval_norm_key" stores. Any change of the weight's values changes it (but for a 2⁻⁶⁴-rare
// collision).
uint64_t weight_norm_key(const LinearOperator& A);

// Chapter 7: a second 64-bit hash of the same things (weight bytes, dtype, shape, geometry), built for
// speed: four independent lanes of xxHash64's multiply-rotate round, so the CPU overlaps them and
// the hash runs at memory speed (FNV-1a's one serial multiply per word ran at a few bytes a cycle,
// 3-8 % of an attack on chapter 8's non-expansive network). Not stored anywhere: checkpoints keep
// weight_norm_key, and the estimator uses this one only to tell that the weight did not move.
uint64_t weight_fingerprint(const LinearOperator& A);

// Chapter 7: the multiplier a layer applies for a divisor `scale` > 0, in `dtype`: the largest
// number representable in dtype that is <= 1/scale, so that σ·m <= σ/scale holds for the map the
// layer actually computes (plain rounding of 1/scale could land a hair above it).
double reciprocal_rounded_down(double scale, DType dtype);

// ---- exact references (tests, certificates) ----

// Chapter 7: all singular values, descending, of a dense [m, n] matrix, by LAPACK's dgesvd (from
// OpenBLAS) in float64.
std::vector<double> singular_values(const Tensor& matrix);

// Chapter 7: the matrix of A as a float64 [output_numel, input_numel] tensor, built column by
// column: column j = A e_j. Throws when it would exceed `max_entries` (it is meant for small maps).
Tensor operator_matrix(const LinearOperator& A, int64_t max_entries = 4'000'000);

// Chapter 7: σ_max(A) (up to rounding, in either direction): dense maps by the SVD of the weight,
// convolutions by the SVD of their full matrix (small sizes only, see operator_matrix).
double exact_spectral_norm(const LinearOperator& A);

// Chapter 7: the largest singular value of the CIRCULAR (periodic) convolution with kernel
// [O, C, kh, kw] on an n1 x n2 grid, exactly (up to rounding): per frequency w the taps give the
// O x C complex matrix K̂(w) = Σ_(i,j) K[:, :, i, j]·exp(−2πi(w1·i/n1 + w2·j/n2)), and the circular
// convolution's singular values are those of all n1·n2 of them. Each σ_max(K̂(w)) is that of the
// real 2O x 2C matrix [[Re, −Im], [Im, Re]], by dgesvd in float64; K̂(−w) = conj K̂(w) halves the work.
double circular_convolution_norm(const Tensor& kernel, int64_t n1, int64_t n2);

// Chapter 7: a GUARANTEED upper bound of σ_max(A), for evaluation-mode layers and Lipschitz bounds.
//   dense: the SVD's σ_max times (1 + 1e-12) (dgesvd is backward stable: its error is a small
//     multiple of 1e-16·σ_max, which the margin covers);
//   convolution whose full matrix has <= 300,000 entries: the SVD of operator_matrix(A) (exact
//     entries: each is one kernel value) times (1 + 1e-12);
//   larger convolution: min(circular norm, convolution_norm_bound) times (1 + 1e-12). A stride-s
//     convolution with zero padding p on H x W inputs is crop ∘ circular convolution on the
//     N1 x N2 = max(H + 2p, kh) x max(W + 2p, kw) grid ∘ zero embedding, and embedding is an
//     isometry while cropping and subsampling are contractions, so σ <= the circular norm.
// Throws naming A when the weight holds NaN or infinity.
double spectral_norm_upper_bound(const LinearOperator& A);

// Chapter 7: the smallest singular value of A as a map on its input space (0 when A has fewer
// outputs than inputs). Dense maps and convolutions with at most `exact_entries` matrix entries: by
// SVD. Larger convolutions: `iterations` power iterations on s²I − AᵀA (s >= σ_max), which approach
// s² − σ_min² from below, so the result approaches σ_min from ABOVE and is only an estimate (the
// bottom of the spectrum converges slowly); callers that need a bound should use 0 instead.
double smallest_singular_value(const LinearOperator& A, Generator& g,
                               int64_t exact_entries = 300'000, int64_t iterations = 2000);

// Chapter 7: an upper bound of a k x k convolution's norm valid at EVERY input size and stride:
// Σ over taps (i, j) of ‖K[:, :, i, j]‖₂ (the convolution is a sum of shifted copies of the taps,
// each shift an isometry or a restriction of one). Loose, but needs no input size.
double convolution_norm_bound(const Tensor& kernel);

}  // namespace stablenn
