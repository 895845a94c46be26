// train/optim.cpp — optimisers (chapter 3).
#include "train/optim.h"

#include <algorithm>
#include <cmath>

#include "core/parallel.h"

#ifdef __SSE__
#include <immintrin.h>
#endif

namespace stablenn {

Optimizer::Optimizer(std::vector<Var> params, double lr, const char* name)
    : params_(std::move(params)), lr_(lr), name_(name), buffers_(params_.size()) {
  SNN_CHECK(lr >= 0, name_, ": learning rate must be >= 0, got ", lr);
  for (size_t i = 0; i < params_.size(); ++i)
    SNN_CHECK(params_[i].defined() && params_[i].requires_grad(), name_, ": parameter ", i,
              " (", params_[i].defined() ? params_[i].name() : "undefined",
              ") does not require grad");
}

void Optimizer::step() {
  if (schedule_) lr_ = schedule_(steps_);
  NoGrad no_grad;
  struct Update {
    size_t index;
    Tensor* value;  // the parameter's value (taken here: in-place changes need this thread's NoGrad)
    Tensor grad;
  };
  std::vector<Update> todo;
  int64_t total = 0, largest = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Var g = params_[i].grad();
    if (!g.defined()) continue;
    Tensor grad = g.value().contiguous();
    Tensor& value = params_[i].mutable_value();
    SNN_CHECK(value.is_contiguous() && grad.shape() == value.shape() &&
                  grad.dtype() == value.dtype(),
              name_, ": gradient ", shape_str(grad.shape()), " does not fit parameter ",
              shape_str(value.shape()));
    todo.push_back({i, &value, grad});
    total += value.numel();
    largest = std::max(largest, value.numel());
  }
  // Parameters update independently. Chapter 8's networks hold ten 256 x 256 weights: each is one
  // grain, so a parallel loop per parameter keeps it on one thread, and the update ran on one core.
  // Updating whole parameters on different threads uses both, unless one parameter dominates (then
  // its own loop splits it). Each element's update is the same either way, bit for bit.
  const bool by_parameter = todo.size() > 1 && total >= 2 * kDefaultGrain && 2 * largest <= total &&
                            !omp_in_parallel() && num_threads() > 1;
  parallel_tasks(static_cast<int64_t>(todo.size()), by_parameter ? num_threads() : 1, [&](int64_t k) {
    update(todo[k].index, *todo[k].value, todo[k].grad);
  });
  ++steps_;
  for (auto& hook : hooks_) hook();
}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.zero_grad();
}

Tensor Optimizer::buffer(size_t i, const std::string& name) {
  for (auto& b : buffers_[i])
    if (b.first == name) return b.second;
  const Tensor& v = params_[i].value();
  buffers_[i].emplace_back(name, Tensor::zeros(v.shape(), v.dtype()));
  return buffers_[i].back().second;
}

std::vector<NamedTensor> Optimizer::state() const {
  std::vector<NamedTensor> out = {
      {"optimizer.steps", Tensor::from_int64({steps_}, {})},
      {"optimizer.lr", Tensor::scalar(lr_, DType::Float64)}};
  for (size_t i = 0; i < buffers_.size(); ++i)
    for (const auto& [name, t] : buffers_[i])
      out.push_back({"optimizer." + std::to_string(i) + "." + name, t});
  return out;
}

void Optimizer::load_state(const std::vector<NamedTensor>& tensors) {
  for (const auto& nt : tensors) {
    if (nt.name == "optimizer.steps") { steps_ = static_cast<int64_t>(nt.tensor.item()); continue; }
    if (nt.name == "optimizer.lr") { lr_ = nt.tensor.item(); continue; }
    if (nt.name.rfind("optimizer.", 0) != 0) continue;
    const std::string rest = nt.name.substr(10);
    const size_t dot = rest.find('.');
    SNN_CHECK(dot != std::string::npos, name_, ": malformed state entry '", nt.name, "'");
    const size_t i = std::stoul(rest.substr(0, dot));
    SNN_CHECK(i < params_.size(), name_, ": state entry '", nt.name, "' names parameter ", i,
              " but the optimiser has ", params_.size());
    Tensor b = buffer(i, rest.substr(dot + 1));
    SNN_CHECK(b.shape() == nt.tensor.shape(), name_, ": state '", nt.name, "': expected shape ",
              shape_str(b.shape()), ", got ", shape_str(nt.tensor.shape()));
    b.copy_(nt.tensor);
  }
}

// The update loops work in the parameter's own type T with T-typed coefficients, as PyTorch's
// float32 kernels do, on restrict-qualified pointers, so the compiler vectorises them. (An earlier
// version computed every element in double through a generic lambda, unvectorised: Adam's update
// took as long as the MLP's GEMMs in chapter 3's benchmark.)
namespace {

template <class T>
void sgd_loop(T* __restrict p, const T* __restrict g, T* __restrict b, int64_t lo, int64_t hi, T lr, T mu,
              T wd, T damp, bool first, bool nesterov) {
  if (b == nullptr) {  // plain SGD
    for (int64_t k = lo; k < hi; ++k) p[k] -= lr * (g[k] + wd * p[k]);
    return;
  }
  for (int64_t k = lo; k < hi; ++k) {
    const T gk = g[k] + wd * p[k];
    const T bk = first ? gk : mu * b[k] + (T(1) - damp) * gk;
    b[k] = bk;
    p[k] -= lr * (nesterov ? gk + mu * bk : bk);
  }
}

// std::sqrt may set errno (for negative inputs), and that branch keeps GCC from vectorising any loop
// that calls it (a per-function -fno-math-errno is not honoured). So the square roots get a loop of
// their own, four at a time with sqrtps on x86, and Adam works in blocks of 256 elements: the
// moments (vectorised), the square roots, the step (vectorised).
void square_roots(const float* v, float* out, int64_t n) {
  int64_t k = 0;
#ifdef __SSE__
  for (; k + 4 <= n; k += 4) _mm_storeu_ps(out + k, _mm_sqrt_ps(_mm_loadu_ps(v + k)));
#endif
  for (; k < n; ++k) out[k] = std::sqrt(v[k]);
}
void square_roots(const double* v, double* out, int64_t n) {
  for (int64_t k = 0; k < n; ++k) out[k] = std::sqrt(v[k]);
}

template <class T>
void adam_loop(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, int64_t lo, int64_t hi,
               T b1, T b2, T eps, T wd, T decay, T step_size, T sqrt_c2, bool decoupled) {
  constexpr int64_t kBlock = 256;
  T root[kBlock];
  for (int64_t base = lo; base < hi; base += kBlock) {
    const int64_t n = std::min(kBlock, hi - base);
    T* __restrict pb = p + base;
    T* __restrict mb = m + base;
    T* __restrict vb = v + base;
    const T* __restrict gb = g + base;
    for (int64_t k = 0; k < n; ++k) {
      if (decoupled) pb[k] *= decay;
      const T gk = decoupled ? gb[k] : gb[k] + wd * pb[k];
      mb[k] = b1 * mb[k] + (T(1) - b1) * gk;
      vb[k] = b2 * vb[k] + (T(1) - b2) * gk * gk;
    }
    square_roots(vb, root, n);
    // PyTorch's form: p -= (lr / c1) m / (sqrt(v) / sqrt(c2) + eps)
    for (int64_t k = 0; k < n; ++k) pb[k] -= step_size * mb[k] / (root[k] / sqrt_c2 + eps);
  }
}

}  // namespace

SGD::SGD(std::vector<Var> params, double lr, double momentum, bool nesterov, double weight_decay,
         double dampening)
    : Optimizer(std::move(params), lr, "SGD"), momentum_(momentum), weight_decay_(weight_decay),
      dampening_(dampening), nesterov_(nesterov) {
  SNN_CHECK(momentum >= 0 && weight_decay >= 0, "SGD: momentum and weight decay must be >= 0");
  SNN_CHECK(!nesterov || (momentum > 0 && dampening == 0),
            "SGD: Nesterov momentum needs momentum > 0 and no dampening");
}

void SGD::update(size_t i, Tensor& value, const Tensor& grad) {
  const bool first = steps_ == 0, nesterov = nesterov_;
  Tensor momentum;
  if (momentum_ != 0) momentum = buffer(i, "momentum");
  auto run = [&](auto zero) {
    using T = decltype(zero);
    T* p = value.data<T>();
    const T* g = grad.data<T>();
    T* b = momentum.defined() ? momentum.data<T>() : nullptr;
    parallel_for(0, value.numel(), kDefaultGrain, [&](int64_t lo, int64_t hi) {
      sgd_loop<T>(p, g, b, lo, hi, T(lr_), T(momentum_), T(weight_decay_), T(dampening_), first, nesterov);
    });
  };
  if (value.dtype() == DType::Float32) {
    run(0.0f);
  } else {
    run(0.0);
  }
}

Adam::Adam(std::vector<Var> params, double lr, double beta1, double beta2, double eps,
           double weight_decay, bool decoupled)
    : Optimizer(std::move(params), lr, decoupled ? "AdamW" : "Adam"), beta1_(beta1),
      beta2_(beta2), eps_(eps), weight_decay_(weight_decay), decoupled_(decoupled) {
  SNN_CHECK(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1,
            "Adam: betas must be in [0, 1), got ", beta1, ", ", beta2);
}

void Adam::update(size_t i, Tensor& value, const Tensor& grad) {
  const double t = static_cast<double>(steps_ + 1);
  const double c1 = 1 - std::pow(beta1_, t), c2 = 1 - std::pow(beta2_, t);
  Tensor exp_avg = buffer(i, "exp_avg"), exp_avg_sq = buffer(i, "exp_avg_sq");
  auto run = [&](auto zero) {
    using T = decltype(zero);
    T* p = value.data<T>();
    const T* g = grad.data<T>();
    T* m = exp_avg.data<T>();
    T* v = exp_avg_sq.data<T>();
    parallel_for(0, value.numel(), kDefaultGrain, [&](int64_t lo, int64_t hi) {
      adam_loop<T>(p, g, m, v, lo, hi, T(beta1_), T(beta2_), T(eps_), T(weight_decay_), T(1 - lr_ * weight_decay_),
                   T(lr_ / c1), T(std::sqrt(c2)), decoupled_);
    });
  };
  if (value.dtype() == DType::Float32) {
    run(0.0f);
  } else {
    run(0.0);
  }
}

double clip_grad_norm(const std::vector<Var>& params, double max_norm) {
  double total = 0;
  for (const auto& p : params)
    if (p.grad().defined()) total += sum(square(p.grad().value().to(DType::Float64))).item();
  total = std::sqrt(total);
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1) {
    NoGrad no_grad;
    for (const auto& p : params)
      if (p.grad().defined()) {
        Var g = p.grad();
        g.mutable_value().copy_(mul(g.value(), coef));
      }
  }
  return total;
}

}  // namespace stablenn
