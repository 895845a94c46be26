// layers/optim.cpp — optimisers (chapter 3).
#include "layers/optim.h"

#include <cmath>

#include "core/parallel.h"

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
  for (size_t i = 0; i < params_.size(); ++i) {
    const Var g = params_[i].grad();
    if (!g.defined()) continue;
    Tensor grad = g.value().contiguous();
    Tensor& value = params_[i].mutable_value();
    SNN_CHECK(value.is_contiguous() && grad.shape() == value.shape() &&
                  grad.dtype() == value.dtype(),
              name_, ": gradient ", shape_str(grad.shape()), " does not fit parameter ",
              shape_str(value.shape()));
    update(i, value, grad);
  }
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

// Runs fn(value, grad, buffers..., n) on the typed data of one parameter, split across threads.
template <class F>
static void fused(Tensor& value, const Tensor& grad, std::vector<Tensor*> bufs, const F& fn) {
  if (value.dtype() == DType::Float32) {
    float* p = value.data<float>();
    const float* g = grad.data<float>();
    float* b0 = bufs.size() > 0 ? bufs[0]->data<float>() : nullptr;
    float* b1 = bufs.size() > 1 ? bufs[1]->data<float>() : nullptr;
    parallel_for(0, value.numel(), kDefaultGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t k = lo; k < hi; ++k) fn(p[k], g[k], b0 ? b0[k] : p[k], b1 ? b1[k] : p[k]);
    });
  } else {
    double* p = value.data<double>();
    const double* g = grad.data<double>();
    double* b0 = bufs.size() > 0 ? bufs[0]->data<double>() : nullptr;
    double* b1 = bufs.size() > 1 ? bufs[1]->data<double>() : nullptr;
    parallel_for(0, value.numel(), kDefaultGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t k = lo; k < hi; ++k) fn(p[k], g[k], b0 ? b0[k] : p[k], b1 ? b1[k] : p[k]);
    });
  }
}

SGD::SGD(std::vector<Var> params, double lr, double momentum, bool nesterov, double weight_decay,
         double dampening)
    : Optimizer(std::move(params), lr, "SGD"), momentum_(momentum), weight_decay_(weight_decay),
      dampening_(dampening), nesterov_(nesterov) {
  SNN_CHECK(momentum >= 0 && weight_decay >= 0, "SGD: momentum and weight decay must be >= 0");
  SNN_CHECK(!nesterov || (momentum > 0 && dampening == 0),
            "SGD: Nesterov momentum needs momentum > 0 and no dampening");
}

void SGD::update(size_t i, Tensor& value, const Tensor& grad) {
  const double lr = lr_, mu = momentum_, wd = weight_decay_, damp = dampening_;
  const bool first = steps_ == 0, nesterov = nesterov_;
  if (mu == 0) {
    fused(value, grad, {}, [=](auto& p, auto g, auto&, auto&) {
      using T = std::decay_t<decltype(p)>;
      p -= static_cast<T>(lr * (g + wd * p));
    });
    return;
  }
  Tensor momentum = buffer(i, "momentum");
  fused(value, grad, {&momentum}, [=](auto& p, auto g_in, auto& b, auto&) {
    using T = std::decay_t<decltype(p)>;
    const T g = static_cast<T>(g_in + wd * p);
    b = first ? g : static_cast<T>(mu * b + (1 - damp) * g);
    const T d = nesterov ? static_cast<T>(g + mu * b) : b;
    p -= static_cast<T>(lr * d);
  });
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
  const double b1 = beta1_, b2 = beta2_, eps = eps_, lr = lr_, wd = weight_decay_;
  const double c1 = 1 - std::pow(b1, t), c2 = 1 - std::pow(b2, t);
  const double step_size = lr / c1, sqrt_c2 = std::sqrt(c2);
  const bool decoupled = decoupled_;
  Tensor exp_avg = buffer(i, "exp_avg"), exp_avg_sq = buffer(i, "exp_avg_sq");
  fused(value, grad, {&exp_avg, &exp_avg_sq},
        [=](auto& p, auto g_in, auto& m, auto& v) {
          using T = std::decay_t<decltype(p)>;
          if (decoupled) p = static_cast<T>(p * (1 - lr * wd));
          const T g = decoupled ? g_in : static_cast<T>(g_in + wd * p);
          m = static_cast<T>(b1 * m + (1 - b1) * g);
          v = static_cast<T>(b2 * v + (1 - b2) * g * g);
          // PyTorch's form: p -= (lr / c1) m / (sqrt(v) / sqrt(c2) + eps)
          p -= static_cast<T>(step_size * m / (std::sqrt(v) / sqrt_c2 + eps));
        });
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
