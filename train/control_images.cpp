// train/control_images.cpp — two classes of an image set and the principal-component lift into the
// controlled neural ODE's input space (chapter 11). Plain loops: N × F × m is a few million
// multiply-adds per iteration at the sizes of the chapter.
#include "train/control_images.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "core/random.h"

namespace stablenn {

namespace {

// The images of `data` as N × F doubles, F the product of the non-batch dimensions.
std::vector<double> flat_images(const Dataset& data, int64_t& features) {
  if (!data.inputs.defined() || data.inputs.dim() < 2)
    throw Error("'" + data.name + "': expected images [N, ...], got inputs of rank " +
                std::to_string(data.inputs.defined() ? data.inputs.dim() : 0));
  const int64_t n = data.inputs.size(0);
  features = n ? data.inputs.numel() / n : 0;
  const Tensor x = data.inputs.to(DType::Float64).contiguous();
  return std::vector<double>(x.data<double>(), x.data<double>() + n * features);
}

double dot(const double* a, const double* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Modified Gram–Schmidt on the m rows of `v` (m × F), in place. Rows that lose their norm (the
// start is generic, so only for degenerate data) are left as zero and caught by the caller.
void orthonormalise(std::vector<double>& v, int64_t m, int64_t f) {
  for (int64_t c = 0; c < m; ++c) {
    double* row = v.data() + c * f;
    for (int64_t e = 0; e < c; ++e) {
      const double* prev = v.data() + e * f;
      const double p = dot(row, prev, f);
      for (int64_t j = 0; j < f; ++j) row[j] -= p * prev[j];
    }
    const double norm = std::sqrt(dot(row, row, f));
    for (int64_t j = 0; j < f; ++j) row[j] = norm > 0 ? row[j] / norm : 0.0;
  }
}

}  // namespace

Dataset two_classes(const Dataset& data, int64_t first, int64_t second) {
  const int64_t classes = data.num_classes();
  if (first < 0 || second < 0 || first >= classes || second >= classes || first == second)
    throw Error("two_classes: '" + data.name + "' has " + std::to_string(classes) + " classes; cannot take " +
                std::to_string(first) + " and " + std::to_string(second));
  const Tensor labels = data.labels.contiguous();
  const int64_t* y = labels.data<int64_t>();
  std::vector<int64_t> keep, relabelled;
  for (int64_t i = 0; i < data.size(); ++i)
    if (y[i] == first || y[i] == second) keep.push_back(i), relabelled.push_back(y[i] == first ? 0 : 1);
  const int64_t ones = std::count(relabelled.begin(), relabelled.end(), int64_t{1});
  if (ones == 0 || ones == static_cast<int64_t>(relabelled.size()))
    throw Error("two_classes: '" + data.name + "' has no example of class " +
                std::to_string(ones == 0 ? second : first));
  Dataset out = select_examples(data, keep);
  out.labels = Tensor::from_int64(relabelled, {static_cast<int64_t>(relabelled.size())});
  out.class_names = {data.class_names[first], data.class_names[second]};
  out.coarse_labels = Tensor();
  out.coarse_class_names.clear();
  out.name = data.name + " (" + out.class_names[0] + " vs " + out.class_names[1] + ")";
  return out;
}

PcaLift fit_pca_lift(const Dataset& train, int64_t components, int64_t max_iterations) {
  PcaLift lift;
  std::vector<double> x = flat_images(train, lift.features);
  const int64_t n = train.inputs.size(0), f = lift.features, m = components;
  if (m < 1 || m > f || m > n - 1)
    throw Error("fit_pca_lift: cannot take " + std::to_string(m) + " components of '" + train.name + "' (" +
                std::to_string(n) + " images of " + std::to_string(f) + " pixels)");
  // Centre.
  lift.mean.assign(f, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < f; ++j) lift.mean[j] += x[i * f + j] / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < f; ++j) x[i * f + j] -= lift.mean[j];
  lift.total_variance = dot(x.data(), x.data(), n * f) / static_cast<double>(n);
  // Equal images leave only the rounding of the mean (~1e-17 per pixel) after centring.
  if (!(lift.total_variance > 1e-20 * static_cast<double>(f) * (1 + dot(lift.mean.data(), lift.mean.data(), f))))
    throw Error("fit_pca_lift: the images of '" + train.name + "' are all equal");

  // Simultaneous iteration V ← orth(V C), C = XᵀX/N, from a fixed Gaussian start; rows converge to the
  // leading eigenvectors in order (at the rate of the eigenvalue ratios).
  Generator start(0x11c0de);
  std::vector<double> v(m * f), y(n * m), w(m * f);
  for (double& e : v) e = start.normal_scalar();
  orthonormalise(v, m, f);
  for (int64_t it = 0; it < max_iterations; ++it) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < m; ++c) y[i * m + c] = dot(x.data() + i * f, v.data() + c * f, f);
    std::fill(w.begin(), w.end(), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < m; ++c) {
        const double a = y[i * m + c];
        double* row = w.data() + c * f;
        const double* xi = x.data() + i * f;
        for (int64_t j = 0; j < f; ++j) row[j] += a * xi[j];
      }
    orthonormalise(w, m, f);
    double change = 0;  // 1 − |cos| of the angle each direction moved
    for (int64_t c = 0; c < m; ++c)
      change = std::max(change, 1.0 - std::abs(dot(w.data() + c * f, v.data() + c * f, f)));
    v.swap(w);
    if (change < 1e-12) break;
  }
  // Variances along the directions, and a fixed sign for each (its largest entry positive).
  for (int64_t c = 0; c < m; ++c) {
    double* row = v.data() + c * f;
    const double norm = std::sqrt(dot(row, row, f));
    if (!(std::abs(norm - 1) < 1e-6))
      throw Error("fit_pca_lift: '" + train.name + "' has fewer than " + std::to_string(m) + " independent directions");
    const int64_t big = std::max_element(row, row + f, [](double a, double b) { return std::abs(a) < std::abs(b); }) - row;
    if (row[big] < 0)
      for (int64_t j = 0; j < f; ++j) row[j] = -row[j];
    double var = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double p = dot(x.data() + i * f, row, f);
      var += p * p / static_cast<double>(n);
    }
    if (!(var > 1e-12 * lift.total_variance))
      throw Error("fit_pca_lift: '" + train.name + "' has fewer than " + std::to_string(m) + " independent directions");
    lift.variances.push_back(var);
  }
  lift.components = m;
  lift.basis = std::move(v);
  lift.scale = std::sqrt(lift.variances[0]);
  return lift;
}

ControlSamples lift_samples(const PcaLift& lift, const Dataset& data) {
  int64_t f = 0;
  const std::vector<double> x = flat_images(data, f);
  if (f != lift.features)
    throw Error("lift_samples: '" + data.name + "' has images of " + std::to_string(f) + " pixels; the lift was fitted on " +
                std::to_string(lift.features));
  if (!data.labels.defined() || data.labels.dtype() != DType::Int64 || data.labels.size(0) != data.inputs.size(0))
    throw Error("lift_samples: '" + data.name + "' needs Int64 labels [N] matching its images");
  ControlSamples s;
  s.count = data.inputs.size(0);
  s.input_dim = lift.components;
  s.inputs.resize(s.count * s.input_dim);
  std::vector<double> centred(f);
  for (int64_t i = 0; i < s.count; ++i) {
    for (int64_t j = 0; j < f; ++j) centred[j] = x[i * f + j] - lift.mean[j];
    for (int64_t c = 0; c < lift.components; ++c)
      s.inputs[i * s.input_dim + c] = dot(centred.data(), lift.basis.data() + c * f, f) / lift.scale;
  }
  const Tensor labels = data.labels.contiguous();
  s.labels.assign(labels.data<int64_t>(), labels.data<int64_t>() + s.count);
  return s;
}

}  // namespace stablenn
