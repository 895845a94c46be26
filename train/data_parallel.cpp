// train/data_parallel.cpp — one training step split over threads by batch rows (chapter 3).
#include "train/data_parallel.h"

#include <cmath>
#include <exception>
#include <omp.h>

#include "autodiff/backward.h"
#include "core/ops.h"

namespace stablenn {

namespace {

// What one thread computes for its rows of the batch.
struct Shard {
  Tensor inputs, labels;
  double weight = 0;  // its rows / the batch's rows
  Var logits;
  double loss = 0;
  std::vector<Var> grads;  // d(weight * loss)/d(parameter), contiguous; undefined where unused
};

// Shard s's part of summing the shards' gradients: elements [n s/T, n (s+1)/T) of every
// parameter's sum, in one pass (the gradients are contiguous), so the threads share the work.
template <class T>
void sum_slice(const std::vector<Shard>& shards, std::vector<Tensor>& sums, int s) {
  const int64_t count = static_cast<int64_t>(shards.size());
  std::vector<const T*> in;
  for (size_t i = 0; i < sums.size(); ++i) {
    const int64_t n = sums[i].numel(), lo = n * s / count, hi = n * (s + 1) / count;
    in.clear();
    for (const Shard& shard : shards)
      if (shard.grads[i].defined()) in.push_back(shard.grads[i].value().template data<T>());
    T* out = sums[i].template data<T>();
    for (int64_t k = lo; k < hi; ++k) {
      T total = 0;
      for (const T* g : in) total += g[k];
      out[k] = total;
    }
  }
}

}  // namespace

StepResult data_parallel_train_step(Module& model, Optimizer& optimizer, const LossFunction& loss_fn,
                                    const Batch& batch, double max_grad_norm, int shards) {
  SNN_CHECK(model.data_parallel_safe(),
            "data_parallel_train_step: the model holds a layer whose training forward pass cannot be "
            "split over threads (BatchNorm, Dropout, NeuralOde, or a module that does not declare "
            "own_forward_shards_safely); train it with train_step (TrainerOptions::data_parallel = false)");
  const int64_t rows = batch.labels.size(0);
  shards = static_cast<int>(std::min<int64_t>(shards, rows / kMinShardRows));
  if (shards <= 1 || omp_in_parallel()) return train_step(model, optimizer, loss_fn, batch, max_grad_norm);

  const std::vector<Var> params = model.parameters();
  SNN_CHECK(!params.empty(), "data_parallel_train_step: the model has no parameters");
  for (const Var& p : params)
    SNN_CHECK(p.dtype() == params.front().dtype() && (p.dtype() == DType::Float32 || p.dtype() == DType::Float64),
              "data_parallel_train_step: the parameters must all be float32 or all float64");
  std::vector<Shard> part(static_cast<size_t>(shards));
  for (int s = 0; s < shards; ++s) {  // contiguous row blocks, sizes differing by at most one
    const int64_t lo = rows * s / shards, hi = rows * (s + 1) / shards;
    part[s].inputs = batch.inputs.narrow(0, lo, hi - lo);
    part[s].labels = batch.labels.narrow(0, lo, hi - lo);
    part[s].weight = double(hi - lo) / double(rows);
  }
  std::vector<Tensor> sums;
  for (const Var& p : params) sums.push_back(Tensor::empty(p.shape(), p.dtype()));
  std::vector<std::exception_ptr> failure(part.size());
  optimizer.zero_grad();
  {
    const SharedStepScope step_scope;  // power iterations: once for the step, not once per shard
    // Inside the region our loops and OpenBLAS run on one thread each (core/parallel.h).
#pragma omp parallel num_threads(shards)
    {
      const int s = omp_get_thread_num();
      Shard& p = part[s];
      try {
        p.logits = model(Var(p.inputs));
        const Var loss = loss_fn(p.logits, p.labels);
        SNN_CHECK(loss.numel() == 1, "Trainer: the loss function must return one value, got shape ",
                  shape_str(loss.shape()));
        p.loss = loss.item();
        GradOptions o;
        o.allow_unused = true;
        p.grads = grad({loss}, params, {Tensor::scalar(p.weight, loss.dtype())}, o);
        for (Var& g : p.grads)
          if (g.defined()) g = Var(g.value().contiguous());
      } catch (...) {
        failure[s] = std::current_exception();
      }
#pragma omp barrier
      bool ok = true;
      for (const auto& f : failure) ok = ok && !f;
      if (ok && params.front().dtype() == DType::Float32) sum_slice<float>(part, sums, s);
      else if (ok) sum_slice<double>(part, sums, s);
    }
  }
  for (const auto& f : failure)
    if (f) std::rethrow_exception(f);

  StepResult step;
  std::vector<Tensor> logits;
  for (const Shard& p : part) {
    step.loss += p.weight * p.loss;
    logits.push_back(p.logits.value());
  }
  step.logits = Var(concat(logits, 0));
  step.finite = std::isfinite(step.loss);
  if (!step.finite) return step;  // before the step: a bad loss never reaches the weights
  for (size_t i = 0; i < params.size(); ++i) {
    bool used = false;
    for (const Shard& p : part) used = used || p.grads[i].defined();
    if (used) Var(params[i]).set_grad(Var(sums[i]));
  }
  if (max_grad_norm > 0) clip_grad_norm(params, max_grad_norm);
  optimizer.step();
  return step;
}

}  // namespace stablenn
