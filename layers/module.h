// layers/module.h — Module: named parameters, buffers and children; train/eval mode (chapter 3).
//
// A layer owns its parameters as Var handles (requires_grad leaves) and registers them under a name,
// so that optimisers, checkpoints and summaries find them as "block.0.weight". Buffers are Tensors
// that are saved with the model but not trained (BatchNorm's running statistics, the power-iteration
// vectors of chapter 7); they are always updated in place, so registered handles stay valid.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "autodiff/autodiff.h"
#include "core/named_tensor.h"

namespace stablenn {

// Chapter 3: the base class of every layer and network.
class Module {
 public:
  virtual ~Module() = default;
  // y = f(x). Every module maps one Var to one Var.
  virtual Var forward(const Var& x) = 0;
  // Calls forward and, while summary() runs, records the output shape. Layers call their children
  // this way (child(x), not child.forward(x)) so that summaries see them.
  Var operator()(const Var& x);
  // One line for summaries, e.g. "Linear(784 -> 256)".
  virtual std::string describe() const = 0;

  // ---- what the module holds (children included, names joined with '.') ----
  std::vector<std::pair<std::string, Var>> named_parameters() const;
  std::vector<Var> parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  // Parameters and buffers together: what a checkpoint stores.
  std::vector<NamedTensor> state() const;
  // Parameters registered by this module itself, children excluded (for summaries).
  int64_t own_parameter_count() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const {
    return children_;
  }
  int64_t num_parameters() const;

  // ---- modes ----
  // Training mode (the default) vs evaluation mode; Dropout and BatchNorm behave differently.
  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }
  void zero_grad();

  // Chapter 3: may threads run this module's forward pass on different rows at once: the shards of
  // a training step (train/data_parallel.h), batches of an evaluation or of an attack? True when
  // the module and its children compute each example from the parameters alone, or update their
  // state once per step (see shared_step_number) and guard their caches. BatchNorm (batch
  // statistics), Dropout (one random stream) and NeuralOde (counters of one forward) say false.
  bool data_parallel_safe() const;
  // This module alone (data_parallel_safe asks the children). False unless a layer says otherwise:
  // the library's stateless layers and its norm layers do; BatchNorm, Dropout, NeuralOde, chapter
  // 10's classifier (it keeps its Euler states) and modules written elsewhere do not.
  virtual bool own_forward_shards_safely() const { return false; }

  // Chapter 3: a table of the layers: name, description, output shape (from a forward pass on zeros
  // of `input_shape` under NoGrad, in evaluation mode) and parameter count.
  std::string summary(const Shape& input_shape, DType dtype = DType::Float32);

 protected:
  // Registers a trainable tensor; returns the Var handle the layer keeps.
  Var register_parameter(const std::string& name, const Tensor& init);
  // Registers a buffer; the layer keeps the returned handle and must update it in place.
  Tensor register_buffer(const std::string& name, const Tensor& init);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    children_.emplace_back(name, child);
    return child;
  }
  // Called by train(); layers with mode-dependent state override it (and call the base).
  virtual void on_mode_change() {}

 private:
  std::vector<std::pair<std::string, Var>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// Chapter 3: the number of the data-parallel training step whose shards are running now (0 outside
// one). A module whose training forward pass updates state (chapter 7's warm-started power
// iterations) does the update once per step number, holding training_state_mutex(), so that a step
// split over threads updates it exactly as one unsplit step does.
uint64_t shared_step_number();
// Chapter 3: serialises those updates, and the norm caches of evaluation, while threads share a module.
std::mutex& training_state_mutex();
// Chapter 3: a data-parallel step's number for one scope (train/data_parallel.cpp).
class SharedStepScope {
 public:
  SharedStepScope();
  ~SharedStepScope();
  SharedStepScope(const SharedStepScope&) = delete;
  SharedStepScope& operator=(const SharedStepScope&) = delete;
};

// Chapter 3: applies its children one after another; children are named "0", "1", ...
class Sequential : public Module {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<Module>> layers);
  void add(std::shared_ptr<Module> layer);
  size_t size() const { return children().size(); }
  Module& operator[](size_t i) const { return *children()[i].second; }
  Var forward(const Var& x) override;
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override { return "Sequential"; }
};

}  // namespace stablenn
