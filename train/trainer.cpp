// train/trainer.cpp — the training-loop helper (chapter 3).
#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <sstream>

#include <omp.h>

#include "core/ops.h"
#include "core/parallel.h"
#include "io/file_bytes.h"
#include "layers/losses.h"
#include "train/csv_log.h"
#include "train/data_parallel.h"

namespace stablenn {

namespace {

// The largest epoch a checkpoint may say it was saved after (far beyond any real run).
constexpr int64_t kMaxCheckpointEpoch = 1'000'000'000;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Number of rows of logits [B, K] whose largest entry is at the label; fills `predicted`.
int64_t count_correct(const Tensor& logits, const Tensor& labels, std::vector<int64_t>& predicted) {
  predicted = argmax(logits, 1).to_int64();
  const std::vector<int64_t> y = labels.to_int64();
  int64_t correct = 0;
  for (size_t i = 0; i < y.size(); ++i) correct += predicted[i] == y[i];
  return correct;
}

double checked_loss_value(const Var& loss) {
  SNN_CHECK(loss.numel() == 1, "Trainer: the loss function must return one value, got shape ",
            shape_str(loss.shape()));
  return loss.item();
}

std::string number(double value) {
  std::ostringstream os;
  os.precision(9);
  os << value;
  return os.str();
}

// A stream that discards everything (options.out == nullptr).
std::ostream& null_stream() {
  static std::ostream discard(nullptr);
  return discard;
}

}  // namespace

bool all_finite(const Tensor& t) {
  if (t.is_contiguous() && t.dtype() == DType::Float32) {
    const float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i)
      if (!std::isfinite(p[i])) return false;
    return true;
  }
  if (t.dtype() == DType::Int64) return true;
  for (double v : t.to_vector())
    if (!std::isfinite(v)) return false;
  return true;
}

EvalResult evaluate(Module& model, const DataLoader& data, const LossFunction& loss_fn) {
  const LossFunction& loss_of =
      loss_fn ? loss_fn : LossFunction([](const Var& z, const Tensor& y) { return cross_entropy(z, y); });
  const bool was_training = model.training();
  model.eval();
  NoGrad no_grad;
  EvalResult result;
  result.predictions.assign(static_cast<size_t>(data.dataset().size()), -1);
  double loss_sum = 0;
  int64_t correct = 0;
  std::vector<int64_t> predicted;
  // A network that computes each example alone evaluates whole batches on different threads, one
  // core each: a fork and join per group of batches instead of one per op (see train/data_parallel.h).
  // Each batch's numbers are summed in batch order: the result is that of one thread, bit for bit.
  const int threads = model.data_parallel_safe() && !omp_in_parallel() ? num_threads() : 1;
  try {
    EpochReader reader = data.epoch(0);
    std::vector<Batch> group;
    for (;;) {
      group.clear();
      Batch batch;
      while (static_cast<int>(group.size()) < threads && reader.next(batch)) group.push_back(std::move(batch));
      if (group.empty()) break;
      const int count = static_cast<int>(group.size());
      std::vector<Tensor> logits(group.size());
      std::vector<double> losses(group.size());
      parallel_tasks(count, count, [&](int64_t k) {
        NoGrad no_grad_here;  // recording is per thread
        const Var z = model(Var(group[k].inputs));
        losses[k] = checked_loss_value(loss_of(z, group[k].labels));
        logits[k] = z.value();
      });
      for (int k = 0; k < count; ++k) {
        const int64_t b = group[k].labels.size(0);
        loss_sum += losses[k] * double(b);
        correct += count_correct(logits[k], group[k].labels, predicted);
        for (int64_t i = 0; i < b; ++i) result.predictions[static_cast<size_t>(group[k].indices[i])] = predicted[i];
        result.count += b;
      }
    }
  } catch (...) {
    model.train(was_training);
    throw;
  }
  model.train(was_training);
  if (result.count > 0) {
    result.loss = loss_sum / double(result.count);
    result.accuracy = double(correct) / double(result.count);
  }
  return result;
}

StepResult train_step(Module& model, Optimizer& optimizer, const LossFunction& loss_fn,
                      const Batch& batch, double clip) {
  StepResult step;
  optimizer.zero_grad();
  step.logits = model(Var(batch.inputs));
  const Var loss = loss_fn(step.logits, batch.labels);
  step.loss = checked_loss_value(loss);
  step.finite = std::isfinite(step.loss);
  if (!step.finite) return step;  // before backward and step: a bad loss never reaches the weights
  backward(loss);
  if (clip > 0) clip_grad_norm(model.parameters(), clip);
  optimizer.step();
  return step;
}

Trainer::Trainer(Module& model, Optimizer& optimizer, LossFunction loss_fn, TrainerOptions trainer_options)
    : options(std::move(trainer_options)), model_(model), optimizer_(optimizer), loss_fn_(std::move(loss_fn)) {
  if (!loss_fn_) loss_fn_ = [](const Var& z, const Tensor& y) { return cross_entropy(z, y); };
}

void Trainer::say(const std::string& line) const {
  if (options.out) *options.out << line << std::endl;
}

double logged_training_seconds(const TrainResult& r) {
  double seconds = 0;
  for (const EpochResult& row : r.history) seconds += row.seconds;
  return seconds;
}

TrainResult Trainer::fit(const DataLoader& train, const DataLoader* test) {
  SNN_CHECK(options.epochs >= 1, "Trainer::fit: options.epochs must be >= 1, got ", options.epochs);
  const auto fit_start = std::chrono::steady_clock::now();
  const std::string& checkpoint = options.checkpoint_path;
  TrainResult result;

  // Where to start: a checkpoint to resume from, or epoch 0 saved as the first "last good" state.
  int64_t first_epoch = 1;
  if (options.resume && !checkpoint.empty() && file_exists(checkpoint)) {
    const CheckpointMetadata meta = load_checkpoint(checkpoint, model_, &optimizer_);
    SNN_CHECK(meta.count("epoch"), "Trainer: ", checkpoint, " has no 'epoch' metadata, cannot resume from it");
    // Whole-string and range-checked: "1xyz" or 2^63 - 1 in a file must not become an epoch.
    const int64_t done = checkpoint_integer(meta, "epoch", checkpoint, 0, kMaxCheckpointEpoch);
    first_epoch = done + 1;
    say("resumed from " + checkpoint + " after epoch " + std::to_string(done));
  } else if (!checkpoint.empty()) {
    save_checkpoint(checkpoint, model_, &optimizer_, {{"epoch", "0"}});
  }
  int64_t last_good_epoch = first_epoch - 1;

  std::unique_ptr<CsvLog> csv;
  if (!options.csv_path.empty()) csv = std::make_unique<CsvLog>(options.csv_path);

  ProgressOptions bar_options;
  bar_options.label = options.label;
  bar_options.style = options.progress_style;
  bar_options.plain_interval_s = options.progress_interval_s;
  std::ostream& out = options.out ? *options.out : null_stream();
  const int64_t batches = train.num_batches();
  ProgressBar bar(std::max<int64_t>(1, batches), bar_options, out);
  std::vector<int64_t> predicted;

  for (int64_t epoch = first_epoch; epoch <= options.epochs; ++epoch) {
    model_.train();
    bar.start_epoch(epoch, options.epochs);
    const auto epoch_start = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t correct = 0, seen = 0, batch_number = 0;
    EpochReader reader = train.epoch(epoch - 1);
    Batch batch;
    while (reader.next(batch)) {
      ++batch_number;
      const int64_t b = batch.labels.size(0);
      const StepResult step =
          options.data_parallel
              ? data_parallel_train_step(model_, optimizer_, loss_fn_, batch, options.clip_grad_norm, num_threads())
              : train_step(model_, optimizer_, loss_fn_, batch, options.clip_grad_norm);
      const double loss_value = step.loss;
      if (!step.finite) {
        bar.finish({{"loss", seen ? loss_sum / double(seen) : loss_value}});
        result.diverged = true;
        result.diverged_epoch = epoch;
        result.diverged_batch = batch_number;
        std::ostringstream message;
        message << "training stopped: the loss is " << (std::isnan(loss_value) ? "NaN" : "infinite")
                << " at epoch " << epoch << ", batch " << batch_number << " of " << batches << ". ";
        if (!checkpoint.empty()) {
          load_checkpoint(checkpoint, model_, &optimizer_);
          message << "The checkpoint " << checkpoint << " still holds the last good state (after epoch "
                  << last_good_epoch << "); the model and optimiser were restored from it. ";
        } else {
          message << "No checkpoint was configured (TrainerOptions::checkpoint_path), so the model keeps "
                     "the weights of the last step before the bad loss. ";
        }
        message << "Try a smaller learning rate, gradient clipping (TrainerOptions::clip_grad_norm), or "
                   "check the inputs for NaN.";
        result.message = message.str();
        say(result.message);
        result.seconds = seconds_since(fit_start);
        return result;
      }
      loss_sum += loss_value * double(b);
      correct += count_correct(step.logits.value(), batch.labels, predicted);
      seen += b;
      bar.update(batch_number, b, {{"loss", loss_sum / double(seen)}, {"acc", double(correct) / double(seen)}});
    }

    EpochResult row;
    row.epoch = epoch;
    row.lr = optimizer_.lr();
    row.seconds = seconds_since(epoch_start);
    row.train_loss = seen ? loss_sum / double(seen) : 0.0;
    row.train_accuracy = seen ? double(correct) / double(seen) : 0.0;
    row.test_loss = row.test_accuracy = std::numeric_limits<double>::quiet_NaN();
    bar.finish({{"loss", row.train_loss}, {"acc", row.train_accuracy}, {"lr", row.lr}});
    if (test) {
      const EvalResult eval = evaluate(model_, *test, loss_fn_);
      row.test_loss = eval.loss;
      row.test_accuracy = eval.accuracy;
      std::ostringstream line;
      line.precision(4);
      line << "  test  loss " << eval.loss << "  acc " << eval.accuracy << "  (" << eval.count << " examples)";
      say(line.str());
    }
    result.history.push_back(row);
    ++result.epochs_trained;
    if (csv)
      csv->write({{"epoch", double(epoch)}, {"lr", row.lr}, {"train_loss", row.train_loss},
                  {"train_accuracy", row.train_accuracy}, {"test_loss", row.test_loss},
                  {"test_accuracy", row.test_accuracy}, {"seconds", row.seconds}});
    if (!checkpoint.empty())
      save_checkpoint(checkpoint, model_, &optimizer_,
                      {{"epoch", std::to_string(epoch)}, {"train_loss", number(row.train_loss)},
                       {"test_accuracy", number(row.test_accuracy)}});
    last_good_epoch = epoch;
    if (options.on_epoch_end) options.on_epoch_end(row);
  }
  result.seconds = seconds_since(fit_start);
  return result;
}

}  // namespace stablenn
