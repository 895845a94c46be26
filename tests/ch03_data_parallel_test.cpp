// tests/ch03_data_parallel_test.cpp — a training step split over threads by batch rows
// (train/data_parallel.h) is the unsplit step up to rounding, repeats bit for bit, and refuses
// models whose forward pass cannot be split; the optimiser's update by parameter changes no bit
// (chapter 3).
#include <gtest/gtest.h>

#include <string>

#include "core/ops.h"
#include "core/parallel.h"
#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/losses.h"
#include "layers/normalization.h"
#include "layers/stable/gradient_step_block.h"
#include "layers/stable/norm_layers.h"
#include "train/data_parallel.h"

namespace stablenn {
namespace {

constexpr DType kF64 = DType::Float64;

// Chapter 7's non-expansive network in small: a normalised lift, two gradient-step blocks (each
// with its warm-started power iteration, the state a split step must update once), a normalised
// head. Seeded, so two calls build the same network.
std::shared_ptr<Sequential> small_nonexpansive(DType dtype) {
  Generator g(3);
  auto net = std::make_shared<Sequential>();
  net->add(std::make_shared<SpectralNormLinear>(20, 16, true, NormScaling::kAtMostOne,
                                                PowerIterationSchedule{}, g, dtype));
  GradientStepOptions block;
  block.activation = Activation::leaky_relu(0.1);
  for (int i = 0; i < 2; ++i)
    net->add(std::make_shared<GradientStepBlock>(MapGeometry::dense(16, 16), block, g, dtype));
  net->add(std::make_shared<SpectralNormLinear>(16, 5, true, NormScaling::kAtMostOne,
                                                PowerIterationSchedule{}, g, dtype));
  return net;
}

Batch batch_of(int64_t rows, uint64_t seed, DType dtype) {
  Generator g(seed);
  Batch b;
  b.inputs = g.normal({rows, 20}, 0, 1, dtype);
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < rows; ++i) labels.push_back(g.randint(0, 5));
  b.labels = Tensor::from_int64(labels, {rows});
  return b;
}

// Five Adam steps on batches of 100 rows (three shards: 33, 33, 34 rows, so the weighting by
// shard size matters); returns every parameter and buffer (the power-iteration vectors too) and
// the losses.
struct TrainedState {
  std::vector<Tensor> state;
  std::vector<double> losses;
};
TrainedState train(int shards, DType dtype) {
  FixedThreads fixed(std::max(1, shards));
  auto net = small_nonexpansive(dtype);
  Adam adam(net->parameters(), 1e-2);
  const LossFunction loss = [](const Var& z, const Tensor& y) { return cross_entropy(mul(z, 8.0), y); };
  TrainedState run;
  for (uint64_t step = 0; step < 5; ++step) {
    const Batch b = batch_of(100, 10 + step, dtype);
    const StepResult r = shards > 0 ? data_parallel_train_step(*net, adam, loss, b, 0.0, shards)
                                    : train_step(*net, adam, loss, b, 0.0);
    EXPECT_EQ(r.logits.size(0), 100);
    run.losses.push_back(r.loss);
  }
  for (const auto& t : net->state()) run.state.push_back(t.tensor.clone());
  return run;
}

TEST(Ch03DataParallel, SplitStepEqualsTheWholeStepInDouble) {
  const TrainedState whole = train(0, kF64), split = train(3, kF64);
  ASSERT_EQ(whole.state.size(), split.state.size());
  for (size_t i = 0; i < whole.losses.size(); ++i)
    EXPECT_NEAR(split.losses[i], whole.losses[i], 1e-12 * std::abs(whole.losses[i])) << "step " << i;
  // Every parameter and every power-iteration vector: one iteration per step, as unsplit (two or
  // three iterations per step would move the vectors visibly).
  for (size_t i = 0; i < whole.state.size(); ++i) {
    const bool is_float = whole.state[i].dtype() != DType::Int64;  // eval_norm_key: int64
    const double scale = is_float ? std::max(1e-3, amax(abs(whole.state[i])).item()) : 0.0;
    EXPECT_LE(max_abs_diff(split.state[i], whole.state[i]), 1e-10 * scale) << "tensor " << i;
  }
  // and the steps moved the weights
  const TrainedState start = [] {
    TrainedState r;
    for (const auto& t : small_nonexpansive(kF64)->state()) r.state.push_back(t.tensor.clone());
    return r;
  }();
  EXPECT_GT(max_abs_diff(whole.state[0], start.state[0]), 1e-3);
}

TEST(Ch03DataParallel, SameShardCountGivesBitIdenticalWeights) {
  const TrainedState a = train(2, DType::Float32), b = train(2, DType::Float32);
  for (size_t i = 0; i < a.state.size(); ++i) EXPECT_EQ(max_abs_diff(a.state[i], b.state[i]), 0.0) << "tensor " << i;
  for (size_t i = 0; i < a.losses.size(); ++i) EXPECT_EQ(a.losses[i], b.losses[i]);
}

TEST(Ch03DataParallel, RefusesBatchNormAndDropout) {
  Generator g(1);
  for (const std::shared_ptr<Module>& layer :
       {std::shared_ptr<Module>(std::make_shared<BatchNorm>(8)), std::shared_ptr<Module>(std::make_shared<Dropout>(0.5, g))}) {
    Sequential net({std::make_shared<Linear>(20, 8, true, g), layer, std::make_shared<Linear>(8, 5, true, g)});
    EXPECT_FALSE(net.data_parallel_safe());
    Adam adam(net.parameters(), 1e-3);
    const LossFunction loss = [](const Var& z, const Tensor& y) { return cross_entropy(z, y); };
    try {
      data_parallel_train_step(net, adam, loss, batch_of(64, 1, DType::Float32), 0.0, 2);
      ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cannot be split"), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(small_nonexpansive(DType::Float32)->data_parallel_safe());
}

// The optimiser updates whole parameters on different threads when there are many of similar size;
// each element's update is the same arithmetic, so one and two threads agree bit for bit.
TEST(Ch03DataParallel, OptimiserUpdateByParameterChangesNoBit) {
  auto run = [](int threads) {
    FixedThreads fixed(threads);
    Generator g(4);
    std::vector<Var> params;
    for (int i = 0; i < 6; ++i) params.push_back(Var(g.normal({256, 256}), true));
    Adam adam(params, 1e-3);
    for (int step = 0; step < 3; ++step) {
      for (Var& p : params) p.set_grad(Var(g.normal({256, 256})));
      adam.step();
    }
    std::vector<Tensor> out;
    for (const Var& p : params) out.push_back(p.value().clone());
    return out;
  };
  const std::vector<Tensor> one = run(1), two = run(2);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_EQ(max_abs_diff(one[i], two[i]), 0.0) << "parameter " << i;
}

}  // namespace
}  // namespace stablenn

namespace stablenn {
namespace {

// evaluate() runs whole batches on different threads for such models; each batch's ops run on one
// thread either way, and the sums go in batch order, so 1 and 2 threads agree bit for bit.
TEST(Ch03DataParallel, EvaluationByBatchEqualsOneThread) {
  Generator g(8);
  Dataset data;
  data.inputs = g.normal({300, 20});
  std::vector<int64_t> labels;
  for (int i = 0; i < 300; ++i) labels.push_back(g.randint(0, 5));
  data.labels = Tensor::from_int64(labels, {300});
  LoaderOptions lo;
  lo.batch_size = 64;  // five batches, the last one short
  lo.shuffle = false;
  const DataLoader loader(data, lo);
  auto net = small_nonexpansive(DType::Float32);
  auto run = [&](int threads) {
    FixedThreads fixed(threads);
    return evaluate(*net, loader, nullptr);
  };
  const EvalResult one = run(1), two = run(2);
  EXPECT_EQ(one.loss, two.loss);
  EXPECT_EQ(one.accuracy, two.accuracy);
  EXPECT_EQ(one.predictions, two.predictions);
  EXPECT_EQ(two.count, 300);
  EXPECT_TRUE(net->training());  // evaluate restores the mode
}

}  // namespace
}  // namespace stablenn
