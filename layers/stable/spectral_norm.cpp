// layers/stable/spectral_norm.cpp — power iteration, its per-layer state, guaranteed upper bounds and exact
// references (chapter 7).
#include "layers/stable/spectral_norm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "core/parallel.h"
#include "layers/module.h"

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

SpectralNormEstimator::SpectralNormEstimator(const LinearOperator& A, Tensor u, Tensor eval_norm,
                                             Tensor eval_key, PowerIterationSchedule schedule)
    : u_(std::move(u)), eval_norm_(std::move(eval_norm)), eval_key_(std::move(eval_key)),
      schedule_(schedule) {
  check_vector(A, u_, "SpectralNormEstimator");
  SNN_CHECK(eval_norm_.defined() && eval_norm_.dim() == 0 && eval_norm_.dtype() == DType::Float64 &&
                eval_key_.defined() && eval_key_.dim() == 0 && eval_key_.dtype() == DType::Int64,
            "SpectralNormEstimator: expected 0-d float64 and int64 buffers for the stored norm and key");
  SNN_CHECK(schedule_.init_iterations >= 0 && schedule_.train_iterations >= 1,
            "SpectralNormEstimator: iteration counts must be init >= 0, train >= 1; got ",
            schedule_.init_iterations, ", ", schedule_.train_iterations);
  if (schedule_.init_iterations > 0)
    last_ = power_iteration(A, u_, schedule_.init_iterations, tolerance()).sigma;
}

Tensor SpectralNormEstimator::fresh_eval_norm() { return Tensor::scalar(0.0, DType::Float64); }
Tensor SpectralNormEstimator::fresh_eval_key() { return Tensor::from_int64({0}, {}); }

double SpectralNormEstimator::tolerance() const {
  if (schedule_.tolerance >= 0) return schedule_.tolerance;
  return u_.dtype() == DType::Float64 ? 1e-13 : 1e-7;
}

double SpectralNormEstimator::upper_bound(const LinearOperator& A) {
  SNN_CHECK(u_.defined(), "SpectralNormEstimator: used before construction with a vector");
  double* stored = eval_norm_.data<double>();
  int64_t* stored_key = eval_key_.data<int64_t>();
  // Fast path: the weight's fingerprint and both buffers are what the last full check saw, so the
  // stored key still matches the weight (a checkpoint load or an in-place change moves one of them).
  const uint64_t fingerprint = weight_fingerprint(A);
  if (verified_ && fingerprint == verified_fingerprint_ && *stored_key == verified_key_ &&
      *stored == verified_norm_ && *stored > 0) {
    last_ = *stored;
    return last_;
  }
  const uint64_t hash = weight_norm_key(A);
  int64_t key;
  std::memcpy(&key, &hash, sizeof key);  // the buffer is int64 (safetensors has no unsigned type here)
  if (*stored_key != key || !(*stored > 0)) {
    *stored = spectral_norm_upper_bound(A);
    *stored_key = key;
  }
  verified_ = true;
  verified_fingerprint_ = fingerprint;
  verified_key_ = *stored_key;
  verified_norm_ = *stored;
  last_ = *stored;
  return last_;
}

double SpectralNormEstimator::estimate(const LinearOperator& A, bool training) {
  SNN_CHECK(u_.defined(), "SpectralNormEstimator: used before construction with a vector");
  if (!training) return upper_bound(A);
  const uint64_t step = shared_step_number();  // one iteration per data-parallel step, not per shard
  if (step == 0 || step != iterated_in_step_) last_ = power_iteration(A, u_, schedule_.train_iterations).sigma;
  iterated_in_step_ = step;
  return last_;
}

uint64_t weight_norm_key(const LinearOperator& A) {
  SNN_CHECK(A.defined(), "weight_norm_key: the operator has no weight");
  uint64_t h = 14695981039346656037ull;  // FNV-1a, 64 bit
  auto bytes = [&h](const void* data, size_t n) {
    const unsigned char* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  };
  const Tensor w = A.weight().value().contiguous();
  const int64_t dtype = static_cast<int64_t>(w.dtype());
  bytes(&dtype, sizeof dtype);
  for (int64_t d : w.shape()) bytes(&d, sizeof d);
  const std::string geometry = A.describe();  // stride, padding and input size of a convolution
  bytes(geometry.data(), geometry.size());
  // the data 8 bytes at a time (FNV-1a's step on words): this runs on every evaluation forward pass,
  // and byte by byte it took ~15 % of an attack on chapter 8's non-expansive network
  const size_t n = static_cast<size_t>(w.numel()) * dtype_size(w.dtype());
  const unsigned char* data = static_cast<const unsigned char*>(w.raw_data());
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, data + i, 8);
    h = (h ^ word) * 1099511628211ull;
  }
  bytes(data + i, n - i);
  return h;
}

namespace {

constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ull, kPrime2 = 0xC2B2AE3D27D4EB4Full,
                   kPrime3 = 0x165667B19E3779F9ull, kPrime4 = 0x85EBCA77C2B2AE63ull,
                   kPrime5 = 0x27D4EB2F165667C5ull;

uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
// xxHash64's round: every input bit reaches every accumulator bit within a few rounds.
uint64_t xx_round(uint64_t acc, uint64_t input) { return rotl(acc + input * kPrime2, 31) * kPrime1; }

}  // namespace

uint64_t weight_fingerprint(const LinearOperator& A) {
  SNN_CHECK(A.defined(), "weight_fingerprint: the operator has no weight");
  const Tensor w = A.weight().value().contiguous();
  const size_t n = static_cast<size_t>(w.numel()) * dtype_size(w.dtype());
  const unsigned char* data = static_cast<const unsigned char*>(w.raw_data());
  // four lanes, 32 bytes a step: the lanes' multiplies do not wait for each other
  uint64_t lane[4] = {kPrime1 + kPrime2, kPrime2, 0, 0 - kPrime1};
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int l = 0; l < 4; ++l) {
      uint64_t word;
      std::memcpy(&word, data + i + 8 * l, 8);
      lane[l] = xx_round(lane[l], word);
    }
  uint64_t h = rotl(lane[0], 1) + rotl(lane[1], 7) + rotl(lane[2], 12) + rotl(lane[3], 18);
  for (int l = 0; l < 4; ++l) h = (h ^ xx_round(0, lane[l])) * kPrime1 + kPrime4;
  auto mix = [&h](uint64_t v) { h = rotl(h ^ xx_round(0, v), 27) * kPrime1 + kPrime4; };
  for (; i + 8 <= n; i += 8) {  // the tail: whole words, then bytes
    uint64_t word;
    std::memcpy(&word, data + i, 8);
    mix(word);
  }
  for (; i < n; ++i) h = rotl(h ^ (data[i] * kPrime5), 11) * kPrime1;
  // what the bytes mean: length, dtype, shape, and a convolution's geometry
  mix(n);
  mix(static_cast<uint64_t>(w.dtype()));
  for (int64_t d : w.shape()) mix(static_cast<uint64_t>(d));
  if (A.is_convolution())
    for (int64_t v : {A.stride(), A.padding(), A.height(), A.width()}) mix(static_cast<uint64_t>(v));
  else
    mix(kPrime3);  // a dense map: no geometry (keeps it apart from every convolution)
  // final avalanche (xxHash64's)
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  h *= kPrime3;
  h ^= h >> 32;
  return h;
}

double reciprocal_rounded_down(double scale, DType dtype) {
  SNN_CHECK(scale > 0 && std::isfinite(scale), "reciprocal_rounded_down: need a positive finite scale, got ",
            scale);
  // fma computes m·scale − 1 exactly before rounding, so its sign says whether m > 1/scale
  if (dtype == DType::Float32) {
    float m = static_cast<float>(1.0 / scale);
    if (std::fma(double(m), scale, -1.0) > 0) m = std::nextafter(m, 0.0f);
    return m;
  }
  double m = 1.0 / scale;
  if (std::fma(m, scale, -1.0) > 0) m = std::nextafter(m, 0.0);
  return m;
}

// ---- exact references ----

namespace {

// The singular values, descending, of the column-major [rows, cols] matrix in `a` (overwritten).
std::vector<double> dgesvd_values(std::vector<double>& a, int rows, int cols, const char* what) {
  const int lda = rows, one = 1;
  std::vector<double> s(std::min(rows, cols));
  // dgesvd's bidiagonalisation is mostly matrix-vector work: on the 2-core machine two threads were
  // slower than one up to n = 768 (256: 9.0 vs 5.5 ms; 768: 99 vs 83 ms) and equal at 1024.
  std::optional<OneBlasThread> one_thread;
  if (std::min(rows, cols) < 1024) one_thread.emplace();
  double dummy = 0, query = 0;
  int lwork = -1, info = 0;
  dgesvd_("N", "N", &rows, &cols, a.data(), &lda, s.data(), &dummy, &one, &dummy, &one, &query,
          &lwork, &info);
  SNN_CHECK(info == 0, what, ": LAPACK dgesvd workspace query failed (info ", info, ")");
  lwork = static_cast<int>(query);
  std::vector<double> work(std::max(1, lwork));
  dgesvd_("N", "N", &rows, &cols, a.data(), &lda, s.data(), &dummy, &one, &dummy, &one,
          work.data(), &lwork, &info);
  SNN_CHECK(info == 0, what, ": LAPACK dgesvd failed on a ", cols, "x", rows, " matrix (info ", info,
            ", ", info > 0 ? "did not converge" : "bad argument", ")");
  return s;
}

}  // namespace

std::vector<double> singular_values(const Tensor& matrix) {
  // matrix: [m, n] -> min(m, n) values, descending
  SNN_CHECK(matrix.defined() && matrix.dim() == 2 && matrix.numel() > 0,
            "singular_values: expected a non-empty 2-D matrix, got ",
            matrix.defined() ? shape_str(matrix.shape()) : std::string("an undefined tensor"));
  std::vector<double> a = matrix.to_vector();  // row-major [m, n] == column-major [n, m]: same values
  return dgesvd_values(a, static_cast<int>(matrix.size(1)), static_cast<int>(matrix.size(0)),
                       "singular_values");
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

double circular_convolution_norm(const Tensor& kernel, int64_t n1, int64_t n2) {
  // kernel: [O, C, kh, kw], grid n1 x n2 -> max over frequencies w of σ_max(K̂(w))
  SNN_CHECK(kernel.defined() && kernel.dim() == 4 && kernel.numel() > 0,
            "circular_convolution_norm: expected a kernel [O, C, kh, kw], got ",
            kernel.defined() ? shape_str(kernel.shape()) : std::string("an undefined tensor"));
  SNN_CHECK(n1 > 0 && n2 > 0, "circular_convolution_norm: the grid must be positive, got ", n1, "x", n2);
  const Tensor k = kernel.to(DType::Float64).contiguous();
  const double* kd = k.data<double>();
  const int64_t O = k.size(0), C = k.size(1), kh = k.size(2), kw = k.size(3), n = n1 * n2;
  // exp(−2πi t/n) for t in [0, n): phases reduced in integers, so no angle grows large
  std::vector<double> cos_t(n), sin_t(n);
  for (int64_t t = 0; t < n; ++t) {
    const double angle = 2.0 * M_PI * double(t) / double(n);
    cos_t[t] = std::cos(angle);
    sin_t[t] = std::sin(angle);
  }
  const int rows = static_cast<int>(2 * O), cols = static_cast<int>(2 * C);
  std::vector<double> m(size_t(rows) * cols);
  double best = 0;
  for (int64_t w1 = 0; w1 < n1; ++w1) {
    for (int64_t w2 = 0; w2 < n2; ++w2) {
      // K̂(−w) = conj K̂(w) has the same singular values: take one of each pair
      const int64_t c1 = (n1 - w1) % n1, c2 = (n2 - w2) % n2;
      if (c1 < w1 || (c1 == w1 && c2 < w2)) continue;
      // m, column-major [2O, 2C] = [[R, −I], [I, R]], K̂ = R + iI = Σ K_ij (cos φ − i sin φ)
      std::fill(m.begin(), m.end(), 0.0);
      for (int64_t i = 0; i < kh; ++i) {
        for (int64_t j = 0; j < kw; ++j) {
          const int64_t t = ((w1 * i % n1) * n2 + (w2 * j % n2) * n1) % n;
          const double re = cos_t[t], im = -sin_t[t];
          for (int64_t o = 0; o < O; ++o) {
            for (int64_t c = 0; c < C; ++c) {
              const double v = kd[((o * C + c) * kh + i) * kw + j];
              m[c * rows + o] += v * re;                    // R
              m[c * rows + O + o] += v * im;                // I
              m[(C + c) * rows + o] -= v * im;              // −I
              m[(C + c) * rows + O + o] += v * re;          // R
            }
          }
        }
      }
      best = std::max(best, dgesvd_values(m, rows, cols, "circular_convolution_norm")[0]);
    }
  }
  return best;
}

double spectral_norm_upper_bound(const LinearOperator& A) {
  SNN_CHECK(A.defined(), "spectral_norm_upper_bound: the operator has no weight");
  // dgesvd's σ is within a small multiple of 1e-16·σ_max of the true one; this margin covers that
  constexpr double kMargin = 1.0 + 1e-12;
  const Tensor& w = A.weight().value();
  for (double v : w.to_vector())  // LAPACK would only complain on stderr
    SNN_CHECK(std::isfinite(v), "spectral_norm_upper_bound: the weight of ", A.describe(),
              " holds NaN or infinity");
  double sigma;
  if (!A.is_convolution()) {
    sigma = singular_values(w)[0];
  } else if (A.input_numel() * A.output_numel() <= 300'000) {
    sigma = singular_values(operator_matrix(A))[0];
  } else {
    const int64_t n1 = std::max(A.height() + 2 * A.padding(), w.size(2));
    const int64_t n2 = std::max(A.width() + 2 * A.padding(), w.size(3));
    sigma = std::min(circular_convolution_norm(w, n1, n2), convolution_norm_bound(w));
  }
  SNN_CHECK(std::isfinite(sigma), "spectral_norm_upper_bound: ", A.describe(), " has a non-finite norm");
  return sigma * kMargin;
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
