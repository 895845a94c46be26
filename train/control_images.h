// train/control_images.h — a small image classification problem for the controlled neural ODE of
// chapter 11: two classes of an image set, and a linear lift of each image to R^m (m ≤ the state
// dimension) by principal components of the training images.
//
// The lift is x ↦ P(x − μ)/s: μ the mean training image, P the m leading principal directions
// (orthonormal rows, the eigenvectors of the training covariance with the largest eigenvalues), s the
// standard deviation along the first one, so that the leading coordinate has unit variance like the
// 2-D sets' coordinates. It is fitted once on the training subset and applied unchanged to the test
// images; the ODE then starts from (Px, 0, ..., 0) exactly as for the 2-D sets (train/control_ode.h).
#pragma once
#include <cstdint>
#include <vector>

#include "datasets/dataset.h"
#include "train/control_ode.h"

namespace stablenn {

// Chapter 11: the examples of classes `first` and `second` (in their order in `data`), relabelled
// 0 and 1, class names kept. Throws naming the dataset when a class is out of range, the two are
// equal, or either has no example.
Dataset two_classes(const Dataset& data, int64_t first, int64_t second);

// Chapter 11: the fitted lift.
struct PcaLift {
  int64_t features = 0;          // F, the pixels per image
  int64_t components = 0;        // m
  std::vector<double> mean;      // μ, F values
  std::vector<double> basis;     // P, m × F row-major, orthonormal rows
  std::vector<double> variances; // the m eigenvalues (variance along each row of P), descending
  double total_variance = 0;     // the trace of the covariance: variances / this = share explained
  double scale = 1;              // s = sqrt(variances[0])
};

// Chapter 11: the m leading principal components of `train`'s images (any [N, ...] float inputs,
// flattened), by simultaneous (subspace) iteration with Gram–Schmidt from a fixed start, so the
// result depends on the data alone; each direction's sign is fixed by making its largest-magnitude
// entry positive. Throws when m < 1, m > F or m > N − 1 (the centred data has rank ≤ N − 1).
PcaLift fit_pca_lift(const Dataset& train, int64_t components, int64_t max_iterations = 500);

// Chapter 11: the lifted images as samples of the goal (N × m inputs, the labels). Throws naming
// the dataset when its images have another number of pixels than the lift was fitted on.
ControlSamples lift_samples(const PcaLift& lift, const Dataset& data);

}  // namespace stablenn
