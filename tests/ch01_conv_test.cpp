// tests/ch01_conv_test.cpp — conv2d (im2col + GEMM, shifted GEMMs, the direct kernel) against its naive
// oracle, the adjoint identities, pooling against naive loops written here, and the error messages of
// bad shapes (chapter 1).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/stablenn_core.h"

using namespace stablenn;

namespace {

// Standard normal values in a fresh contiguous tensor.
Tensor random_tensor(Generator& gen, const Shape& shape, DType dtype) {
  return gen.normal(shape, 0.0, 1.0, dtype);
}

// The same kind of values in a non-contiguous view of `shape` [a, b, c, d]: axes 1 and 2 swapped
// and every other element of the last axis skipped.
Tensor random_strided(Generator& gen, const Shape& shape, DType dtype) {
  const Tensor base = gen.normal({shape[0], shape[2], shape[1], 2 * shape[3]}, 0.0, 1.0, dtype);
  return base.permute({0, 2, 1, 3}).slice(3, 0, 2 * shape[3], 2);
}

// max |a - b| / max |b|: the error relative to the reference's scale.
double relative_error(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  const std::vector<double> av = a.to_vector(), bv = b.to_vector();
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < av.size(); ++i) {
    diff = std::max(diff, std::abs(av[i] - bv[i]));
    scale = std::max(scale, std::abs(bv[i]));
  }
  return diff / std::max(scale, 1e-300);
}

double tolerance(DType dtype) { return dtype == DType::Float64 ? 1e-12 : 1e-5; }

// <a, b> and sum |a_i b_i| (the scale an inner product's rounding error is relative to).
struct InnerProduct {
  double value = 0.0, scale = 0.0;
};
InnerProduct inner(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  const std::vector<double> av = a.to_vector(), bv = b.to_vector();
  InnerProduct ip;
  for (size_t i = 0; i < av.size(); ++i) {
    ip.value += av[i] * bv[i];
    ip.scale += std::abs(av[i] * bv[i]);
  }
  return ip;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.to_vector() == b.to_vector();
}

// A random convolution whose kernel fits in the padded input.
struct ConvCase {
  int64_t n, c, o, h, w, kh, kw, stride, padding;
  Shape x_shape() const { return {n, c, h, w}; }
  Shape w_shape() const { return {o, c, kh, kw}; }
  Shape y_shape() const {
    return {n, o, (h + 2 * padding - kh) / stride + 1, (w + 2 * padding - kw) / stride + 1};
  }
};

ConvCase random_case(Generator& gen) {
  while (true) {
    ConvCase k{gen.randint(1, 4), gen.randint(1, 5), gen.randint(1, 5), gen.randint(1, 10),
               gen.randint(1, 10), gen.randint(1, 5), gen.randint(1, 5), gen.randint(1, 4),
               gen.randint(0, 3)};
    if (k.kh <= k.h + 2 * k.padding && k.kw <= k.w + 2 * k.padding) return k;
  }
}

std::string describe(const ConvCase& k, DType dtype) {
  return "x " + shape_str(k.x_shape()) + " w " + shape_str(k.w_shape()) + " stride " +
         std::to_string(k.stride) + " padding " + std::to_string(k.padding) + " " + dtype_name(dtype);
}

// Fast vs naive for all three functions on one case; `strided` makes x, w and gy non-contiguous.
void check_against_naive(Generator& gen, const ConvCase& k, DType dtype, bool strided) {
  SCOPED_TRACE(describe(k, dtype) + (strided ? " (strided inputs)" : ""));
  auto make = [&](const Shape& s) { return strided ? random_strided(gen, s, dtype) : random_tensor(gen, s, dtype); };
  const Tensor x = make(k.x_shape()), w = make(k.w_shape()), gy = make(k.y_shape());
  const Tensor bias = random_tensor(gen, {k.o}, dtype);
  const double tol = tolerance(dtype);
  EXPECT_LE(relative_error(conv2d(x, w, bias, k.stride, k.padding),
                           conv2d_naive(x, w, bias, k.stride, k.padding)), tol);
  EXPECT_LE(relative_error(conv2d_input_adjoint(gy, w, {k.h, k.w}, k.stride, k.padding),
                           conv2d_input_adjoint_naive(gy, w, {k.h, k.w}, k.stride, k.padding)), tol);
  EXPECT_LE(relative_error(conv2d_weight_adjoint(x, gy, {k.kh, k.kw}, k.stride, k.padding),
                           conv2d_weight_adjoint_naive(x, gy, {k.kh, k.kw}, k.stride, k.padding)), tol);
}

template <class F>
void expect_error(const F& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "expected a stablenn::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const std::string& part : parts)
      EXPECT_NE(message.find(part), std::string::npos) << "message \"" << message << "\" lacks \"" << part << "\"";
  }
}

}  // namespace

// ---------------------------------------------------------------- conv2d vs naive

TEST(Conv2d, MatchesNaiveOnRandomShapes) {
  Generator gen(101);
  for (int trial = 0; trial < 24; ++trial) {
    const ConvCase k = random_case(gen);
    for (DType dtype : {DType::Float64, DType::Float32}) check_against_naive(gen, k, dtype, trial % 2 == 1);
  }
}

TEST(Conv2d, MatchesNaiveOnPointwiseKernel) {
  // 1x1, stride 1, no padding skips im2col: its own code path.
  Generator gen(102);
  for (DType dtype : {DType::Float64, DType::Float32}) {
    check_against_naive(gen, {3, 5, 4, 6, 7, 1, 1, 1, 0}, dtype, false);
    check_against_naive(gen, {2, 3, 6, 5, 4, 1, 1, 1, 0}, dtype, true);
  }
}

TEST(Conv2d, MatchesNaiveOnThreadedBatch) {
  // Large enough per sample to run on several threads; 11 samples split unevenly over the weight
  // adjoint's chunks. Stride 1 (shifted GEMMs) and stride 2 (im2col) take different kernels.
  Generator gen(103);
  for (DType dtype : {DType::Float64, DType::Float32}) {
    check_against_naive(gen, {11, 16, 16, 10, 10, 3, 3, 1, 1}, dtype, dtype == DType::Float32);
    check_against_naive(gen, {11, 16, 8, 10, 9, 3, 3, 2, 1}, dtype, dtype == DType::Float64);
  }
}

TEST(Conv2d, MatchesNaiveWhenPaddingExceedsTheKernel) {
  // Padding wider than kernel - 1: outputs that see only padding (bias alone), in both kernels.
  Generator gen(108);
  for (DType dtype : {DType::Float64, DType::Float32}) {
    check_against_naive(gen, {2, 3, 2, 4, 5, 1, 1, 1, 2}, dtype, false);
    check_against_naive(gen, {2, 2, 3, 3, 4, 2, 3, 1, 3}, dtype, true);
    check_against_naive(gen, {2, 2, 3, 3, 4, 2, 3, 2, 3}, dtype, false);
  }
}

TEST(Conv2d, MatchesNaiveOnWideRowsAndOddChannelCounts) {
  // Stride 1 in float32 with at most 16 channels runs the direct kernel where the CPU has AVX2
  // (core/conv_direct.h): blocks of 4 output channels by 16 columns, then the remaining channels one
  // by one and the remaining columns one by one. Its input adjoint is a convolution with the rotated
  // kernel for square kernels with padding <= k - 1, and the shifted GEMMs otherwise (the third and
  // fifth case). The last case has more channels: the shifted GEMMs in float32 too.
  Generator gen(109);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    check_against_naive(gen, {3, 5, 7, 13, 21, 3, 3, 1, 1}, dtype, false);
    check_against_naive(gen, {2, 6, 9, 9, 30, 5, 5, 1, 2}, dtype, true);
    check_against_naive(gen, {2, 4, 5, 8, 19, 3, 5, 1, 1}, dtype, false);
    check_against_naive(gen, {2, 3, 4, 7, 17, 3, 3, 1, 0}, dtype, false);
    check_against_naive(gen, {2, 3, 6, 6, 18, 3, 3, 1, 3}, dtype, true);
    check_against_naive(gen, {2, 20, 18, 6, 19, 3, 3, 1, 1}, dtype, false);
  }
}

TEST(Conv2d, ResultsDoNotDependOnThreadCount) {
  Generator gen(104);
  const Tensor x = random_tensor(gen, {12, 8, 12, 12}, DType::Float32);
  const Tensor w = random_tensor(gen, {8, 8, 3, 3}, DType::Float32);
  const Tensor gy = random_tensor(gen, {12, 8, 12, 12}, DType::Float32);
  const Tensor gy2 = random_tensor(gen, {12, 8, 6, 6}, DType::Float32);  // stride 2: the im2col kernel
  std::vector<Tensor> results[2];
  for (int threads : {1, 2}) {
    FixedThreads fixed(threads);
    results[threads - 1] = {conv2d(x, w, Tensor(), 1, 1), conv2d_input_adjoint(gy, w, {12, 12}, 1, 1),
                            conv2d_weight_adjoint(x, gy, {3, 3}, 1, 1), conv2d(x, w, Tensor(), 2, 1),
                            conv2d_input_adjoint(gy2, w, {12, 12}, 2, 1),
                            conv2d_weight_adjoint(x, gy2, {3, 3}, 2, 1)};
  }
  for (size_t i = 0; i < results[0].size(); ++i)
    EXPECT_TRUE(bitwise_equal(results[0][i], results[1][i])) << "output " << i;
}

// ---------------------------------------------------------------- closed forms

TEST(Conv2d, CentredDeltaKernelCopiesTheInput) {
  // w[o, c] = delta(o, c) at the kernel's centre: with padding 1 the output is the input, and with
  // stride 2 it is every other row and column of it.
  Generator gen(105);
  const Tensor x = random_tensor(gen, {2, 3, 7, 6}, DType::Float64);
  Tensor w = Tensor::zeros({3, 3, 3, 3}, DType::Float64);
  for (int64_t c = 0; c < 3; ++c) w.set({c, c, 1, 1}, 1.0);
  EXPECT_TRUE(bitwise_equal(conv2d(x, w, Tensor(), 1, 1), x));
  const Tensor every_other = x.slice(2, 0, 7, 2).slice(3, 0, 6, 2);
  EXPECT_TRUE(bitwise_equal(conv2d(x, w, Tensor(), 2, 1), every_other.contiguous()));
}

TEST(Conv2d, BiasAddsOneConstantPerOutputChannel) {
  Generator gen(106);
  for (DType dtype : {DType::Float64, DType::Float32}) {
    const Tensor x = random_tensor(gen, {2, 3, 6, 5}, dtype), w = random_tensor(gen, {4, 3, 3, 2}, dtype);
    const Tensor bias = Tensor::from_vector({0.5, -2.0, 3.0, 10.0}, {4}, dtype);
    const Tensor with = conv2d(x, w, bias, 2, 1), without = conv2d(x, w, Tensor(), 2, 1);
    for (int64_t n = 0; n < with.size(0); ++n)
      for (int64_t o = 0; o < 4; ++o)
        for (int64_t i = 0; i < with.size(2); ++i)
          for (int64_t j = 0; j < with.size(3); ++j)
            EXPECT_NEAR(with.at({n, o, i, j}) - without.at({n, o, i, j}), bias.at({o}),
                        50 * tolerance(dtype));
  }
}

// ---------------------------------------------------------------- adjoint identities

TEST(Conv2d, AdjointIdentities) {
  // <gy, conv(x, w)> = <conv_input_adjoint(gy, w), x> = <conv_weight_adjoint(x, gy), w>
  Generator gen(107);
  for (int trial = 0; trial < 20; ++trial) {
    const ConvCase k = random_case(gen);
    SCOPED_TRACE(describe(k, DType::Float64));
    const Tensor x = random_tensor(gen, k.x_shape(), DType::Float64);
    const Tensor w = random_tensor(gen, k.w_shape(), DType::Float64);
    const Tensor gy = random_tensor(gen, k.y_shape(), DType::Float64);
    const InnerProduct forward = inner(gy, conv2d(x, w, Tensor(), k.stride, k.padding));
    const InnerProduct by_input = inner(conv2d_input_adjoint(gy, w, {k.h, k.w}, k.stride, k.padding), x);
    const InnerProduct by_weight = inner(conv2d_weight_adjoint(x, gy, {k.kh, k.kw}, k.stride, k.padding), w);
    EXPECT_LE(std::abs(forward.value - by_input.value), 1e-12 * forward.scale);
    EXPECT_LE(std::abs(forward.value - by_weight.value), 1e-12 * forward.scale);
  }
}

// ---------------------------------------------------------------- pooling

namespace {

struct PoolCase {
  int64_t n, c, h, w, kernel, stride, padding;
};

PoolCase random_pool_case(Generator& gen) {
  while (true) {
    const int64_t kernel = gen.randint(1, 5);
    PoolCase p{gen.randint(1, 3), gen.randint(1, 4), gen.randint(1, 10), gen.randint(1, 10), kernel,
               gen.randint(1, 4), gen.randint(0, kernel / 2 + 1)};
    if (kernel <= p.h + 2 * p.padding && kernel <= p.w + 2 * p.padding) return p;
  }
}

std::string describe(const PoolCase& p) {
  return "x " + shape_str({p.n, p.c, p.h, p.w}) + " kernel " + std::to_string(p.kernel) + " stride " +
         std::to_string(p.stride) + " padding " + std::to_string(p.padding);
}

// Straight from the definitions: the k*k window at (oh*stride - padding, ow*stride - padding); the
// average counts padding as zeros, the maximum looks only at real pixels. Also returns the maximum's
// flat index in its plane.
void naive_pools(const Tensor& x, const PoolCase& p, Tensor& avg, Tensor& max, std::vector<int64_t>& argmax) {
  const int64_t ho = (p.h + 2 * p.padding - p.kernel) / p.stride + 1;
  const int64_t wo = (p.w + 2 * p.padding - p.kernel) / p.stride + 1;
  avg = Tensor::zeros({p.n, p.c, ho, wo}, DType::Float64);
  max = Tensor::zeros({p.n, p.c, ho, wo}, DType::Float64);
  argmax.clear();
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t c = 0; c < p.c; ++c)
      for (int64_t i = 0; i < ho; ++i)
        for (int64_t j = 0; j < wo; ++j) {
          double sum = 0.0, best = -std::numeric_limits<double>::infinity();
          int64_t best_index = -1;
          for (int64_t a = 0; a < p.kernel; ++a)
            for (int64_t b = 0; b < p.kernel; ++b) {
              const int64_t ih = i * p.stride - p.padding + a, iw = j * p.stride - p.padding + b;
              if (ih < 0 || ih >= p.h || iw < 0 || iw >= p.w) continue;
              const double v = x.at({n, c, ih, iw});
              sum += v;
              if (v > best) best = v, best_index = ih * p.w + iw;
            }
          avg.set({n, c, i, j}, sum / double(p.kernel * p.kernel));
          max.set({n, c, i, j}, best);
          argmax.push_back(best_index);
        }
}

}  // namespace

TEST(Pool2d, MatchesNaiveLoops) {
  Generator gen(201);
  for (int trial = 0; trial < 24; ++trial) {
    const PoolCase p = random_pool_case(gen);
    for (DType dtype : {DType::Float64, DType::Float32}) {
      SCOPED_TRACE(describe(p) + " " + dtype_name(dtype));
      const Tensor x = trial % 2 ? random_strided(gen, {p.n, p.c, p.h, p.w}, dtype)
                                 : random_tensor(gen, {p.n, p.c, p.h, p.w}, dtype);
      Tensor avg_ref, max_ref, indices;
      std::vector<int64_t> argmax_ref;
      naive_pools(x.to(DType::Float64), p, avg_ref, max_ref, argmax_ref);
      EXPECT_LE(relative_error(avg_pool2d(x, p.kernel, p.stride, p.padding), avg_ref), tolerance(dtype));
      // The maximum is one of the inputs: exact in either dtype.
      EXPECT_TRUE(bitwise_equal(max_pool2d(x, p.kernel, p.stride, p.padding, &indices), max_ref));
      EXPECT_EQ(indices.dtype(), DType::Int64);
      EXPECT_EQ(indices.to_int64(), argmax_ref);
    }
  }
}

TEST(Pool2d, MaxPoolPaddingNeverWins) {
  Generator gen(202);
  const Tensor x = sub(neg(abs(random_tensor(gen, {2, 3, 5, 6}, DType::Float64))), 1.0);  // all < -1
  Tensor indices;
  const Tensor y = max_pool2d(x, 3, 2, 1, &indices);
  for (double v : y.to_vector()) EXPECT_LT(v, -1.0);
}

TEST(Pool2d, MaxPoolTiesGoToTheFirstPositionInTheWindow) {
  // As in PyTorch: on a constant input every window reports its top-left real pixel.
  const Tensor x = Tensor::ones({1, 1, 4, 5}, DType::Float64);
  Tensor indices;
  max_pool2d(x, 3, 2, 1, &indices);  // windows start at rows -1, 1 and columns -1, 1, 3
  EXPECT_EQ(indices.to_int64(), (std::vector<int64_t>{0, 1, 3, 5, 6, 8}));
}

TEST(Pool2d, AvgPoolAdjointIdentity) {
  // <gy, avg_pool(x)> = <avg_pool_adjoint(gy), x>
  Generator gen(203);
  for (int trial = 0; trial < 20; ++trial) {
    const PoolCase p = random_pool_case(gen);
    SCOPED_TRACE(describe(p));
    const Tensor x = random_tensor(gen, {p.n, p.c, p.h, p.w}, DType::Float64);
    const Tensor y = avg_pool2d(x, p.kernel, p.stride, p.padding);
    const Tensor gy = random_tensor(gen, y.shape(), DType::Float64);
    const InnerProduct forward = inner(gy, y);
    const InnerProduct adjoint = inner(avg_pool2d_adjoint(gy, {p.h, p.w}, p.kernel, p.stride, p.padding), x);
    EXPECT_LE(std::abs(forward.value - adjoint.value), 1e-12 * forward.scale);
  }
}

TEST(Pool2d, MaxPoolAdjointPutsGradientAtArgmax) {
  Generator gen(204);
  for (int trial = 0; trial < 20; ++trial) {
    const PoolCase p = random_pool_case(gen);
    SCOPED_TRACE(describe(p));
    const Tensor x = random_tensor(gen, {p.n, p.c, p.h, p.w}, DType::Float64);
    Tensor indices, avg_ref, max_ref;
    std::vector<int64_t> argmax_ref;
    const Tensor y = max_pool2d(x, p.kernel, p.stride, p.padding, &indices);
    naive_pools(x, p, avg_ref, max_ref, argmax_ref);
    const Tensor gy = random_tensor(gen, y.shape(), DType::Float64);
    const Tensor gx = max_pool2d_adjoint(gy, indices, {p.h, p.w});
    // Expected: each gy element added at its window's argmax (overlapping windows add up).
    std::vector<double> expected(p.n * p.c * p.h * p.w, 0.0);
    const std::vector<double> gyv = gy.to_vector();
    const int64_t out_plane = y.size(2) * y.size(3);
    for (size_t k = 0; k < gyv.size(); ++k)
      expected[(k / out_plane) * p.h * p.w + argmax_ref[k]] += gyv[k];
    const std::vector<double> got = gx.to_vector();
    ASSERT_EQ(got.size(), expected.size());
    for (size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], expected[k], 1e-12) << "at " << k;
    // And, at fixed indices, the adjoint identity.
    const InnerProduct forward = inner(gy, y), adjoint = inner(gx, x);
    EXPECT_LE(std::abs(forward.value - adjoint.value), 1e-12 * forward.scale);
  }
}

// ---------------------------------------------------------------- error messages

TEST(ConvErrors, NameTheOpAndTheShapes) {
  const Tensor x = Tensor::zeros({2, 3, 8, 8}), w = Tensor::zeros({4, 5, 3, 3});
  expect_error([&] { conv2d(x, w, Tensor(), 1, 0); }, {"conv2d", "[2, 3, 8, 8]", "[4, 5, 3, 3]"});
  expect_error([&] { conv2d_naive(x, w, Tensor(), 1, 0); }, {"conv2d_naive", "[2, 3, 8, 8]", "[4, 5, 3, 3]"});
  const Tensor w3 = Tensor::zeros({4, 3, 3, 3});
  expect_error([&] { conv2d(x, w3, Tensor(), 0, 0); }, {"conv2d", "stride", "0"});
  expect_error([&] { conv2d(x, w3, Tensor(), 1, -1); }, {"conv2d", "padding", "-1"});
  expect_error([&] { conv2d(Tensor::zeros({1, 3, 2, 2}), w3, Tensor(), 1, 0); },
               {"conv2d", "kernel", "[3, 3]", "[2, 2]"});
  expect_error([&] { conv2d(Tensor::zeros({1, 1, 2, 2}), Tensor::zeros({1, 1, 5, 5}), Tensor(), 1, 1); },
               {"conv2d", "[5, 5]", "[4, 4]"});
  expect_error([&] { conv2d(Tensor::zeros({3, 8, 8}), w3, Tensor(), 1, 0); }, {"conv2d", "4-D", "[3, 8, 8]"});
  expect_error([&] { conv2d(x, w3, Tensor::zeros({5}), 1, 0); }, {"conv2d", "bias", "[4]", "[5]"});
  expect_error([&] { conv2d(x, w3.to(DType::Float64), Tensor(), 1, 0); }, {"conv2d", "float32", "float64"});
  expect_error([&] { conv2d(x, w3, Tensor::zeros({4}, DType::Float64), 1, 0); },
               {"conv2d", "bias", "float64", "float32"});
  expect_error([&] { conv2d(Tensor::zeros({2, 3, 8, 8}, DType::Int64), w3.to(DType::Int64), Tensor(), 1, 0); },
               {"conv2d", "int64"});
}

TEST(ConvErrors, AdjointsCheckTheirShapes) {
  const Tensor w = Tensor::zeros({4, 3, 3, 3});
  // gy of a 6x6 output does not come from an 8x8 input with a 3x3 kernel and padding 1 (8x8).
  expect_error([&] { conv2d_input_adjoint(Tensor::zeros({2, 4, 6, 6}), w, {8, 8}, 1, 1); },
               {"conv2d_input_adjoint", "[2, 4, 6, 6]", "[8, 8]"});
  expect_error([&] { conv2d_input_adjoint(Tensor::zeros({2, 5, 8, 8}), w, {8, 8}, 1, 1); },
               {"conv2d_input_adjoint", "[2, 5, 8, 8]", "[4, 3, 3, 3]"});
  expect_error([&] { conv2d_input_adjoint(Tensor::zeros({2, 4, 8, 8}), w, {8}, 1, 1); },
               {"conv2d_input_adjoint", "input_hw", "[8]"});
  expect_error([&] { conv2d_weight_adjoint(Tensor::zeros({2, 3, 8, 8}), Tensor::zeros({3, 4, 8, 8}), {3, 3}, 1, 1); },
               {"conv2d_weight_adjoint", "[2, 3, 8, 8]", "[3, 4, 8, 8]", "batch"});
  expect_error([&] { conv2d_weight_adjoint(Tensor::zeros({2, 3, 8, 8}), Tensor::zeros({2, 4, 8, 8}), {3, 3}, 1, 0); },
               {"conv2d_weight_adjoint", "[2, 4, 8, 8]", "[6, 6]"});
  expect_error([&] { conv2d_weight_adjoint_naive(Tensor::zeros({2, 3, 8, 8}), Tensor::zeros({2, 4, 8, 8}), {3, 3}, 1, 0); },
               {"conv2d_weight_adjoint_naive", "[2, 4, 8, 8]"});
}

TEST(PoolErrors, NameTheOpAndTheProblem) {
  const Tensor x = Tensor::zeros({2, 3, 8, 8});
  expect_error([&] { avg_pool2d(x, 2, 2, 2); }, {"avg_pool2d", "padding", "2"});
  expect_error([&] { avg_pool2d(x, 0, 1, 0); }, {"avg_pool2d", "kernel"});
  expect_error([&] { max_pool2d(x, 2, 0, 0, nullptr); }, {"max_pool2d", "stride"});
  expect_error([&] { max_pool2d(Tensor::zeros({2, 3, 3, 3}), 5, 1, 0, nullptr); }, {"max_pool2d", "kernel", "[3, 3]"});
  expect_error([&] { avg_pool2d(Tensor::zeros({3, 8, 8}), 2, 2, 0); }, {"avg_pool2d", "4-D", "[3, 8, 8]"});
  expect_error([&] { avg_pool2d_adjoint(Tensor::zeros({2, 3, 5, 5}), {8, 8}, 2, 2, 0); },
               {"avg_pool2d_adjoint", "[2, 3, 5, 5]", "[4, 4]"});
  Tensor indices;
  const Tensor y = max_pool2d(x, 2, 2, 0, &indices);
  expect_error([&] { max_pool2d_adjoint(y, indices.to(DType::Float32), {8, 8}); },
               {"max_pool2d_adjoint", "int64", "float32"});
  expect_error([&] { max_pool2d_adjoint(Tensor::zeros({2, 3, 4, 3}), indices, {8, 8}); },
               {"max_pool2d_adjoint", "[2, 3, 4, 4]", "[2, 3, 4, 3]"});
  // Indices from an 8x8 input used for a 2x2 one point outside its planes.
  expect_error([&] { max_pool2d_adjoint(y, indices, {2, 2}); }, {"max_pool2d_adjoint", "outside"});
}
