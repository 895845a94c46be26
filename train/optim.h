// train/optim.h — optimisers: SGD (momentum, Nesterov, weight decay), Adam, AdamW; gradient-norm
// clipping; learning-rate schedules; hooks after each step (chapter 3).
//
// Updates follow PyTorch's torch.optim exactly (tests compare 10 steps against PyTorch fixtures), and
// run as one fused loop per parameter, outside the tape.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autodiff/autodiff.h"
#include "io/safetensors.h"
#include "train/schedule.h"

namespace stablenn {

// Chapter 3: the base class: owns the parameter list, the learning rate and the step count.
class Optimizer {
 public:
  Optimizer(std::vector<Var> params, double lr, const char* name);
  virtual ~Optimizer() = default;
  // One update of every parameter that has a gradient, then the post-step hooks.
  void step();
  void zero_grad();
  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  // From now on the learning rate of step k is schedule(k).
  void set_schedule(Schedule schedule) { schedule_ = std::move(schedule); }
  int64_t steps() const { return steps_; }
  // "SGD", "Adam" or "AdamW": checkpoints store it, so a state is never loaded into another kind.
  const std::string& name() const { return name_; }
  // Chapter 3 (used from chapter 7 on): runs after every step, e.g. to project constrained
  // parameters back onto their set, or to refresh power-iteration vectors.
  void add_post_step_hook(std::function<void()> hook) { hooks_.push_back(std::move(hook)); }
  const std::vector<Var>& params() const { return params_; }
  // The optimiser's state (step count and per-parameter buffers) as named tensors prefixed
  // "optimizer.", for checkpoints; load_state copies them back (shapes checked by the caller).
  std::vector<NamedTensor> state() const;
  void load_state(const std::vector<NamedTensor>& tensors);

 protected:
  // Updates parameter i given its gradient (contiguous, same dtype and shape as the value).
  virtual void update(size_t i, Tensor& value, const Tensor& grad) = 0;
  // Per-parameter buffers (momentum, Adam moments), created lazily with the parameter's shape.
  // Returns a handle sharing the buffer's storage (writes go through), not a reference: creating
  // a second buffer may move the first one's slot, so a reference would dangle.
  Tensor buffer(size_t i, const std::string& name);
  std::vector<Var> params_;
  double lr_;
  int64_t steps_ = 0;

 private:
  std::string name_;
  Schedule schedule_;
  std::vector<std::function<void()>> hooks_;
  std::vector<std::vector<std::pair<std::string, Tensor>>> buffers_;
};

// Chapter 3: SGD as torch.optim.SGD: g += wd p; b = mu b + (1 - dampening) g (b = g at the first
// step); g = g + mu b (Nesterov) or b; p -= lr g.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Var> params, double lr, double momentum = 0.0, bool nesterov = false,
      double weight_decay = 0.0, double dampening = 0.0);

 private:
  void update(size_t i, Tensor& value, const Tensor& grad) override;
  double momentum_, weight_decay_, dampening_;
  bool nesterov_;
};

// Chapter 3: Adam as torch.optim.Adam (weight_decay adds wd p to the gradient), or, with
// decoupled = true, AdamW (p -= lr wd p before the Adam step).
class Adam : public Optimizer {
 public:
  Adam(std::vector<Var> params, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
       double eps = 1e-8, double weight_decay = 0.0, bool decoupled = false);

 private:
  void update(size_t i, Tensor& value, const Tensor& grad) override;
  double beta1_, beta2_, eps_, weight_decay_;
  bool decoupled_;
};

// Chapter 3: AdamW with PyTorch's default weight decay 0.01.
class AdamW : public Adam {
 public:
  AdamW(std::vector<Var> params, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weight_decay = 0.01)
      : Adam(std::move(params), lr, beta1, beta2, eps, weight_decay, true) {}
};

// Chapter 3: scales all gradients so that their joint 2-norm is at most max_norm (as
// torch.nn.utils.clip_grad_norm_); returns the norm before clipping.
double clip_grad_norm(const std::vector<Var>& params, double max_norm);

}  // namespace stablenn
