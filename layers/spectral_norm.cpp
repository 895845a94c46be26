// layers/spectral_norm.cpp — power iteration, its per-layer state, and exact references (chapter 7).
#include "layers/spectral_norm.h"

#include <algorithm>
#include <cmath>

namespace stablenn {

// LAPACK from OpenBLAS (declared here: the cblas headers do not declare LAPACK).
extern "C" void dgesvd_(const char* jobu, const char* jobvt, const int* m, const int* n, double* a,
                        const int* lda, double* s, double* u, const int* ldu, double* vt,
                        const int* ldvt, double* work, const int* lwork, int* info);

namespace {

// ‖t‖² accumulated in double.
double squared_norm(const Tensor& t) {
  const Tensor c = t.contiguous();
  double s = 0;
  if (c.dtype() == DType::Float64) {
    const double* p = c.data<double>();
    for (int64_t i = 0; i < c.numel(); ++i) s += p[i] * p[i];
  } else {
    SNN_CHECK(c.dtype() == DType::Float32, "spectral norm: expected a float tensor, got ",
              dtype_name(c.dtype()));
    const float* p = c.data<float>();
    for (int64_t i = 0; i < c.numel(); ++i) s += double(p[i]) * p[i];
  }
  return s;
}

void check_vector(const LinearOperator& A, const Tensor& u, const char* op) {
  SNN_CHECK(A.defined(), op, ": the operator has no weight");
  SNN_CHECK(u.defined() && u.shape() == A.input_shape(1), op, ": expected a vector ",
            shape_str(A.input_shape(1)), " for ", A.describe(), ", got ",
            u.defined() ? shape_str(u.shape()) : std::string("an undefined tensor"));
  SNN_CHECK(u.dtype() == A.weight().dtype(), op, ": the vector is ", dtype_name(u.dtype()),
            " but the weight is ", dtype_name(A.weight().dtype()));
}

}  // namespace

PowerIterationResult power_iteration(const LinearOperator& A, Tensor& u, int64_t max_iterations,
                                     double tolerance) {
  // A: in -> out, u: [1, ...in] unit vector (updated in place) -> estimate of sigma_max(A)
  check_vector(A, u, "power_iteration");
  SNN_CHECK(max_iterations >= 0, "power_iteration: max_iterations must be >= 0, got ", max_iterations);
  NoGrad no_grad;
  PowerIterationResult result;
  double previous = -1;
  for (int64_t k = 0; k < max_iterations; ++k) {
    const Tensor w = A.adjoint(A.apply(u));  // AᵀA u
    const double lambda = std::sqrt(squared_norm(w));  // ‖AᵀAu‖ -> σ²
    ++result.iterations;
    if (!(lambda > 0) || !std::isfinite(lambda)) {
      SNN_CHECK(std::isfinite(lambda), "power_iteration: non-finite value for ", A.describe(),
                " (does the weight hold NaN or infinity?)");
      result.sigma = 0;  // A u = 0: a zero map (or u in its kernel); keep u
      return result;
    }
    u.copy_(mul(w, 1.0 / lambda));
    result.sigma = std::sqrt(lambda);
    if (tolerance > 0 && previous > 0 && std::abs(lambda - previous) <= tolerance * lambda) {
      result.converged = true;
      break;
    }
    previous = lambda;
  }
  return result;
}

Tensor random_unit_vector(const Shape& sample_shape, Generator& g, DType dtype) {
  Shape shape = sample_shape;
  shape.insert(shape.begin(), 1);
  Tensor u = g.normal(shape, 0.0, 1.0, dtype);
  const double n = std::sqrt(squared_norm(u));
  SNN_CHECK(n > 0, "random_unit_vector: drew a zero vector of shape ", shape_str(shape));
  return mul(u, 1.0 / n);
}

Var norm_of_image(const LinearOperator& A, const Tensor& u) {
  // A: in -> out, u: [1, ...in] -> scalar ‖A u‖ (differentiable in A's weight)
  check_vector(A, u, "norm_of_image");
  return sqrt(sum(square(A.apply(Var(u)))));
}

// ---- SpectralNormEstimator ----

SpectralNormEstimator::SpectralNormEstimator(const LinearOperator& A, Tensor u,
                                             PowerIterationSchedule schedule)
    : u_(std::move(u)), schedule_(schedule) {
  check_vector(A, u_, "SpectralNormEstimator");
  SNN_CHECK(schedule_.init_iterations >= 0 && schedule_.eval_iterations >= 1 &&
                schedule_.train_iterations >= 1,
            "SpectralNormEstimator: iteration counts must be init >= 0, eval >= 1, train >= 1; got ",
            schedule_.init_iterations, ", ", schedule_.eval_iterations, ", ",
            schedule_.train_iterations);
  if (schedule_.init_iterations > 0)
    last_ = power_iteration(A, u_, schedule_.init_iterations, tolerance()).sigma;
}

double SpectralNormEstimator::tolerance() const {
  if (schedule_.tolerance >= 0) return schedule_.tolerance;
  return u_.dtype() == DType::Float64 ? 1e-13 : 1e-7;
}

double SpectralNormEstimator::safety() const {
  if (schedule_.eval_safety >= 0) return schedule_.eval_safety;
  return u_.dtype() == DType::Float64 ? 1e-9 : 1e-5;
}

bool SpectralNormEstimator::cache_valid(const LinearOperator& A) const {
  return cached_ && cached_storage_ == A.weight().value().storage().get() &&
         cached_version_ == A.weight().version();
}

double SpectralNormEstimator::converge(const LinearOperator& A) {
  SNN_CHECK(u_.defined(), "SpectralNormEstimator: used before construction with a vector");
  if (!cache_valid(A)) {
    converged_sigma_ = power_iteration(A, u_, schedule_.eval_iterations, tolerance()).sigma;
    cached_ = true;
    cached_storage_ = A.weight().value().storage().get();
    cached_version_ = A.weight().version();
  }
  last_ = converged_sigma_;
  return last_;
}

double SpectralNormEstimator::estimate(const LinearOperator& A, bool training) {
  SNN_CHECK(u_.defined(), "SpectralNormEstimator: used before construction with a vector");
  if (training) {
    cached_ = false;  // the weights are about to change
    last_ = power_iteration(A, u_, schedule_.train_iterations).sigma;
    return last_;
  }
  converge(A);
  last_ = converged_sigma_ * (1.0 + safety());
  return last_;
}

// ---- exact references ----

std::vector<double> singular_values(const Tensor& matrix) {
  // matrix: [m, n] -> min(m, n) values, descending
  SNN_CHECK(matrix.defined() && matrix.dim() == 2 && matrix.numel() > 0,
            "singular_values: expected a non-empty 2-D matrix, got ",
            matrix.defined() ? shape_str(matrix.shape()) : std::string("an undefined tensor"));
  std::vector<double> a = matrix.to_vector();  // row-major [m, n] == column-major [n, m]: same values
  int rows = static_cast<int>(matrix.size(1)), cols = static_cast<int>(matrix.size(0));
  const int lda = rows, one = 1;
  std::vector<double> s(std::min(rows, cols));
  double dummy = 0, query = 0;
  int lwork = -1, info = 0;
  dgesvd_("N", "N", &rows, &cols, a.data(), &lda, s.data(), &dummy, &one, &dummy, &one, &query,
          &lwork, &info);
  SNN_CHECK(info == 0, "singular_values: LAPACK dgesvd workspace query failed (info ", info, ")");
  lwork = static_cast<int>(query);
  std::vector<double> work(std::max(1, lwork));
  dgesvd_("N", "N", &rows, &cols, a.data(), &lda, s.data(), &dummy, &one, &dummy, &one,
          work.data(), &lwork, &info);
  SNN_CHECK(info == 0, "singular_values: LAPACK dgesvd failed on a ", shape_str(matrix.shape()),
            " matrix (info ", info, ", ", info > 0 ? "did not converge" : "bad argument", ")");
  return s;
}

Tensor operator_matrix(const LinearOperator& A, int64_t max_entries) {
  // A: in -> out -> [out_numel, in_numel] float64
  SNN_CHECK(A.defined(), "operator_matrix: the operator has no weight");
  const int64_t n_in = A.input_numel(), n_out = A.output_numel();
  SNN_CHECK(n_in * n_out <= max_entries, "operator_matrix: ", A.describe(), " has a ", n_out, "x",
            n_in, " matrix, more than max_entries = ", max_entries,
            " (use power_iteration for large maps)");
  NoGrad no_grad;
  const LinearOperator A64 = A.with_weight(Var(A.weight().value().to(DType::Float64)));
  Tensor matrix = Tensor::zeros({n_out, n_in}, DType::Float64);
  double* m = matrix.data<double>();
  const int64_t chunk = 256;  // columns per batch: A applied to unit vectors e_j, j in the chunk
  for (int64_t j0 = 0; j0 < n_in; j0 += chunk) {
    const int64_t count = std::min(chunk, n_in - j0);
    Tensor basis = Tensor::zeros({count, n_in}, DType::Float64);
    for (int64_t c = 0; c < count; ++c) basis.data<double>()[c * n_in + j0 + c] = 1.0;
    const Tensor columns = A64.apply(basis.reshape(A64.input_shape(count))).contiguous();
    const double* col = columns.data<double>();
    for (int64_t c = 0; c < count; ++c)
      for (int64_t i = 0; i < n_out; ++i) m[i * n_in + j0 + c] = col[c * n_out + i];
  }
  return matrix;
}

double exact_spectral_norm(const LinearOperator& A) {
  SNN_CHECK(A.defined(), "exact_spectral_norm: the operator has no weight");
  if (!A.is_convolution()) return singular_values(A.weight().value())[0];
  return singular_values(operator_matrix(A))[0];
}

double accurate_spectral_norm(const LinearOperator& A, const Tensor& start, int64_t exact_entries,
                              int64_t max_iterations) {
  SNN_CHECK(A.defined(), "accurate_spectral_norm: the operator has no weight");
  if (!A.is_convolution()) return singular_values(A.weight().value())[0];
  if (A.input_numel() * A.output_numel() <= exact_entries) return exact_spectral_norm(A);
  NoGrad no_grad;
  const LinearOperator A64 = A.with_weight(Var(A.weight().value().to(DType::Float64)));
  Tensor u;
  if (start.defined()) {
    SNN_CHECK(start.shape() == A.input_shape(1), "accurate_spectral_norm: start vector ",
              shape_str(start.shape()), " does not fit ", A.describe());
    u = start.to(DType::Float64).clone();
  } else {
    Generator g(20240607);
    u = random_unit_vector(A.input_sample_shape(), g, DType::Float64);
  }
  const double n = std::sqrt(squared_norm(u));
  SNN_CHECK(n > 0, "accurate_spectral_norm: zero start vector");
  u = mul(u, 1.0 / n);
  return power_iteration(A64, u, max_iterations, 1e-13).sigma;
}

double smallest_singular_value(const LinearOperator& A, Generator& g, int64_t exact_entries,
                               int64_t iterations) {
  SNN_CHECK(A.defined(), "smallest_singular_value: the operator has no weight");
  if (A.output_numel() < A.input_numel()) return 0.0;  // AᵀA has a kernel
  if (!A.is_convolution()) return singular_values(A.weight().value()).back();
  if (A.input_numel() * A.output_numel() <= exact_entries) return singular_values(operator_matrix(A)).back();
  NoGrad no_grad;
  const LinearOperator A64 = A.with_weight(Var(A.weight().value().to(DType::Float64)));
  Tensor u = random_unit_vector(A64.input_sample_shape(), g, DType::Float64);
  const double top = power_iteration(A64, u, iterations, 1e-13).sigma;
  const double shift = 1.01 * top * top;  // s²I − AᵀA is positive semidefinite
  u = random_unit_vector(A64.input_sample_shape(), g, DType::Float64);
  double mu = 0;
  for (int64_t k = 0; k < iterations; ++k) {
    const Tensor w = sub(mul(u, shift), A64.adjoint(A64.apply(u)));
    mu = std::sqrt(squared_norm(w));
    if (!(mu > 0)) break;
    u.copy_(mul(w, 1.0 / mu));
  }
  return std::sqrt(std::max(0.0, shift - mu));
}

double convolution_norm_bound(const Tensor& kernel) {
  // kernel: [O, C, kh, kw] -> Σ_taps ‖K[:, :, i, j]‖₂
  SNN_CHECK(kernel.defined() && kernel.dim() == 4,
            "convolution_norm_bound: expected a kernel [O, C, kh, kw], got ",
            kernel.defined() ? shape_str(kernel.shape()) : std::string("an undefined tensor"));
  const Tensor k = kernel.to(DType::Float64);
  double bound = 0;
  for (int64_t i = 0; i < k.size(2); ++i)
    for (int64_t j = 0; j < k.size(3); ++j)
      bound += singular_values(k.select(3, j).select(2, i).contiguous())[0];
  return bound;
}

}  // namespace stablenn
