// core/linalg.cpp — matmul through cblas_?gemm, and the naive triple loop beside it (chapter 1).
#include "core/linalg.h"

#include <cblas.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "core/blas_gemm.h"
#include "core/device_ops.h"
#include "core/dispatch.h"
#include "core/ops.h"

namespace stablenn {
namespace {

// The operands after NumPy's rules: 1-D operands lifted to matrices, batch axes broadcast.
struct MatmulShapes {
  Tensor a, b;       // [batch..., m, k] and [batch..., k, n], expanded (batch strides may be 0)
  Shape batch;       // broadcast batch shape
  Shape out_shape;   // final result shape (lifted axes dropped again)
  int64_t m, k, n;
};

MatmulShapes plan(const Tensor& a_in, const Tensor& b_in, const char* op) {
  SNN_CHECK(a_in.defined() && b_in.defined(), op, ": an operand is undefined");
  SNN_CHECK(a_in.dim() >= 1 && b_in.dim() >= 1, op, ": operands must have at least 1 dimension, got ",
            shape_str(a_in.shape()), " and ", shape_str(b_in.shape()));
  SNN_CHECK(a_in.dtype() == b_in.dtype(), op, ": dtype mismatch, ", dtype_name(a_in.dtype()), " ",
            shape_str(a_in.shape()), " and ", dtype_name(b_in.dtype()), " ", shape_str(b_in.shape()));
  SNN_CHECK(is_floating(a_in.dtype()), op, ": expected float tensors, got int64");
  const Tensor a = a_in.dim() == 1 ? a_in.unsqueeze(0) : a_in;
  const Tensor b = b_in.dim() == 1 ? b_in.unsqueeze(1) : b_in;
  MatmulShapes p;
  p.m = a.size(-2);
  p.k = a.size(-1);
  p.n = b.size(-1);
  SNN_CHECK(b.size(-2) == p.k, op, ": inner dimensions differ, ", shape_str(a_in.shape()), " @ ",
            shape_str(b_in.shape()), " (", p.k, " vs ", b.size(-2), ")");
  const Shape batch_a(a.shape().begin(), a.shape().end() - 2);
  const Shape batch_b(b.shape().begin(), b.shape().end() - 2);
  p.batch = broadcast_shapes(batch_a, batch_b, op);
  Shape sa = p.batch, sb = p.batch;
  sa.insert(sa.end(), {p.m, p.k});
  sb.insert(sb.end(), {p.k, p.n});
  p.a = a.expand(sa);
  p.b = b.expand(sb);
  p.out_shape = p.batch;
  if (a_in.dim() > 1) p.out_shape.push_back(p.m);
  if (b_in.dim() > 1) p.out_shape.push_back(p.n);
  return p;
}

// How a [rows, cols] block with strides (rs, cs) goes to BLAS: row-major as is, or as the transpose
// of a row-major block. Anything else needs a copy.
bool blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, CBLAS_TRANSPOSE* trans,
                 int64_t* ld) {
  if (cs == 1 && rs >= std::max<int64_t>(1, cols)) { *trans = CblasNoTrans; *ld = rs; return true; }
  if (rs == 1 && cs >= std::max<int64_t>(1, rows)) { *trans = CblasTrans; *ld = cs; return true; }
  if (rows == 1 && cs == 1) { *trans = CblasNoTrans; *ld = std::max<int64_t>(1, cols); return true; }
  if (cols == 1 && rs == 1) { *trans = CblasTrans; *ld = std::max<int64_t>(1, rows); return true; }
  return false;
}

// Offsets (in elements) of each batch entry of an expanded tensor.
std::vector<int64_t> batch_offsets(const Tensor& t, const Shape& batch) {
  const int64_t count = shape_numel(batch);
  std::vector<int64_t> offsets(count);
  for (int64_t i = 0; i < count; ++i) {
    int64_t rest = i, off = 0;
    for (int64_t d = static_cast<int64_t>(batch.size()) - 1; d >= 0; --d) {
      off += (rest % batch[d]) * t.strides()[d];
      rest /= batch[d];
    }
    offsets[i] = off;
  }
  return offsets;
}

// One counter per thread, each on its own cache line: the convolutions call GEMM from every thread
// thousands of times a batch, and one shared atomic bounced between the cores (2 % of a chapter 10
// epoch). Only the owning thread writes its counter; gemm_flops() adds them all up.
struct alignas(64) FlopCounter {
  std::atomic<int64_t> flops{0};
};
std::mutex g_counters_mutex;
// Never freed, so a thread's count outlives the thread, and no counter dies before a late writer.
std::vector<FlopCounter*>& all_counters() {
  static auto* counters = new std::vector<FlopCounter*>();
  return *counters;
}

FlopCounter& this_thread_counter() {
  thread_local FlopCounter* counter = [] {
    std::lock_guard<std::mutex> lock(g_counters_mutex);
    all_counters().push_back(new FlopCounter());
    return all_counters().back();
  }();
  return *counter;
}

}  // namespace

double gemm_flops() {
  std::lock_guard<std::mutex> lock(g_counters_mutex);
  int64_t total = 0;
  for (const FlopCounter* c : all_counters()) total += c->flops.load(std::memory_order_relaxed);
  return static_cast<double>(total);
}

void count_gemm_flops(int64_t m, int64_t n, int64_t k) {
  std::atomic<int64_t>& flops = this_thread_counter().flops;
  flops.store(flops.load(std::memory_order_relaxed) + 2 * m * n * k, std::memory_order_relaxed);
}

namespace {

// a·b, plus `bias` ([n], or nullptr) added to every row of the result: C starts as the bias rows and
// the GEMM adds to it (beta = 1), which spares both the zeroing of C and a separate addition.
Tensor matmul_plus_rows(const Tensor& a_in, const Tensor& b_in, const Tensor* bias) {
  MatmulShapes p = plan(a_in, b_in, "matmul");
  const int64_t nb = static_cast<int64_t>(p.batch.size());
  Shape full_out = p.batch;
  full_out.insert(full_out.end(), {p.m, p.n});
  Tensor out = Tensor::empty(full_out, p.a.dtype());
  if (out.numel() == 0) return out.reshape(p.out_shape);
  if (bias) out.copy_(*bias);  // broadcast over the rows
  if (p.k == 0) return bias ? out.reshape(p.out_shape) : Tensor::zeros(p.out_shape, p.a.dtype());

  CBLAS_TRANSPOSE ta, tb;
  int64_t lda, ldb;
  if (!blas_layout(p.m, p.k, p.a.strides()[nb], p.a.strides()[nb + 1], &ta, &lda)) {
    p.a = p.a.contiguous();
    blas_layout(p.m, p.k, p.a.strides()[nb], p.a.strides()[nb + 1], &ta, &lda);
  }
  if (!blas_layout(p.k, p.n, p.b.strides()[nb], p.b.strides()[nb + 1], &tb, &ldb)) {
    p.b = p.b.contiguous();
    blas_layout(p.k, p.n, p.b.strides()[nb], p.b.strides()[nb + 1], &tb, &ldb);
  }
  const std::vector<int64_t> off_a = batch_offsets(p.a, p.batch), off_b = batch_offsets(p.b, p.batch);
  const int64_t count = static_cast<int64_t>(off_a.size());
  detail::dispatch_float(out.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    const T* A = p.a.data<T>();
    const T* B = p.b.data<T>();
    T* C = out.data<T>();
    // Many small products: one per thread (BLAS runs single-threaded inside a parallel region).
    // Few large ones: one after another, each using all of BLAS's threads. (Cutting one product into
    // row blocks, one single-threaded GEMM per thread, was tried: no faster at the shapes of
    // chapter 8's toy example, and slower at 128x256x256.)
    const int64_t flops = p.m * p.n * p.k;
    parallel_for(0, count, std::max<int64_t>(1, (1 << 18) / std::max<int64_t>(1, flops)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t i = lo; i < hi; ++i)
                     gemm(ta == CblasTrans, tb == CblasTrans, p.m, p.n, p.k, A + off_a[i], lda, B + off_b[i],
                          ldb, T(bias != nullptr ? 1 : 0), C + i * p.m * p.n, p.n);
                 });
  });
  return out.reshape(p.out_shape);
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (detail::off_cpu(a, b)) return detail::run_on_device(DeviceOp::Matmul, a, b);
  return matmul_plus_rows(a, b, nullptr);
}

Tensor matmul_bias(const Tensor& a, const Tensor& b, const Tensor& bias) {
  SNN_CHECK(a.dim() == 2 && b.dim() == 2 && bias.defined() && bias.dim() == 1 && bias.size(0) == b.size(1) &&
                bias.dtype() == a.dtype(),
            "matmul_bias: expected a [m, k], b [k, n] and a bias [n] of a's dtype, got ", shape_str(a.shape()), ", ",
            shape_str(b.shape()), " and ", bias.defined() ? shape_str(bias.shape()) : std::string("none"));
  if (detail::off_cpu(a, b) || !bias.device().is_cpu()) {
    Tensor y = matmul(a, b);
    add_(y, bias);
    return y;
  }
  return matmul_plus_rows(a, b, &bias);
}

Tensor matmul_naive(const Tensor& a_in, const Tensor& b_in) {
  const MatmulShapes p = plan(a_in, b_in, "matmul_naive");
  Shape full_out = p.batch;
  full_out.insert(full_out.end(), {p.m, p.n});
  Tensor out = Tensor::empty(full_out, p.a.dtype());
  const int64_t nb = static_cast<int64_t>(p.batch.size());
  const std::vector<int64_t> off_a = batch_offsets(p.a, p.batch), off_b = batch_offsets(p.b, p.batch);
  detail::dispatch_float(out.dtype(), "matmul_naive", [&](auto tag) {
    using T = decltype(tag);
    const T* A = p.a.data<T>();
    const T* B = p.b.data<T>();
    T* C = out.data<T>();
    const int64_t ars = p.a.strides()[nb], acs = p.a.strides()[nb + 1];
    const int64_t brs = p.b.strides()[nb], bcs = p.b.strides()[nb + 1];
    for (size_t bi = 0; bi < off_a.size(); ++bi)
      for (int64_t i = 0; i < p.m; ++i)
        for (int64_t j = 0; j < p.n; ++j) {
          double s = 0;
          for (int64_t l = 0; l < p.k; ++l)
            s += static_cast<double>(A[off_a[bi] + i * ars + l * acs]) *
                 static_cast<double>(B[off_b[bi] + l * brs + j * bcs]);
          C[bi * p.m * p.n + i * p.n + j] = static_cast<T>(s);
        }
  });
  return out.reshape(p.out_shape);
}

}  // namespace stablenn
