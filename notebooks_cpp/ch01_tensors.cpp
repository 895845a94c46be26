// notebooks_cpp/ch01_tensors.cpp — chapter 1, "Tensors": shapes, strides and views, broadcasting,
// reductions, matmul through BLAS against the naive loop, seeded randomness, convolution.
// Read along in book/01-tensors.md. Run: build/notebooks_cpp/ch01_tensors [--step] [--smoke]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include "core/stablenn_core.h"
#include "plot/image_grid_plot.h"
#include "notebooks_cpp/harness.h"

using namespace stablenn;
using stablenn::notebook::Cell;
using stablenn::notebook::Context;

namespace {

// Median wall time of `reps` calls of fn, after one warm-up call (first-touch of memory, BLAS start-up).
double median_seconds(const std::function<void()>& fn, int reps) {
  fn();
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

std::string yes_no(bool b) { return b ? "yes" : "no"; }

// One line "name  shape [..]  strides [..]  offset k  contiguous yes/no" describing a view.
void describe(const std::string& name, const Tensor& t) {
  std::cout << "  " << std::left << std::setw(24) << name << std::right << " shape "
            << std::setw(10) << shape_str(t.shape()) << "  strides " << std::setw(11)
            << shape_str(t.strides()) << "  offset " << std::setw(2) << t.offset()
            << "  contiguous " << yes_no(t.is_contiguous()) << "\n";
}

// ---- cell 1 ----
void shapes_and_strides(Context&) {
  // x: [2, 3, 4], the numbers 0..23 in row-major order.
  Tensor x = Tensor::arange(24).reshape({2, 3, 4});
  std::cout << "x = arange(24).reshape({2, 3, 4}):\n" << x << "\n";
  describe("x", x);
  // Element (i, j, k) lives at storage[offset + i*s0 + j*s1 + k*s2].
  const Shape& s = x.strides();
  const int64_t flat = x.offset() + 1 * s[0] + 2 * s[1] + 3 * s[2];
  std::cout << "  x[1, 2, 3] = " << x.at({1, 2, 3}) << "  (storage position " << flat
            << " = 1*" << s[0] << " + 2*" << s[1] << " + 3*" << s[2] << ")\n"
            << "  dtype " << dtype_name(x.dtype()) << ", " << x.numel() << " elements, "
            << x.storage()->nbytes() << " bytes of storage\n";
}

// ---- cell 2 ----
void views_share_storage(Context&) {
  Tensor x = Tensor::arange(24).reshape({2, 3, 4});
  Tensor xt = x.transpose(1, 2);      // [2, 4, 3]: strides swapped, no copy
  Tensor every_other = x.slice(2, 0, 4, 2);  // [2, 3, 2]: the last stride doubles
  Tensor second = x.select(0, 1);     // [3, 4]: the offset moves to element 12
  Tensor column = x.narrow(2, 1, 1).squeeze(2);  // [2, 3]
  describe("x", x);
  describe("x.transpose(1, 2)", xt);
  describe("x.slice(2, 0, 4, 2)", every_other);
  describe("x.select(0, 1)", second);
  describe("x.narrow(2,1,1).squeeze", column);
  std::cout << "  all share x's storage: "
            << yes_no(xt.shares_storage(x) && every_other.shares_storage(x) &&
                      second.shares_storage(x) && column.shares_storage(x))
            << "\n";

  // A write through one view is visible through every other view of the same storage.
  every_other.set({1, 2, 1}, -1.0);  // the element x[1, 2, 2]
  std::cout << "  after every_other[1, 2, 1] = -1:  x[1, 2, 2] = " << x.at({1, 2, 2})
            << ",  xt[1, 2, 2] = " << xt.at({1, 2, 2}) << "\n";

  // contiguous() copies a strided view into fresh row-major storage; on a contiguous tensor it is free.
  Tensor packed = xt.contiguous();
  describe("xt.contiguous()", packed);
  std::cout << "  packed shares x's storage: " << yes_no(packed.shares_storage(x))
            << ";  x.contiguous() is x itself: " << yes_no(x.contiguous().shares_storage(x))
            << "\n";

  // view() never copies, so it refuses strides it cannot express; reshape() falls back to a copy.
  try {
    xt.view({24});
    std::cout << "  xt.view({24}) unexpectedly succeeded\n";
  } catch (const Error& e) {
    std::cout << "  xt.view({24}) throws: " << e.what() << "\n";
  }
  Tensor flat = xt.reshape({24});
  std::cout << "  xt.reshape({24}) copies instead: shares storage " << yes_no(flat.shares_storage(x))
            << "\n  " << flat << "\n";
}

// ---- cell 3 ----
void broadcasting(Context&) {
  // column: [3, 1], row: [1, 4] -> table: [3, 4]. Size-1 axes stretch; missing leading axes count as 1.
  Tensor column = Tensor::arange(3).reshape({3, 1});
  Tensor row = Tensor::arange(4).reshape({1, 4});
  Tensor table = column * 10.0 + row;
  std::cout << "column * 10 + row, shapes " << shape_str(column.shape()) << " and "
            << shape_str(row.shape()) << " -> " << shape_str(table.shape()) << ":\n"
            << table << "\n";
  // Broadcasting copies nothing: expand gives the repeated axis stride 0.
  Tensor stretched = row.expand({3, 4});
  describe("row.expand({3, 4})", stretched);
  std::cout << "  broadcast_shapes([8, 1, 6, 1], [7, 1, 5]) = "
            << shape_str(broadcast_shapes({8, 1, 6, 1}, {7, 1, 5}, "example")) << "\n";
  // A 0-d scalar broadcasts against anything; a size-0 axis stays size 0.
  Tensor empty_rows = Tensor::zeros({0, 4}) + row;
  std::cout << "  zeros({0, 4}) + row -> " << shape_str(empty_rows.shape()) << ";  table + scalar(1)"
            << " -> " << shape_str((table + Tensor::scalar(1.0)).shape()) << "\n";

  // Incompatible trailing sizes (3 vs 4) are an error that names the op and both shapes.
  try {
    Tensor bad = Tensor::ones({2, 3}) + Tensor::ones({4});
    std::cout << "  ones({2, 3}) + ones({4}) unexpectedly gave " << shape_str(bad.shape()) << "\n";
  } catch (const Error& e) {
    std::cout << "  ones({2, 3}) + ones({4}) throws: " << e.what() << "\n";
  }
}

// ---- cell 4 ----
void reductions_and_softmax(Context&) {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  std::cout << "x =\n" << x << "\n"
            << "  sum(x)            = " << sum(x).item() << "\n"
            << "  sum(x, {0})       = " << sum(x, {0}) << "\n"
            << "  sum(x, {1}, keep) = shape " << shape_str(sum(x, {1}, true).shape()) << " "
            << sum(x, {1}, true) << "\n"
            << "  mean(x, {1})      = " << mean(x, {1}) << "\n"
            << "  var(x, {1})       = " << var(x, {1}) << "   (population variance)\n"
            << "  amax(x, {0})      = " << amax(x, {0}) << "\n"
            << "  argmax(x, 1)      = " << argmax(x, 1) << "\n";

  // Softmax of large logits: exp overflows float32 above ~88, so the textbook formula gives inf/inf.
  Tensor logits = Tensor::from_vector({1000, 1001, 1002}, {3});
  Tensor naive = exp(logits) / sum(exp(logits));
  std::cout << "\nlogits = " << logits << "\n"
            << "  exp(z) / sum(exp(z))   = " << naive << "   (overflow: inf / inf)\n"
            << "  softmax(z, 0)          = " << softmax(logits, 0) << "\n"
            << "  log_softmax(z, 0)      = " << log_softmax(logits, 0) << "\n"
            << "  logsumexp(z, 0)        = " << logsumexp(logits, 0).item()
            << "   (= 1002 + log(1 + e^-1 + e^-2) = "
            << 1002.0 + std::log(1.0 + std::exp(-1.0) + std::exp(-2.0)) << ")\n";
}

// ---- cell 5 ----
void matmul_blas_vs_naive(Context& ctx) {
  const int64_t n = ctx.pick(512, 64);
  Generator gen(ctx.seed);
  // a, b: [n, n] float32.
  Tensor a = gen.normal({n, n});
  Tensor b = gen.normal({n, n});
  Tensor fast, slow;
  const double t_blas = median_seconds([&] { fast = matmul(a, b); }, ctx.smoke ? 3 : 7);
  const double t_naive = median_seconds([&] { slow = matmul_naive(a, b); }, 1);
  const double flops = 2.0 * n * n * n;
  // Relative to the largest entry, since float32 sums of n products carry ~sqrt(n) * 6e-8 error each.
  const double scale = amax(abs(slow)).item();
  std::cout << std::fixed << std::setprecision(4) << "  C = A B with A, B: [" << n << ", " << n
            << "] float32, " << ctx.threads << " thread(s)\n"
            << "  matmul (OpenBLAS sgemm) " << std::setw(9) << t_blas * 1e3 << " ms  "
            << std::setw(7) << std::setprecision(2) << flops / t_blas * 1e-9 << " GFLOP/s\n"
            << "  matmul_naive (loops)    " << std::setw(9) << std::setprecision(4)
            << t_naive * 1e3 << " ms  " << std::setw(7) << std::setprecision(2)
            << flops / t_naive * 1e-9 << " GFLOP/s   -> BLAS is " << std::setprecision(1)
            << t_naive / t_blas << "x faster\n"
            << std::defaultfloat << std::setprecision(3) << "  max |C_blas - C_naive| = "
            << max_abs_diff(fast, slow) << "  (largest |C| = " << scale << ")\n";
  ctx.result("matmul.n", static_cast<double>(n), "%.0f");
  ctx.result("matmul.blas_ms", t_blas * 1e3, "%.2f");
  ctx.result("matmul.naive_ms", t_naive * 1e3, "%.0f");
  ctx.result("matmul.blas_gflops", flops / t_blas * 1e-9, "%.1f");
  ctx.result("matmul.naive_gflops", flops / t_naive * 1e-9, "%.2f");
  ctx.result("matmul.speedup", t_naive / t_blas, "%.0f");
  ctx.result("matmul.max_diff", max_abs_diff(fast, slow), "%.1e");

  // Transposed operands go to BLAS as "transposed" flags, not as copies.
  Tensor at = a.t();
  std::cout << "  A^T is a view (contiguous " << yes_no(at.is_contiguous())
            << "); max |matmul(A^T, B) - naive| = "
            << max_abs_diff(matmul(at, b), matmul_naive(at.contiguous(), b)) << "\n";

  // Batched: [4, m, k] x [k, p] -> [4, m, p], the right operand broadcast over the batch axis.
  const int64_t m = ctx.pick(64, 8);
  Tensor batch = gen.normal({4, m, n});
  Tensor out = matmul(batch, b);
  std::cout << "  batched: " << shape_str(batch.shape()) << " x " << shape_str(b.shape()) << " -> "
            << shape_str(out.shape()) << ", max diff to naive "
            << max_abs_diff(out, matmul_naive(batch, b)) << "\n";

  // In float64 the two agree to round-off of the double accumulations.
  Tensor a64 = a.to(DType::Float64), b64 = b.to(DType::Float64);
  const double diff64 = max_abs_diff(matmul(a64, b64), matmul_naive(a64, b64));
  ctx.result("matmul.max_diff_float64", diff64, "%.1e");
  std::cout << "  float64: max |C_blas - C_naive| = " << diff64 << std::defaultfloat
            << std::setprecision(6) << "\n";

  try {
    matmul(Tensor::ones({2, 3}), Tensor::ones({4, 5}));
  } catch (const Error& e) {
    std::cout << "  matmul([2, 3], [4, 5]) throws: " << e.what() << "\n";
  }
}

// ---- cell 6 ----
void seeded_random_numbers(Context& ctx) {
  // The same seed gives the same numbers, whatever the thread count: element i is a hash of
  // (seed, counter + i), not the i-th step of a sequential stream.
  manual_seed(ctx.seed);
  Tensor first = default_generator().normal({6});
  manual_seed(ctx.seed);
  Tensor again = default_generator().normal({6});
  std::cout << "  manual_seed(" << ctx.seed << "); normal({6}) = " << first << "\n"
            << "  reseeded, drawn again: max difference " << max_abs_diff(first, again) << "\n";

  const int64_t count = ctx.pick(1 << 22, 1 << 16);
  set_num_threads(1);
  Tensor one_thread = Generator(ctx.seed).uniform({count});
  set_num_threads(2);
  Tensor two_threads = Generator(ctx.seed).uniform({count});
  set_num_threads(ctx.threads);
  std::cout << "  uniform({" << count << "}) on 1 thread vs 2 threads: max difference "
            << max_abs_diff(one_thread, two_threads) << "\n";

  // Quick sanity of the distributions against their closed forms.
  Generator gen(ctx.seed + 1);
  Tensor u = gen.uniform({count});
  Tensor z = gen.normal({count});
  Tensor coin = gen.bernoulli({count}, 0.3);
  std::cout << std::setprecision(4) << "  uniform[0,1):  mean " << mean(u).item()
            << " (1/2), variance " << var(u).item() << " (1/12 = " << 1.0 / 12 << ")\n"
            << "  normal(0,1):   mean " << mean(z).item() << " (0), variance " << var(z).item()
            << " (1)\n"
            << "  bernoulli(0.3): mean " << mean(coin).item() << " (0.3)\n"
            << std::setprecision(6);
  std::cout << "  permutation(10):";
  for (int64_t v : gen.permutation(10)) std::cout << " " << v;
  std::cout << "\n";
}

// ---- cell 7 ----
void convolution(Context& ctx) {
  // x: [N, C, H, W], w: [O, C, 3, 3], padding 1 keeps H, W.
  const int64_t batch = ctx.pick(32, 2), channels = 16, size = 28;
  Generator gen(ctx.seed + 2);
  Tensor x = gen.normal({batch, channels, size, size});
  Tensor w = gen.normal({channels, channels, 3, 3}, 0.0, 0.1);
  Tensor bias = gen.normal({channels});
  Tensor fast, slow;
  const double t_fast = median_seconds([&] { fast = conv2d(x, w, bias, 1, 1); }, ctx.smoke ? 2 : 5);
  const double t_slow = median_seconds([&] { slow = conv2d_naive(x, w, bias, 1, 1); }, 1);
  std::cout << "  conv2d " << shape_str(x.shape()) << " * " << shape_str(w.shape()) << " -> "
            << shape_str(fast.shape()) << "\n"
            << std::fixed << std::setprecision(2) << "  im2col + GEMM " << std::setw(8)
            << t_fast * 1e3 << " ms,  direct loops " << std::setw(8) << t_slow * 1e3 << " ms  ("
            << std::setprecision(1) << t_slow / t_fast << "x)\n"
            << std::defaultfloat << std::setprecision(3)
            << "  max |fast - naive| = " << max_abs_diff(fast, slow) << "\n";
  ctx.result("conv.im2col_ms", t_fast * 1e3, "%.1f");
  ctx.result("conv.naive_ms", t_slow * 1e3, "%.0f");
  ctx.result("conv.speedup", t_slow / t_fast, "%.0f");

  // The transposed convolution is the exact adjoint: <gy, conv(x)> = <conv^T(gy), x>.
  Tensor x64 = x.to(DType::Float64), w64 = w.to(DType::Float64);
  Tensor gy = gen.normal(fast.shape(), 0.0, 1.0, DType::Float64);
  const double lhs = sum(gy * conv2d(x64, w64, Tensor(), 1, 1)).item();
  const double rhs = sum(conv2d_input_adjoint(gy, w64, {size, size}, 1, 1) * x64).item();
  // How many digits the two sides share: -log10 of their relative difference.
  const double digits = -std::log10(std::max(std::abs(lhs - rhs) / std::abs(lhs), 1e-17));
  ctx.result("conv.adjoint_digits", digits, "%.0f");
  std::cout << std::setprecision(15) << "  <gy, conv(x)>   = " << lhs << "\n"
            << "  <conv^T(gy), x> = " << rhs << std::setprecision(6) << "\n";

  // A picture: a bright disc and a grey square, and the magnitude of their horizontal + vertical edges
  // (Sobel kernels, two output channels of one convolution).
  const int64_t side = 96;
  Tensor image = Tensor::zeros({1, 1, side, side});
  for (int64_t i = 0; i < side; ++i)
    for (int64_t j = 0; j < side; ++j) {
      const double di = i - 40.0, dj = j - 36.0;
      const bool in_disc = di * di + dj * dj < 24.0 * 24.0;
      const bool in_square = i >= 54 && i < 84 && j >= 56 && j < 86;
      if (in_disc || in_square) image.set({0, 0, i, j}, in_disc ? 1.0 : 0.6);
    }
  Tensor sobel = Tensor::from_vector({-1, 0, 1, -2, 0, 2, -1, 0, 1,    // d/dx
                                      -1, -2, -1, 0, 0, 0, 1, 2, 1},  // d/dy
                                     {2, 1, 3, 3});
  Tensor edges = conv2d(image, sobel, Tensor(), 1, 1);  // [1, 2, side, side]
  Tensor magnitude = sqrt(sum(square(edges), {1})).select(0, 0);  // [side, side]
  magnitude = magnitude / std::max(1e-12, amax(magnitude).item());
  // Both pictures side by side, each pixel drawn as a 3x3 block (nearest neighbour) so the 96x96
  // images are large enough to see, with a title and captions.
  CaptionedImageGrid figure;
  figure.images = stack({image.select(0, 0), magnitude.unsqueeze(0)}, 0);  // [2, 1, side, side]
  figure.captions = {"the image", "|Sobel edges| (conv2d)"};
  figure.title = "edge detection by a convolution";
  figure.columns = 2;
  figure.scale = 3;
  const std::string path = ctx.out_path("ch01_edges.png");
  figure.save(path);  // atomically, like every file the project writes
  std::cout << "  wrote " << path << " (left: the image, right: |Sobel edges| by conv2d)\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<Cell> cells = {
      {"Shapes, strides and offsets",
       "A tensor is a view on a flat buffer: a shape, one stride per axis (how far to move in the\n"
       "buffer for +1 along that axis), and an offset. Element (i, j, k) is at\n"
       "offset + i*s0 + j*s1 + k*s2.",
       shapes_and_strides},
      {"Views share storage",
       "transpose, slice, select, narrow and squeeze only rewrite shape, strides and offset: no data\n"
       "moves, and a write through one view shows in all others. contiguous() makes a packed copy.",
       views_share_storage},
      {"Broadcasting",
       "NumPy rules: align shapes on the right; each pair of sizes must be equal or contain a 1, and\n"
       "the 1 stretches (stride 0, no copy). Anything else is an error naming both shapes.",
       broadcasting},
      {"Reductions and a numerically stable softmax",
       "sum/mean/var/amax over any axes, with keepdim. softmax subtracts the maximum before\n"
       "exponentiating, so large logits do not overflow.",
       reductions_and_softmax},
      {"Matmul: OpenBLAS against the naive loop",
       "matmul hands 2-D blocks (also transposed ones) to cblas_sgemm; matmul_naive is a triple loop\n"
       "accumulating in double, kept as the test oracle. Same answer, very different speed.",
       matmul_blas_vs_naive},
      {"Seeded random numbers",
       "A counter-based generator: the same seed gives the same tensor on 1 or 2 threads.",
       seeded_random_numbers},
      {"Convolution: im2col + GEMM against direct loops",
       "conv2d unrolls input patches into a matrix (im2col) and calls GEMM; conv2d_naive is the\n"
       "direct seven-loop oracle. The transposed convolution is its exact adjoint. Writes a PNG.",
       convolution},
  };
  return stablenn::notebook::run_chapter(argc, argv, {1, "Tensors", "book/01-tensors.md"}, cells);
}
