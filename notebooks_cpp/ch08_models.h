// notebooks_cpp/ch08_models.h — the two networks of chapter 8's toy robustness example, shared by
// the chapter program and its benchmark (bench/bench_robustness.cpp), so both run the same models.
#pragma once
#include <memory>
#include <vector>

#include "datasets/loader.h"
#include "layers/activations.h"
#include "layers/attacks.h"
#include "layers/linear.h"
#include "layers/lipschitz.h"
#include "layers/losses.h"
#include "layers/resnet_block.h"
#include "layers/trainer.h"
#include "notebooks_cpp/ch07_model.h"

namespace stablenn::ch08 {

// The experiment's sizes (design.md §3); --smoke shrinks them.
struct Setup {
  int64_t train_count = 30000, attack_count = 1000, epochs = 30, batch = 128;
  int64_t width = 256, blocks = 5, pgd_iterations = 100;
  double temperature = 16;  // cross-entropy on 16·logits for the 1-Lipschitz network
  std::vector<double> eps = {0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0};
};

inline std::shared_ptr<Sequential> make_resnet(const Setup& s, Generator& g) {
  auto net = std::make_shared<Sequential>();
  net->add(std::make_shared<Flatten>());
  net->add(std::make_shared<Linear>(784, s.width, true, g));
  // x + h·Bσ(Ax + b), h = 1, LeakyReLU(0.1), nothing constrained
  for (int64_t i = 0; i < s.blocks; ++i) net->add(dense_resnet_step(s.width, s.width, {}, g));
  net->add(std::make_shared<Linear>(s.width, 10, true, g));
  return net;
}

// The 1-Lipschitz network of chapter 7 at the same width and depth: lift and head normalised to
// spectral norm <= 1, gradient-step blocks with T = 1 and adaptive Euler sub-steps.
inline std::shared_ptr<Sequential> make_nonexpansive(const Setup& s, Generator& g) {
  ch07::NetConfig c;
  c.width = s.width;
  c.blocks = s.blocks;
  return ch07::make_nonexpansive_mlp(c, g);
}

// The loss of the 1-Lipschitz network: cross-entropy of temperature·logits (chapter 7).
inline LossFunction temperature_cross_entropy(double temperature) {
  return [temperature](const Var& z, const Tensor& y) {
    return ch07::temperature_cross_entropy(z, y, temperature);
  };
}

// Trains `net` with Adam (lr 1e-3, cosine decay to 0), batch s.batch, for to.epochs epochs,
// evaluating on `test` after each. `to` carries checkpointing, logging and output choices.
inline TrainResult train_model(Module& net, const LossFunction& loss, const Dataset& train,
                               const Dataset& test, const Setup& s, uint64_t seed,
                               TrainerOptions to) {
  LoaderOptions lo;
  lo.batch_size = s.batch;
  lo.seed = seed;
  DataLoader train_loader(train, lo);
  lo.shuffle = false;
  DataLoader test_loader(test, lo);
  Adam adam(net.parameters(), 1e-3);
  adam.set_schedule(cosine_schedule(1e-3, s.epochs * train_loader.num_batches()));
  to.epochs = s.epochs;
  Trainer trainer(net, adam, loss, to);
  return trainer.fit(train_loader, &test_loader);
}

// The experiment's attack: l2-PGD (random start, step 2.5·eps/iterations, s.pgd_iterations
// iterations) at every eps of s.eps, in batches of 250. Returns the accuracy at each eps.
inline std::vector<double> attack_model(Module& net, const Tensor& x, const Tensor& y, const Setup& s,
                                        const std::function<void(int64_t, int64_t)>& on_batch = nullptr) {
  PgdOptions o;
  o.norm = AttackNorm::L2;
  o.iterations = static_cast<int>(s.pgd_iterations);
  net.eval();
  return robust_accuracy_curve(net, x, y, s.eps, o, 250, on_batch);
}

}  // namespace stablenn::ch08
