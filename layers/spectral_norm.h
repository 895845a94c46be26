// layers/spectral_norm.h — spectral norms ‖A‖₂ by warm-started power iteration, and exact references
// (chapter 7).
//
// Power iteration on AᵀA: u ← AᵀAu / ‖AᵀAu‖ converges to the top right singular vector of A (from
// any start not orthogonal to it), and √‖AᵀAu‖ → σ_max(A) from below; the error in σ² shrinks like
// (σ₂/σ₁)^(2k). This returns σ, not σ² (one of the flaws of the public code design.md §3 lists).
// Training keeps u as a module buffer and takes ONE warm-started iteration per step: the weights move
// little between steps, so u stays close to the top singular vector. Evaluation (and initialisation)
// iterates until the estimate stops changing, and the result is cached until the weight changes.
#pragma once
#include <cstdint>
#include <vector>

#include "core/random.h"
#include "layers/linear_operator.h"

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

// Chapter 7: how many iterations a layer's estimator runs, and when.
struct PowerIterationSchedule {
  int64_t init_iterations = 1000;   // at construction
  int64_t eval_iterations = 1000;   // at most, whenever evaluation needs the norm of new weights
  int64_t train_iterations = 1;     // per forward pass in training mode, warm-started
  double tolerance = -1;            // early stop of init/eval runs; < 0: 1e-13 (float64) or 1e-7
                                    // (float32), about where rounding stops further progress
  // Evaluation uses σ·(1 + eval_safety): a converged estimate approaches σ from below, and this
  // small margin keeps the rounding of its last digits from making a "1-Lipschitz" layer 1 + 1e-9
  // Lipschitz. < 0: 1e-9 (float64) or 1e-5 (float32).
  double eval_safety = -1;
};

// Chapter 7: the power-iteration state of one linear map: the vector u (a buffer registered by the
// owning module, updated in place so checkpoints see it) and the latest estimate.
class SpectralNormEstimator {
 public:
  SpectralNormEstimator() = default;
  // u: the module's registered buffer [1, ...input], a unit vector. Runs init_iterations now.
  SpectralNormEstimator(const LinearOperator& A, Tensor u, PowerIterationSchedule schedule);

  // Chapter 7: the norm a forward pass uses. Training: train_iterations warm-started iterations,
  // then √‖AᵀAu‖. Evaluation: a converged estimate times (1 + eval_safety), recomputed only when the
  // weight changed since the last one (its version counter or storage differ).
  double estimate(const LinearOperator& A, bool training);
  // Chapter 7: iterate to convergence now (without the safety factor); caches like estimate().
  double converge(const LinearOperator& A);
  // The value returned by the last estimate()/converge() call (0 before any).
  double last() const { return last_; }
  const Tensor& vector() const { return u_; }
  const PowerIterationSchedule& schedule() const { return schedule_; }
  double safety() const;  // the eval_safety in use for u's dtype
  double tolerance() const;

 private:
  bool cache_valid(const LinearOperator& A) const;
  Tensor u_;
  PowerIterationSchedule schedule_;
  double last_ = 0;
  double converged_sigma_ = 0;
  const void* cached_storage_ = nullptr;
  uint64_t cached_version_ = 0;
  bool cached_ = false;
};

// ---- exact references (tests, certificates) ----

// Chapter 7: all singular values, descending, of a dense [m, n] matrix, by LAPACK's dgesvd (from
// OpenBLAS) in float64.
std::vector<double> singular_values(const Tensor& matrix);

// Chapter 7: the matrix of A as a float64 [output_numel, input_numel] tensor, built column by
// column: column j = A e_j. Throws when it would exceed `max_entries` (it is meant for small maps).
Tensor operator_matrix(const LinearOperator& A, int64_t max_entries = 4'000'000);

// Chapter 7: σ_max(A): dense maps by the SVD of the weight, convolutions by the SVD of their full
// matrix (small sizes only, see operator_matrix).
double exact_spectral_norm(const LinearOperator& A);

// Chapter 7: σ_max(A) as accurately as affordable, for Lipschitz bounds: dense maps and convolutions
// whose full matrix has at most `exact_entries` entries by SVD; larger convolutions by a float64 power
// iteration run to convergence (tolerance 1e-13 on σ², at most max_iterations), started from
// `start` ([1, ...input], e.g. a layer's warm vector; copied, not changed) or a random vector.
double accurate_spectral_norm(const LinearOperator& A, const Tensor& start = Tensor(),
                              int64_t exact_entries = 300'000, int64_t max_iterations = 5000);

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
