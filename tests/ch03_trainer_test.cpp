// tests/ch03_trainer_test.cpp — the training-loop helper: it learns a toy problem, logs CSV rows,
// checkpoints every epoch, resumes exactly, evaluates correctly, and stops on an injected NaN or
// infinite loss keeping the last good checkpoint (chapter 3).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "datasets/toy2d.h"
#include "io/file_bytes.h"
#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/losses.h"
#include "train/trainer.h"
#include "tests/ch03_datasets_util.h"

namespace stablenn {
namespace {

using datasets_test::TempDir;

std::shared_ptr<Sequential> make_mlp(uint64_t seed) {
  Generator g(seed);
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Linear>(2, 16, true, g), Tanh(), std::make_shared<Linear>(16, 16, true, g), Tanh(),
      std::make_shared<Linear>(16, 2, true, g)});
}

DataLoader moons_loader(int64_t n, uint64_t seed, bool shuffle) {
  Generator g(seed);
  LoaderOptions options;
  options.batch_size = 32;
  options.shuffle = shuffle;
  options.seed = seed;
  return DataLoader(make_moons(n, 0.1, g), options);
}

TrainerOptions quiet_options(std::ostream& out) {
  TrainerOptions options;
  options.out = &out;
  options.progress_style = ProgressStyle::Plain;
  return options;
}

std::vector<Tensor> snapshot(const Module& model) {
  std::vector<Tensor> out;
  for (const auto& t : model.state()) out.push_back(t.tensor.clone());
  return out;
}

bool same_values(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].shape() != b[i].shape() || max_abs_diff(a[i], b[i]) != 0.0) return false;
  return true;
}

TEST(Ch03Trainer, LearnsMoonsLogsAndCheckpoints) {
  TempDir dir;
  const DataLoader train = moons_loader(320, 1, true), test = moons_loader(200, 2, false);
  auto model = make_mlp(3);
  Adam adam(model->parameters(), 0.03);
  std::ostringstream out;
  Trainer trainer(*model, adam, nullptr, quiet_options(out));
  trainer.options.epochs = 8;
  trainer.options.csv_path = dir.file("log.csv");
  trainer.options.checkpoint_path = dir.file("ckpt.safetensors");
  int callbacks = 0;
  trainer.options.on_epoch_end = [&](const EpochResult& r) { EXPECT_EQ(r.epoch, ++callbacks); };
  const TrainResult result = trainer.fit(train, &test);

  EXPECT_FALSE(result.diverged);
  ASSERT_EQ(result.history.size(), 8u);
  EXPECT_EQ(callbacks, 8);
  EXPECT_LT(result.history.back().train_loss, 0.5 * result.history.front().train_loss);
  EXPECT_GT(result.history.back().test_accuracy, 0.9);
  // The reported test numbers are evaluate()'s, which match a direct computation.
  const EvalResult eval = evaluate(*model, test, nullptr);
  EXPECT_EQ(eval.count, 200);
  EXPECT_DOUBLE_EQ(eval.accuracy, result.history.back().test_accuracy);
  {
    NoGrad no_grad;
    model->eval();
    const Tensor logits = (*model)(Var(test.dataset().inputs)).value();
    model->train();
    EXPECT_DOUBLE_EQ(eval.accuracy, accuracy(logits, test.dataset().labels));
    EXPECT_NEAR(eval.loss, cross_entropy(Var(logits), test.dataset().labels).item(), 1e-6);
    const std::vector<int64_t> predicted = argmax(logits, 1).to_int64();
    EXPECT_EQ(eval.predictions, predicted);
  }
  EXPECT_TRUE(model->training());
  // Progress lines, the CSV log and the last checkpoint.
  const std::string text = out.str();
  EXPECT_NE(text.find("epoch 8/8"), std::string::npos) << text;
  EXPECT_NE(text.find("samples/s"), std::string::npos) << text;
  EXPECT_NE(text.find("test  loss"), std::string::npos) << text;
  const std::vector<uint8_t> csv = read_file_bytes(dir.file("log.csv"));
  const std::string csv_text(csv.begin(), csv.end());
  EXPECT_EQ(csv_text.rfind("epoch,lr,train_loss,train_accuracy,test_loss,test_accuracy,seconds\n", 0), 0u) << csv_text;
  EXPECT_EQ(std::count(csv_text.begin(), csv_text.end(), '\n'), 9);
  auto reloaded = make_mlp(4);
  const CheckpointMetadata meta = load_checkpoint(dir.file("ckpt.safetensors"), *reloaded);
  EXPECT_EQ(meta.at("epoch"), "8");
  EXPECT_TRUE(same_values(snapshot(*model), snapshot(*reloaded)));
}

// Wraps cross-entropy; during training, call number `bad_call` (1-based) returns `bad` instead.
LossFunction poisoned_loss(Module& model, int64_t bad_call, double bad) {
  auto calls = std::make_shared<int64_t>(0);
  return [&model, calls, bad_call, bad](const Var& logits, const Tensor& labels) {
    const Var loss = cross_entropy(logits, labels);
    if (model.training() && ++*calls == bad_call) return loss * bad;
    return loss;
  };
}

TEST(Ch03Trainer, StopsOnNaNAndKeepsTheLastGoodCheckpoint) {
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    SCOPED_TRACE(bad);
    TempDir dir;
    const DataLoader train = moons_loader(320, 5, true);  // 10 batches per epoch
    auto model = make_mlp(6);
    Adam adam(model->parameters(), 0.01);
    std::ostringstream out;
    // Call 13 = epoch 2, batch 3.
    Trainer trainer(*model, adam, poisoned_loss(*model, 13, bad), quiet_options(out));
    trainer.options.epochs = 4;
    trainer.options.checkpoint_path = dir.file("ckpt.safetensors");
    std::vector<uint8_t> checkpoint_after_epoch1;
    std::vector<Tensor> weights_after_epoch1;
    trainer.options.on_epoch_end = [&](const EpochResult& r) {
      if (r.epoch != 1) return;
      checkpoint_after_epoch1 = read_file_bytes(dir.file("ckpt.safetensors"));
      weights_after_epoch1 = snapshot(*model);
    };
    const TrainResult result = trainer.fit(train);

    EXPECT_TRUE(result.diverged);
    EXPECT_EQ(result.diverged_epoch, 2);
    EXPECT_EQ(result.diverged_batch, 3);
    EXPECT_EQ(result.history.size(), 1u);
    const std::string kind = std::isnan(bad) ? "NaN" : "infinite";
    EXPECT_NE(result.message.find("the loss is " + kind + " at epoch 2, batch 3 of 10"), std::string::npos)
        << result.message;
    EXPECT_NE(result.message.find("after epoch 1"), std::string::npos) << result.message;
    EXPECT_NE(out.str().find(result.message), std::string::npos);
    // The file still holds epoch 1, and the model was restored from it.
    EXPECT_EQ(read_file_bytes(dir.file("ckpt.safetensors")), checkpoint_after_epoch1);
    EXPECT_TRUE(same_values(snapshot(*model), weights_after_epoch1));
    for (const auto& t : model->state()) EXPECT_TRUE(all_finite(t.tensor)) << t.name;
    EXPECT_EQ(adam.steps(), 10);  // the optimiser state of epoch 1 too
  }
}

TEST(Ch03Trainer, NaNInTheFirstEpochFallsBackToTheInitialState) {
  TempDir dir;
  const DataLoader train = moons_loader(64, 7, true);
  auto model = make_mlp(8);
  const std::vector<Tensor> initial = snapshot(*model);
  SGD sgd(model->parameters(), 0.1);
  std::ostringstream out;
  Trainer trainer(*model, sgd, poisoned_loss(*model, 2, std::numeric_limits<double>::quiet_NaN()),
                  quiet_options(out));
  trainer.options.checkpoint_path = dir.file("ckpt.safetensors");
  const TrainResult result = trainer.fit(train);
  EXPECT_TRUE(result.diverged);
  EXPECT_NE(result.message.find("after epoch 0"), std::string::npos) << result.message;
  EXPECT_TRUE(same_values(snapshot(*model), initial));
}

TEST(Ch03Trainer, WithoutCheckpointTheMessageSaysSo) {
  const DataLoader train = moons_loader(64, 9, true);
  auto model = make_mlp(10);
  SGD sgd(model->parameters(), 0.1);
  std::ostringstream out;
  Trainer trainer(*model, sgd, poisoned_loss(*model, 1, std::numeric_limits<double>::quiet_NaN()),
                  quiet_options(out));
  const std::vector<Tensor> initial = snapshot(*model);
  const TrainResult result = trainer.fit(train);
  EXPECT_TRUE(result.diverged);
  EXPECT_NE(result.message.find("No checkpoint was configured"), std::string::npos) << result.message;
  EXPECT_TRUE(same_values(snapshot(*model), initial));  // the bad loss never reached a step
}

TEST(Ch03Trainer, ResumingContinuesExactlyWhereTrainingStopped) {
  TempDir dir;
  const DataLoader train = moons_loader(128, 11, true);
  std::ostringstream out;
  auto straight = make_mlp(12);
  Adam straight_adam(straight->parameters(), 0.01);
  Trainer straight_trainer(*straight, straight_adam, nullptr, quiet_options(out));
  straight_trainer.options.epochs = 4;
  straight_trainer.fit(train);

  auto model = make_mlp(12);
  Adam adam(model->parameters(), 0.01);
  Trainer first(*model, adam, nullptr, quiet_options(out));
  first.options.epochs = 2;
  first.options.checkpoint_path = dir.file("ckpt.safetensors");
  first.fit(train);

  auto resumed = make_mlp(13);
  Adam resumed_adam(resumed->parameters(), 0.01);
  Trainer second(*resumed, resumed_adam, nullptr, quiet_options(out));
  second.options.epochs = 4;
  second.options.checkpoint_path = dir.file("ckpt.safetensors");
  second.options.resume = true;
  const TrainResult result = second.fit(train);
  ASSERT_EQ(result.history.size(), 2u);
  EXPECT_EQ(result.history.front().epoch, 3);
  EXPECT_TRUE(same_values(snapshot(*straight), snapshot(*resumed)));
  EXPECT_NE(out.str().find("resumed from"), std::string::npos);
}

TEST(Ch03Trainer, AllFiniteAndBadOptions) {
  EXPECT_TRUE(all_finite(Tensor::ones({3})));
  EXPECT_FALSE(all_finite(Tensor::from_vector({1.0, INFINITY}, {2}, DType::Float64)));
  EXPECT_FALSE(all_finite(Tensor::from_vector({NAN, 0.0, 1.0, 2.0}, {2, 2}).t()));
  const DataLoader train = moons_loader(32, 14, true);
  auto model = make_mlp(15);
  SGD sgd(model->parameters(), 0.1);
  Trainer trainer(*model, sgd);
  trainer.options.out = nullptr;
  trainer.options.epochs = 0;
  EXPECT_THROW(trainer.fit(train), Error);
  // A loss that is not a scalar is refused with a message.
  Trainer per_example(*model, sgd, [](const Var& z, const Tensor&) { return sum(z, {1}); });
  per_example.options.out = nullptr;
  per_example.options.epochs = 1;
  EXPECT_THROW(per_example.fit(train), Error);
}

// train_step is the loop's step: a finite loss moves the weights, a non-finite one stops before
// backward and the optimiser, leaving them exactly as they were.
TEST(TrainStep, MovesOnFiniteLossStopsOnNonFinite) {
  auto model = make_mlp(1);
  SGD sgd(model->parameters(), 0.1);
  const DataLoader loader = moons_loader(64, 2, false);  // the reader refers to it
  EpochReader reader = loader.epoch(0);
  Batch batch;
  ASSERT_TRUE(reader.next(batch));
  const std::vector<Tensor> before = snapshot(*model);
  const StepResult good = train_step(*model, sgd, [](const Var& z, const Tensor& y) { return cross_entropy(z, y); },
                                     batch);
  EXPECT_TRUE(good.finite);
  EXPECT_TRUE(std::isfinite(good.loss));
  EXPECT_EQ(good.logits.shape(), (Shape{32, 2}));
  EXPECT_FALSE(same_values(before, snapshot(*model)));
  const std::vector<Tensor> after_good = snapshot(*model);
  const StepResult bad = train_step(
      *model, sgd,
      [](const Var& z, const Tensor& y) { return mul(cross_entropy(z, y), std::numeric_limits<double>::quiet_NaN()); },
      batch);
  EXPECT_FALSE(bad.finite);
  EXPECT_TRUE(std::isnan(bad.loss));
  EXPECT_TRUE(same_values(after_good, snapshot(*model)));
}

}  // namespace
}  // namespace stablenn
