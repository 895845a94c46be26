// notebooks_cpp/ch08_models.h — the two networks of chapter 8's toy robustness example, shared by
// the chapter program and its benchmark (bench/bench_robustness.cpp), so both run the same models.
#pragma once
#include <memory>
#include <vector>

#include "datasets/loader.h"
#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/losses.h"
#include "layers/stable/resnet_block.h"
#include "robust/attacks.h"
#include "robust/lipschitz.h"
#include "robust/robust_eval.h"
#include "train/trainer.h"
#include "notebooks_cpp/ch07_model.h"

namespace stablenn::ch08 {

// The experiment's sizes (book/A-references.md §A.4); --smoke shrinks them.
struct Setup {
  int64_t train_count = 30000, attack_count = 1000, epochs = 30, batch = 128;
  int64_t width = 256, blocks = 5;
  int64_t pgd_iterations = 100;     // the chapter's protocol: CE-PGD iterations
  int64_t apgd_iterations = 100;    // the strong protocol: iterations per APGD run,
  int64_t restarts = 1;             //   extra APGD-margin runs from random starts,
  int64_t min_norm_steps = 100;     //   FMN steps
  double temperature = 16;  // cross-entropy on 16·logits for the 1-Lipschitz network
  std::vector<double> eps = {0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0};
};

inline std::shared_ptr<Sequential> make_resnet(const Setup& s, Generator& g, DType dtype = DType::Float32) {
  auto net = std::make_shared<Sequential>();
  net->add(std::make_shared<Flatten>());
  net->add(std::make_shared<Linear>(784, s.width, true, g, dtype));
  // x + h·Bσ(Ax + b), h = 1, LeakyReLU(0.1), nothing constrained
  for (int64_t i = 0; i < s.blocks; ++i) net->add(dense_resnet_step(s.width, s.width, {}, g, dtype));
  net->add(std::make_shared<Linear>(s.width, 10, true, g, dtype));
  return net;
}

// The 1-Lipschitz network of chapter 7 at the same width and depth: lift and head normalised to
// spectral norm <= 1, gradient-step blocks with T = 1 and adaptive Euler sub-steps.
inline std::shared_ptr<Sequential> make_nonexpansive(const Setup& s, Generator& g,
                                                     DType dtype = DType::Float32) {
  ch07::NetConfig c;
  c.width = s.width;
  c.blocks = s.blocks;
  return ch07::make_nonexpansive_mlp(c, g, dtype);
}

// The architecture of one of the two models, for building its float64 copy.
enum class Kind { kResNet, kNonexpansive };
inline std::function<std::shared_ptr<Module>(DType)> builder(Kind kind, const Setup& s) {
  return [kind, s](DType dtype) -> std::shared_ptr<Module> {
    Generator g(0);  // the weights are overwritten by the copy
    if (kind == Kind::kResNet) return make_resnet(s, g, dtype);
    return make_nonexpansive(s, g, dtype);
  };
}

// The loss of the 1-Lipschitz network: cross-entropy of temperature·logits (chapter 7).
inline LossFunction temperature_cross_entropy(double temperature) {
  return [temperature](const Var& z, const Tensor& y) {
    return ch07::temperature_cross_entropy(z, y, temperature);
  };
}

// Trains `net` with Adam (lr 1e-3, cosine decay to 0), batch s.batch, for to.epochs epochs,
// evaluating on `test` after each. `to` carries checkpointing, logging and output choices; `fit`,
// when given, replaces trainer.fit (the chapter program passes the harness's fit_or_resume).
using FitFunction = std::function<TrainResult(Trainer&, const DataLoader&, const DataLoader*)>;
inline TrainResult train_model(Module& net, const LossFunction& loss, const Dataset& train,
                               const Dataset& test, const Setup& s, uint64_t seed,
                               TrainerOptions to, const FitFunction& fit = nullptr) {
  LoaderOptions lo;
  lo.batch_size = s.batch;
  lo.seed = seed;
  DataLoader train_loader(train, lo);
  lo.shuffle = false;
  DataLoader test_loader(test, lo);
  Adam adam(net.parameters(), 1e-3);
  adam.set_schedule(cosine_schedule(1e-3, s.epochs * train_loader.num_batches()));
  to.epochs = s.epochs;
  to.data_parallel = true;  // both networks compute each image alone: one shard of the batch per thread
  Trainer trainer(net, adam, loss, to);
  return fit ? fit(trainer, train_loader, &test_loader) : trainer.fit(train_loader, &test_loader);
}

// The experiment's evaluation (robust/robust_eval.h): l2, the eps grid s.eps, batches of 250,
// verified on a float64 copy of `net` built by builder(kind, s). `protocol`: the strong one, or the
// chapter's CE-PGD with s.pgd_iterations iterations.
inline RobustnessReport evaluate_model(Module& net, Kind kind, const Tensor& x, const Tensor& y, const Setup& s,
                                       AttackProtocol protocol,
                                       const std::function<void(int64_t, int64_t)>& on_progress = nullptr) {
  RobustnessOptions o;
  o.protocol = protocol;
  o.norm = AttackNorm::L2;
  o.eps = s.eps;
  o.iterations = static_cast<int>(protocol == AttackProtocol::kStrong ? s.apgd_iterations : s.pgd_iterations);
  o.restarts = static_cast<int>(s.restarts);
  o.min_norm_steps = static_cast<int>(s.min_norm_steps);
  net.eval();
  const std::shared_ptr<Module> verifier = float64_copy(net, builder(kind, s));
  return evaluate_robustness(net, *verifier, x, y, o, on_progress);
}

}  // namespace stablenn::ch08
