// train/trainer.h — the training loop of every chapter: epochs of forward, loss, backward, step,
// with a progress bar, a CSV log, evaluation, checkpoints and a stop on a diverging loss (chapter 3).
//
//   Trainer trainer(model, optimizer);                       // cross-entropy by default
//   trainer.options.epochs = 10;
//   trainer.options.checkpoint_path = ctx.out_path("mlp.safetensors");
//   trainer.options.csv_path = ctx.out_path("mlp.csv");
//   TrainResult result = trainer.fit(train_loader, &test_loader);
//   if (result.diverged) std::cout << result.message << "\n";
//
// One training step is   zero_grad; logits = model(x); loss = loss_fn(logits, y);
//                        [stop if loss is NaN or infinite]; backward(loss); [clip]; optimizer.step().
// The loss is checked before backward and step, so a non-finite loss never reaches the weights.
// When it happens, training stops with a message naming the epoch and batch, the checkpoint file
// still holds the last good epoch (it is only written after an epoch that ended well), and the
// model and optimiser are restored from it.
#pragma once
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "datasets/loader.h"
#include "layers/module.h"
#include "train/checkpoint.h"
#include "train/optim.h"
#include "train/progress.h"

namespace stablenn {

// Chapter 3: (logits [B, K], labels [B] Int64) -> scalar loss, e.g. cross_entropy.
using LossFunction = std::function<Var(const Var& logits, const Tensor& labels)>;

// Chapter 3: what evaluate() measures over a whole loader.
struct EvalResult {
  double loss = 0;      // mean over the examples (batches weighted by their size)
  double accuracy = 0;  // fraction of examples whose largest logit is at the label
  int64_t count = 0;    // examples seen
  // predictions[i]: the predicted class of example i of the loader's dataset (-1 if not seen).
  std::vector<int64_t> predictions;
};

// Chapter 3: one row of the training history (and of the CSV log).
struct EpochResult {
  int64_t epoch = 0;  // 1-based
  double lr = 0;      // learning rate of the epoch's last step
  double train_loss = 0, train_accuracy = 0;  // running means over the epoch's batches
  double test_loss = 0, test_accuracy = 0;    // NaN when no test loader was given
  double seconds = 0;                         // wall time of the training part of the epoch
};

// Chapter 3: the outcome of fit().
struct TrainResult {
  std::vector<EpochResult> history;  // the epochs that finished
  int64_t epochs_trained = 0;        // how many of them this fit() ran (0: the checkpoint had them all)
  bool diverged = false;             // stopped on a NaN or infinite loss
  int64_t diverged_epoch = 0, diverged_batch = 0;  // 1-based, when diverged
  std::string message;               // the stop message (empty unless diverged)
  double seconds = 0;                // wall time of the whole fit
};

// Chapter 3: the training time of the epochs in r.history (a resumed run's earlier epochs keep the
// time they took then, from the CSV log), so a program that reloads a checkpoint still reports it.
double logged_training_seconds(const TrainResult& r);

// Chapter 3: how the trainer runs.
struct TrainerOptions {
  int64_t epochs = 10;
  std::string checkpoint_path;  // written after epoch 0 (the initial state) and every good epoch;
                                // empty: no checkpoints (and nothing to restore on divergence)
  bool resume = false;          // start from checkpoint_path's epoch when the file exists
  std::string csv_path;         // one row per epoch (a resumed run starts the file afresh); empty: no log
  double clip_grad_norm = 0;    // > 0: clip the joint gradient norm to this before each step
  ProgressStyle progress_style = ProgressStyle::Auto;
  double progress_interval_s = 5.0;  // plain (non-terminal) output: at most one line per interval
  std::ostream* out = &std::cout;    // progress, evaluation lines and the stop message; null: silent
  std::string label = "train";
  // Split each step's batch over the threads, one whole forward and backward pass per thread
  // (train/data_parallel.h); only for models and losses that allow it.
  bool data_parallel = false;
  // Called after every epoch (e.g. to print a table row or adjust something); may be empty.
  std::function<void(const EpochResult&)> on_epoch_end;
};

// Chapter 3: one step of the loop. `logits` and `loss` of the batch; `finite` false means the
// loss was NaN or infinite and the step stopped before backward and the optimiser, so the weights
// are untouched.
struct StepResult {
  Var logits;
  double loss = 0;
  bool finite = true;
};

// Chapter 3: the step every training loop repeats, and the heart of Trainer::fit (chapter 3's
// "training loop" cell writes the same lines out): zero_grad; logits = model(x);
// loss = loss_fn(logits, y); stop here if the loss is not finite; backward(loss); clip the joint
// gradient norm to `max_grad_norm` when > 0; optimizer.step().
StepResult train_step(Module& model, Optimizer& optimizer, const LossFunction& loss_fn,
                      const Batch& batch, double max_grad_norm = 0);

// Chapter 3: the fraction correct and mean loss of `model` over every batch of `data` (epoch 0 of
// the loader), in evaluation mode and without recording; restores the model's mode afterwards.
// When model.data_parallel_safe(), whole batches run on different threads (loss_fn is then called
// from several threads at once), with the result of one thread, bit for bit.
EvalResult evaluate(Module& model, const DataLoader& data, const LossFunction& loss_fn);

// Chapter 3: true when every value of `t` is finite.
bool all_finite(const Tensor& t);

// Chapter 3: the training loop of train_step plus what a long run needs: epochs, a progress bar, a
// CSV log, evaluation after each epoch, checkpoints, resuming, and a clean stop on divergence.
class Trainer {
 public:
  // The default loss is cross_entropy without label smoothing.
  Trainer(Module& model, Optimizer& optimizer, LossFunction loss_fn = nullptr, TrainerOptions options = {});

  // Trains for options.epochs epochs over `train` (its epoch e uses the loader's seeded order of
  // epoch e - 1), evaluating on `test` after each epoch when given. Returns the history; a
  // diverging loss ends training early with result.diverged set (it does not throw).
  TrainResult fit(const DataLoader& train, const DataLoader* test = nullptr);

  TrainerOptions options;

 private:
  void say(const std::string& line) const;
  Module& model_;
  Optimizer& optimizer_;
  LossFunction loss_fn_;
};

}  // namespace stablenn
