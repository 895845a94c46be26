// Chapter 8 tests: the fused attack kernels (robust/attack_kernels.h) against their tensor-op
// references, bit for bit.
#include <gtest/gtest.h>

#include <cmath>

#include "robust/attack_kernels.h"

using namespace stablenn;
namespace ak = stablenn::attack_kernels;

namespace {

// Largest |a - b| over all elements (0 means identical values).
double max_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  const std::vector<double> x = a.to_vector(), y = b.to_vector();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

struct Batch {
  Tensor x, cur, prev, z, g;
  std::vector<double> eta;
};

// Images in [0, 1] and iterates around them; some rows sit far outside the ball (scale < 1), some
// inside (scale clamped to 1), one has a zero gradient (the 1e-12 guard).
Batch make_batch(const Shape& shape, DType dtype, uint64_t seed) {
  Generator g(seed);
  Batch b;
  b.x = g.uniform(shape, 0, 1, dtype);
  b.cur = clamp(add(b.x, g.normal(shape, 0, 0.05, dtype)), 0, 1);
  b.prev = clamp(add(b.x, g.normal(shape, 0, 0.05, dtype)), 0, 1);
  b.z = add(b.x, g.normal(shape, 0, 0.3, dtype));
  b.g = g.normal(shape, 0, 1e-3, dtype);
  Tensor first = b.g.select(0, 0);
  first.copy_(Tensor::zeros(first.shape(), dtype));
  for (int64_t i = 0; i < shape[0]; ++i) b.eta.push_back(0.01 + 0.5 * i);
  return b;
}

}  // namespace

TEST(Ch08AttackKernels, FusedL2KernelsMatchTheTensorOpsBitForBit) {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    for (const Shape& shape : {Shape{7, 784}, Shape{5, 1, 4, 5}, Shape{1, 3}}) {
      const Batch b = make_batch(shape, dtype, 3);
      for (double eps : {1e-3, 0.25, 2.0, 100.0}) {
        SCOPED_TRACE(std::string(dtype_name(dtype)) + " " + shape_str(shape) + " eps " + std::to_string(eps));
        EXPECT_EQ(max_diff(ak::project(b.x, b.z, AttackNorm::L2, eps, 0, 1),
                           ak::project_reference(b.x, b.z, AttackNorm::L2, eps, 0, 1)), 0.0);
        EXPECT_EQ(max_diff(ak::step_and_project(b.x, b.cur, b.g, b.eta, AttackNorm::L2, eps, 0, 1),
                           ak::step_and_project_reference(b.x, b.cur, b.g, b.eta, AttackNorm::L2, eps, 0, 1)),
                  0.0);
        for (double a : {1.0, 0.75})
          EXPECT_EQ(max_diff(ak::momentum_and_project(b.x, b.cur, b.z, b.prev, a, AttackNorm::L2, eps, 0, 1),
                             ak::momentum_and_project_reference(b.x, b.cur, b.z, b.prev, a, AttackNorm::L2, eps,
                                                                0, 1)),
                    0.0);
      }
    }
  }
}

TEST(Ch08AttackKernels, ProjectionLandsInTheBallAndTheRange) {
  const Batch b = make_batch({6, 50}, DType::Float64, 4);
  const double eps = 0.1;
  const Tensor p = ak::project(b.x, b.z, AttackNorm::L2, eps, 0, 1);
  const std::vector<double> d = per_example_norms(sub(p, b.x), AttackNorm::L2);
  for (double v : d) EXPECT_LE(v, eps * (1 + 1e-12));
  const std::vector<double> values = p.to_vector();
  for (double v : values) {
    EXPECT_GE(v, 0.0);
    EXPECT_LE(v, 1.0);
  }
}

TEST(Ch08AttackKernels, OtherNormsAndLayoutsFallBackToTheReferences) {
  const Batch b = make_batch({4, 6}, DType::Float32, 5);
  // l-infinity: the reference itself
  EXPECT_EQ(max_diff(ak::step_and_project(b.x, b.cur, b.g, b.eta, AttackNorm::Linf, 0.1, 0, 1),
                     ak::step_and_project_reference(b.x, b.cur, b.g, b.eta, AttackNorm::Linf, 0.1, 0, 1)),
            0.0);
  EXPECT_EQ(max_diff(ak::project(b.x, b.z, AttackNorm::Linf, 0.1, 0, 1),
                     ak::project_reference(b.x, b.z, AttackNorm::Linf, 0.1, 0, 1)),
            0.0);
  // a transposed (non-contiguous) view
  const Tensor zt = b.z.t().contiguous().t();
  ASSERT_FALSE(zt.is_contiguous());
  EXPECT_EQ(max_diff(ak::project(b.x, zt, AttackNorm::L2, 0.1, 0, 1),
                     ak::project_reference(b.x, b.z, AttackNorm::L2, 0.1, 0, 1)),
            0.0);
}

TEST(Ch08AttackKernels, ChooseRowsCopiesTheChosenRows) {
  const Batch b = make_batch({5, 2, 3}, DType::Float64, 6);
  const std::vector<bool> mask = {true, false, false, true, true};
  const Tensor fast = ak::choose_rows(mask, b.cur, b.prev);
  EXPECT_EQ(max_diff(fast, ak::choose_rows_reference(mask, b.cur, b.prev)), 0.0);
  for (int64_t i = 0; i < 5; ++i)
    EXPECT_EQ(max_diff(fast.select(0, i), (mask[i] ? b.cur : b.prev).select(0, i)), 0.0) << "row " << i;
}
