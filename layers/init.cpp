// layers/init.cpp — weight initialisers (chapter 3).
#include "layers/init.h"

#include <cmath>

#include "core/ops.h"

namespace stablenn {

int64_t fan_in(const Shape& s) {
  SNN_CHECK(s.size() >= 2, "fan_in: expected a weight with at least 2 dimensions, got ",
            shape_str(s));
  int64_t receptive = 1;
  for (size_t d = 2; d < s.size(); ++d) receptive *= s[d];
  return s[1] * receptive;
}

int64_t fan_out(const Shape& s) {
  SNN_CHECK(s.size() >= 2, "fan_out: expected a weight with at least 2 dimensions, got ",
            shape_str(s));
  int64_t receptive = 1;
  for (size_t d = 2; d < s.size(); ++d) receptive *= s[d];
  return s[0] * receptive;
}

Tensor kaiming_uniform(const Shape& shape, Generator& g, double slope, DType dtype) {
  const double stddev = std::sqrt(2.0 / (1 + slope * slope)) / std::sqrt(double(fan_in(shape)));
  const double bound = std::sqrt(3.0) * stddev;
  return g.uniform(shape, -bound, bound, dtype);
}

Tensor kaiming_normal(const Shape& shape, Generator& g, double slope, DType dtype) {
  const double stddev = std::sqrt(2.0 / (1 + slope * slope)) / std::sqrt(double(fan_in(shape)));
  return g.normal(shape, 0, stddev, dtype);
}

Tensor xavier_uniform(const Shape& shape, Generator& g, double gain, DType dtype) {
  const double stddev = gain * std::sqrt(2.0 / double(fan_in(shape) + fan_out(shape)));
  const double bound = std::sqrt(3.0) * stddev;
  return g.uniform(shape, -bound, bound, dtype);
}

Tensor xavier_normal(const Shape& shape, Generator& g, double gain, DType dtype) {
  const double stddev = gain * std::sqrt(2.0 / double(fan_in(shape) + fan_out(shape)));
  return g.normal(shape, 0, stddev, dtype);
}

Tensor orthogonal(int64_t rows, int64_t cols, Generator& g, double gain, DType dtype) {
  SNN_CHECK(rows > 0 && cols > 0, "orthogonal: sizes must be positive, got ", rows, " x ", cols);
  // Orthonormalise the rows of a [n, m] Gaussian matrix with n <= m, transposing if needed.
  const bool tall = rows > cols;
  const int64_t n = tall ? cols : rows, m = tall ? rows : cols;
  std::vector<double> a = g.normal({n, m}, 0, 1, DType::Float64).to_vector();
  for (int64_t i = 0; i < n; ++i) {
    double* ri = &a[i * m];
    for (int pass = 0; pass < 2; ++pass)  // "twice is enough" (Kahan): exact to rounding
      for (int64_t j = 0; j < i; ++j) {
        const double* rj = &a[j * m];
        double dot = 0;
        for (int64_t k = 0; k < m; ++k) dot += ri[k] * rj[k];
        for (int64_t k = 0; k < m; ++k) ri[k] -= dot * rj[k];
      }
    double norm = 0;
    for (int64_t k = 0; k < m; ++k) norm += ri[k] * ri[k];
    norm = std::sqrt(norm);
    for (int64_t k = 0; k < m; ++k) ri[k] /= norm;
  }
  Tensor q = Tensor::from_vector(a, {n, m}, DType::Float64);
  if (tall) q = q.t();
  return mul(q, gain).to(dtype);
}

Tensor delta_orthogonal(const Shape& s, Generator& g, double gain, DType dtype) {
  SNN_CHECK(s.size() == 4 && s[2] % 2 == 1 && s[3] % 2 == 1,
            "delta_orthogonal: expected a kernel [O, C, k, k] with odd k, got ", shape_str(s));
  Tensor w = Tensor::zeros(s, dtype);
  w.select(3, s[3] / 2).select(2, s[2] / 2).copy_(orthogonal(s[0], s[1], g, gain, dtype));
  return w;
}

}  // namespace stablenn
