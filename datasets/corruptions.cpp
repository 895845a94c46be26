// datasets/corruptions.cpp — Gaussian, salt-and-pepper and uniform noise (chapter 8).
#include "datasets/corruptions.h"

#include "core/error.h"
#include "core/ops.h"

namespace stablenn {

namespace {

void check_images(const Tensor& images, const char* op) {
  SNN_CHECK(images.defined(), op, ": undefined tensor");
  SNN_CHECK(is_floating(images.dtype()), op, ": expected float images in [0, 1], got ",
            dtype_name(images.dtype()));
}

}  // namespace

Tensor gaussian_noise(const Tensor& images, double sigma, Generator& gen) {
  check_images(images, "gaussian_noise");
  SNN_CHECK(sigma >= 0, "gaussian_noise: sigma must be >= 0, got ", sigma);
  return clamp(add(images, gen.normal(images.shape(), 0.0, sigma, images.dtype())), 0.0, 1.0);
}

Tensor salt_and_pepper(const Tensor& images, double p, Generator& gen) {
  check_images(images, "salt_and_pepper");
  SNN_CHECK(p >= 0 && p <= 1, "salt_and_pepper: p must be in [0, 1], got ", p);
  // One uniform u per pixel: u < p/2 -> 0, p/2 <= u < p -> 1, otherwise unchanged.
  const DType dtype = images.dtype();
  const Tensor u = gen.uniform(images.shape(), 0.0, 1.0, dtype);
  const Tensor pepper = lt(u, Tensor::scalar(p / 2, dtype));
  const Tensor salt = lt(u, Tensor::scalar(p, dtype));
  const Tensor salted = where(salt, Tensor::scalar(1.0, dtype), images);
  return clamp(where(pepper, Tensor::scalar(0.0, dtype), salted), 0.0, 1.0);
}

Tensor uniform_noise(const Tensor& images, double amplitude, Generator& gen) {
  check_images(images, "uniform_noise");
  SNN_CHECK(amplitude >= 0, "uniform_noise: amplitude must be >= 0, got ", amplitude);
  return clamp(add(images, gen.uniform(images.shape(), -amplitude, amplitude, images.dtype())), 0.0,
               1.0);
}

}  // namespace stablenn
