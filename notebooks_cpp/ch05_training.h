// notebooks_cpp/ch05_training.h — chapter 5's training of the spiral classifier (ch05_model.h):
// full-batch Adam, saved every few steps so that a run stopped by Ctrl-C continues where it was.
//
// A checkpoint holds the model, Adam's state (moments and step count) and what the run has counted
// so far (SpiralRun, in the metadata). Full batch means no randomness between steps, so a run
// continued from a checkpoint ends with the weights of an uninterrupted run, bit for bit (the test
// suite checks it).
#pragma once
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <sstream>
#include <string>

#include "autodiff/autodiff.h"
#include "layers/losses.h"
#include "notebooks_cpp/ch05_model.h"
#include "train/checkpoint.h"
#include "train/optim.h"

namespace stablenn {

// Chapter 5: what a training run has done and counted, over all the sessions that ran it.
struct SpiralRun {
  int64_t step = 0;                  // steps done
  double loss = 0;                   // the loss of the last step
  double seconds = 0;                // training time
  double graph_mib = 0;              // the graph kept for backward (measured by the caller at step 1)
  int64_t forward_evaluations = 0;   // field evaluations, summed over the steps
  int64_t backward_evaluations = 0;  // augmented evaluations of the backward passes, summed
};

// Chapter 5: `run` as checkpoint metadata, each double written so that it reads back exactly.
inline CheckpointMetadata spiral_run_metadata(const SpiralRun& run) {
  const auto exact = [](double v) {
    std::ostringstream os;
    os << std::setprecision(17) << v;
    return os.str();
  };
  return {{"step", std::to_string(run.step)},
          {"loss", exact(run.loss)},
          {"seconds", exact(run.seconds)},
          {"graph_mib", exact(run.graph_mib)},
          {"forward_evaluations", std::to_string(run.forward_evaluations)},
          {"backward_evaluations", std::to_string(run.backward_evaluations)}};
}

// Chapter 5: loads a checkpoint written by train_spiral_classifier into `model` and `optimizer`;
// returns the run it records. Throws naming the file when it does not fit the model, holds no Adam
// state, or lacks an entry (a file of the format before periodic saves, for instance).
inline SpiralRun load_spiral_run(const std::string& path, SpiralOdeClassifier& model, Adam& optimizer) {
  const CheckpointMetadata meta = load_checkpoint(path, model, &optimizer);
  const auto number = [&](const std::string& key) {
    const auto it = meta.find(key);
    SNN_CHECK(it != meta.end(), path, ": metadata has no '", key, "' entry");
    char* end = nullptr;
    const double value = std::strtod(it->second.c_str(), &end);
    SNN_CHECK(!it->second.empty() && *end == '\0' && std::isfinite(value), path, ": metadata '", key,
              "' is not a number: '", it->second, "'");
    return value;
  };
  SpiralRun run;
  run.step = checkpoint_integer(meta, "step", path, 0, int64_t{1} << 40);
  SNN_CHECK(run.step == optimizer.steps(), path, ": metadata says step ", run.step, ", the Adam state ",
            optimizer.steps());
  run.loss = number("loss");
  run.seconds = number("seconds");
  run.graph_mib = number("graph_mib");
  run.forward_evaluations = checkpoint_integer(meta, "forward_evaluations", path, 0, int64_t{1} << 50);
  run.backward_evaluations = checkpoint_integer(meta, "backward_evaluations", path, 0, int64_t{1} << 50);
  return run;
}

// Chapter 5: what train_spiral_classifier calls as it goes (each may be empty).
struct SpiralTrainingHooks {
  std::function<void(int64_t step, SpiralRun&)> after_forward;  // before backward: measure the graph
  std::function<void(int64_t step, const SpiralRun&)> after_step;  // progress (tests: an interrupt)
};

// Chapter 5: continues `run` (a fresh SpiralRun, or one load_spiral_run returned together with the
// model and optimizer it loaded) with full-batch steps of `optimizer` on (inputs, labels) until
// `steps`; saves model, optimizer and run to `checkpoint` (atomically; empty: never) after every
// `save_every` steps and after the last. Returns the run at the end.
inline SpiralRun train_spiral_classifier(SpiralOdeClassifier& model, Adam& optimizer, const Tensor& inputs,
                                         const Tensor& labels, int64_t steps, SpiralRun run,
                                         const std::string& checkpoint, int64_t save_every,
                                         const SpiralTrainingHooks& hooks = {}) {
  SNN_CHECK(save_every >= 1, "train_spiral_classifier: save_every must be at least 1, got ", save_every);
  const Var x(inputs);
  const auto start = std::chrono::steady_clock::now();
  const double earlier_seconds = run.seconds;
  while (run.step < steps) {
    const int64_t step = ++run.step;
    optimizer.zero_grad();
    const Var loss = cross_entropy(model(x), labels);
    if (hooks.after_forward) hooks.after_forward(step, run);
    backward(loss);
    optimizer.step();
    run.forward_evaluations += model.block->stats().forward_evaluations;
    run.backward_evaluations += model.block->stats().backward_evaluations;
    run.loss = loss.item();
    run.seconds = earlier_seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!checkpoint.empty() && (step % save_every == 0 || step == steps))
      save_checkpoint(checkpoint, model, &optimizer, spiral_run_metadata(run));
    if (hooks.after_step) hooks.after_step(step, run);
  }
  return run;
}

}  // namespace stablenn
