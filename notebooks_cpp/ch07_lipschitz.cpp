// notebooks_cpp/ch07_lipschitz.cpp — chapter 7, "Designing 1-Lipschitz networks": power iteration
// (cold and warm-started), the gradient step and the step size that keeps it non-expansive, adaptive
// sub-steps, assembling a network whose bound in pixel space is 1, training it on Fashion-MNIST, and
// its certified accuracy. Without the data it runs on the synthetic shapes.
// Read along in book/07-lipschitz-networks.md. Run: build/notebooks_cpp/ch07_lipschitz [--step] [--smoke]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "datasets/fallback.h"
#include "datasets/loader.h"
#include "io/file_bytes.h"
#include "layers/linear.h"
#include "layers/stable/resnet_block.h"
#include "plot/plot.h"
#include "robust/certificates.h"
#include "robust/lipschitz.h"
#include "train/checkpoint.h"
#include "train/trainer.h"
#include "notebooks_cpp/ch07_model.h"
#include "notebooks_cpp/harness.h"

using namespace stablenn;
using stablenn::notebook::Cell;
using stablenn::notebook::Context;

namespace {

// What the cells share.
struct Chapter {
  bool have_data = false;
  TrainTestData data;
  ch07::NetConfig config;
  std::shared_ptr<Sequential> model;
  bool trained = false;
  TrainResult result;
  double train_seconds = 0, bound = NAN, clean = NAN, lower_bound = NAN;
  std::vector<double> eps, certified;
};
Chapter state;



void save_plot(const LinePlot& plot, const Context& ctx, const std::string& file) {
  const std::string path = ctx.out_path(file);
  plot.save(path);
  std::cout << "  wrote " << path << "\n";
}

// ---- cell 1: power iteration ----
void power_iteration_cell(Context& ctx) {
  Generator g(ctx.seed + 1);
  const int64_t d = ctx.pick(256, 64);
  Var w(g.normal({d, d}, 0, 1.0 / std::sqrt(double(d)), DType::Float64), true);
  const LinearOperator A = LinearOperator::dense(w);
  const std::vector<double> s = singular_values(w.value());
  std::cout << std::setprecision(6) << "  W: " << d << "x" << d << " Gaussian, std 1/sqrt(d). SVD: sigma_1 = "
            << s[0] << ", sigma_2 = " << s[1] << " (ratio " << s[1] / s[0] << ")\n";
  // cold start: error of the estimate after k iterations
  Tensor u = random_unit_vector({d}, g, DType::Float64);
  ctx.result("power.sigma_ratio", s[1] / s[0], "%.3f");
  std::ostringstream table;
  table << "| iterations | relative error of σ |\n|---|---|\n";
  std::vector<double> ks, errors;
  for (int64_t k = 1; k <= 300; ++k) {
    const double est = power_iteration(A, u, 1).sigma;
    ks.push_back(double(k));
    errors.push_back(std::max(1e-16, (s[0] - est) / s[0]));
    if (k == 1 || k == 10 || k == 100 || k == 300) {
      table << "| " << k << " | " << std::setprecision(2) << errors.back() << " |\n";
      std::cout << "  after " << std::setw(3) << k << " iterations: sigma ~ " << std::setprecision(10) << est
                << "  relative error " << std::setprecision(3) << errors.back() << "\n";
    }
  }
  ctx.result_table("power_iteration", table.str());
  std::cout << "  (the estimate is sqrt(||W^T W u||): sigma itself, not sigma^2; it approaches from below)\n";
  LinePlot cold;
  cold.title = "power iteration from a random start";
  cold.x_label = "iterations";
  cold.y_label = "(sigma - estimate) / sigma";
  cold.log_y = true;
  cold.add("cold start", ks, errors);
  save_plot(cold, ctx, "ch07_power_iteration.png");

  // training: the weights drift a little per step; one warm-started iteration per step
  Tensor warm = random_unit_vector({d}, g, DType::Float64);
  power_iteration(A, warm, 1000, 1e-13);
  std::vector<double> steps, warm_err, cold_err;
  for (int64_t step = 1; step <= ctx.pick(200, 50); ++step) {
    {
      NoGrad no_grad;
      w.add_(g.normal({d, d}, 0, 0.01 / std::sqrt(double(d)), DType::Float64));
    }
    const double truth = singular_values(w.value())[0];
    Tensor fresh = random_unit_vector({d}, g, DType::Float64);
    steps.push_back(double(step));
    warm_err.push_back(std::max(1e-16, (truth - power_iteration(A, warm, 1).sigma) / truth));
    cold_err.push_back(std::max(1e-16, (truth - power_iteration(A, fresh, 1).sigma) / truth));
  }
  ctx.result("power.drift_warm", *std::max_element(warm_err.begin() + 5, warm_err.end()), "%.1e");
  ctx.result("power.drift_cold", 100 * *std::max_element(cold_err.begin(), cold_err.end()), "%.0f");
  std::cout << std::setprecision(3) << "  while W drifts (1 % noise per step): one warm-started iteration per step "
            << "stays within " << *std::max_element(warm_err.begin() + 5, warm_err.end())
            << " of sigma after the first steps; one cold iteration is off by up to "
            << *std::max_element(cold_err.begin(), cold_err.end()) << "\n";
  LinePlot drift;
  drift.title = "one iteration per training step";
  drift.x_label = "step";
  drift.y_label = "relative error";
  drift.log_y = true;
  drift.add("warm start (u kept)", steps, warm_err).add("cold start (new u)", steps, cold_err);
  save_plot(drift, ctx, "ch07_power_iteration_drift.png");
}

// ---- cell 2: the step size that keeps a gradient step non-expansive ----
void step_size_cell(Context& ctx) {
  Generator g(ctx.seed + 2);
  const Tensor inputs = g.normal({32, 16}, 0, 1, DType::Float64);
  EmpiricalLipschitzOptions search;
  search.random_pairs = ctx.pick(256, 64);
  search.ascent_pairs = ctx.pick(16, 4);
  search.ascent_steps = ctx.pick(100, 20);
  search.max_distance = 3.0;
  LinePlot plot;
  plot.title = "one gradient step: measured Lipschitz";
  plot.x_label = "z = h Lip(sigma) ||A||^2";
  plot.y_label = "max ||f(x) - f(y)|| / ||x - y||";
  std::vector<double> zs;
  for (double z = 0.25; z <= 4.0 + 1e-9; z += 0.25) zs.push_back(z);
  std::vector<double> euler_bound;
  for (double z : zs) euler_bound.push_back(gradient_step_lipschitz(BlockIntegrator::kEuler, z));
  std::cout << "  z      Euler    Heun     RK4      (measured; Euler's bound max(1, z - 1))\n";
  std::vector<std::vector<double>> measured(3);
  const BlockIntegrator methods[3] = {BlockIntegrator::kEuler, BlockIntegrator::kHeun, BlockIntegrator::kRK4};
  for (int m = 0; m < 3; ++m) {
    GradientStepOptions o;
    o.integrator = methods[m];
    GradientStepBlock block(MapGeometry::dense(16, 16), o, g, DType::Float64);
    const double sigma = singular_values(block.weight.value())[0];
    for (double z : zs) {
      FixedGradientStep step(block, z / (sigma * sigma));
      search.seed = ctx.seed + static_cast<uint64_t>(100 * z);
      measured[m].push_back(empirical_lipschitz(step, inputs, search).best());
    }
  }
  for (size_t i = 0; i < zs.size(); ++i)
    std::printf("  %4.2f   %6.4f   %6.4f   %6.4f\n", zs[i], measured[0][i], measured[1][i], measured[2][i]);
  // the book's table: the measured constant at a few z
  ctx.result_table("step_size", notebook::sampled_table(zs, {"Euler", "Heun", "RK4"}, measured,
                                                        {1.0, 2.0, 2.25, 2.5, 3.0, 4.0}, "%.4g"));
  plot.add("Euler", zs, measured[0], Marker::Circle)
      .add("Heun", zs, measured[1], Marker::Square)
      .add("RK4", zs, measured[2], Marker::Triangle)
      .add("bound max(1, z-1) (Euler)", zs, euler_bound);
  save_plot(plot, ctx, "ch07_step_size.png");
  std::cout << "  Up to z = 2 (h <= 2 / (Lip ||A||^2)) no pair is pulled apart; beyond it the step overshoots\n"
               "  along the top singular direction and becomes expansive.\n";
}

// ---- cell 3: adaptive sub-steps ----
void adaptive_cell(Context& ctx) {
  Generator g(ctx.seed + 3);
  GradientStepBlock block(MapGeometry::dense(64, 64), {}, g);
  const Tensor x = g.normal({8, 64});
  block.eval();
  std::cout << "  T = 1, Euler (r = 1): n = ceil(T Lip ||A||^2 / 2), h = T / n\n";
  std::cout << "  A scaled by   ||A|| (estimate)   n    h         h Lip ||A||^2\n";
  double total = 1;
  std::ostringstream table;
  table << "| A scaled by | ‖A‖ | n | h | h‖A‖² |\n|---|---|---|---|---|\n";
  for (double scale : {1.0, 1.5, 2.0, 2.0, 2.5}) {
    {
      NoGrad no_grad;
      block.weight.mul_(scale);
    }
    total *= scale;
    block(Var(x));
    const auto& s = block.last_step();
    std::printf("  x%-11.1f  %-17.5f  %-4lld %-9.5f %.5f\n", total, s.norm, static_cast<long long>(s.substeps),
                s.step, s.step * s.norm * s.norm);
    char line[128];
    std::snprintf(line, sizeof line, "| %g | %.2f | %lld | %.3g | %.2f |\n", total, s.norm,
                  static_cast<long long>(s.substeps), s.step, s.step * s.norm * s.norm);
    table << line;
  }
  ctx.result_table("substeps", table.str());
  std::cout << "  The block's integration time stays T; only the resolution changes, so every forward pass is\n"
               "  non-expansive whatever the optimiser did to A.\n";
}

// ---- cell 4: assembling the network ----
void assemble_cell(Context& ctx) {
  Generator g(ctx.seed);
  if (ctx.smoke) state.config.width = 64, state.config.blocks = 2;
  state.config.width = ctx.int_flag("width", state.config.width);
  state.config.blocks = ctx.int_flag("blocks", state.config.blocks);
  state.model = ch07::make_nonexpansive_mlp(state.config, g);
  state.trained = false;
  std::cout << state.model->summary({1, 1, 28, 28});
  std::cout << "  Lipschitz bound of each layer (evaluation mode):\n";
  const std::vector<LayerBound> bounds = layer_bounds(*state.model);
  for (const LayerBound& row : bounds)
    std::printf("    %-3s %-60s %.6f\n", row.name.c_str(), row.description.c_str(), row.bound);
  // The layers with a norm of their own: the lift after Flatten and the head.
  ctx.result("init.lift", bounds.size() > 1 ? bounds[1].bound : NAN, "%.2f");
  ctx.result("init.head", bounds.empty() ? NAN : bounds.back().bound, "%.2f");
  ctx.result("init.product", lipschitz_bound(*state.model), "%.2f");
  std::cout << std::setprecision(8) << "  product, pixels -> logits: " << lipschitz_bound(*state.model) << "\n";
  // The same network behind an input normalisation: the bound in pixel space is 1/std.
  Sequential normalised;
  normalised.add(std::make_shared<InputNormalization>(std::vector<double>{0.2860}, std::vector<double>{0.3530}));
  normalised.add(state.model);
  ctx.result("init.normalised", lipschitz_bound(normalised), "%.2f");
  std::cout << "  behind a normalisation (x - 0.286) / 0.353, the bound in pixels is "
            << lipschitz_bound(normalised) << ": a network that is 1-Lipschitz after normalising is not in pixels\n";
  // A ResNet of the same layout, unconstrained.
  Sequential resnet;
  resnet.add(std::make_shared<Flatten>());
  resnet.add(std::make_shared<Linear>(784, state.config.width, true, g));
  for (int64_t i = 0; i < state.config.blocks; ++i)
    resnet.add(dense_resnet_step(state.config.width, state.config.width, {}, g));
  resnet.add(std::make_shared<Linear>(state.config.width, 10, true, g));
  ctx.result("init.resnet", lipschitz_bound(resnet), "%.1f");
  std::cout << std::setprecision(4) << "  an unconstrained ResNet of the same layout (x + B sigma(Ax + b)) starts with bound "
            << lipschitz_bound(resnet) << " (at initialisation, before training grows the weights)\n";
}

// ---- cell 5: training ----
LoaderOptions loader_options(const Context& ctx, int64_t batch, bool shuffle) {
  LoaderOptions o;
  o.batch_size = batch;
  o.shuffle = shuffle;
  o.seed = ctx.seed;
  return o;  // no normalisation: the network sees pixels, so its bound is in pixel space
}

void ensure_data(Context& ctx) {
  if (state.have_data) return;
  const int64_t train_count = ctx.int_flag("train-size", ctx.pick(30000, 1000)), test_count = ctx.pick(10000, 500);
  state.data = notebook::real_or_synthetic(
      "Fashion-MNIST",
      [&] { return load_fashion_mnist_subsets(ctx.data_dir, train_count, test_count, ctx.seed); },
      [&] { return shapes_stand_in(train_count, test_count, ctx.seed); });
  if (!state.data.synthetic) std::cout << "  " << state.data.note << "\n";
  state.have_data = true;
}

// The trained network's checkpoint: its name changes with everything that changes the weights, so
// a --smoke run's file is never reused by a full run.
std::string checkpoint_path(const Context& ctx) {
  std::ostringstream config;
  config << state.data.train.name << " " << state.data.train.size() << (state.data.synthetic ? " synthetic" : "")
         << " epochs " << ctx.int_flag("epochs", ctx.pick(30, 1)) << " width "
         << ctx.int_flag("width", ctx.smoke ? 64 : 256) << " blocks " << ctx.int_flag("blocks", ctx.smoke ? 2 : 5)
         << " temperature " << ctx.double_flag("temperature", 16.0) << " lr " << ctx.double_flag("lr", 1e-3)
         << " seed " << ctx.seed;
  return notebook::checkpoint_for(ctx, "ch07_nonexpansive", config.str());
}

void train_cell(Context& ctx) {
  ensure_data(ctx);
  if (!state.model) assemble_cell(ctx);
  const int64_t epochs = ctx.int_flag("epochs", ctx.pick(30, 1));
  const double temperature = ctx.double_flag("temperature", 16.0);
  const double lr = ctx.double_flag("lr", 1e-3);
  const DataLoader train(state.data.train, loader_options(ctx, 128, true));
  const DataLoader test(state.data.test, loader_options(ctx, 1000, false));
  Adam adam(state.model->parameters(), lr);
  adam.set_schedule(cosine_schedule(lr, epochs * train.num_batches()));
  LossFunction loss = [temperature](const Var& z, const Tensor& y) {
    return ch07::temperature_cross_entropy(z, y, temperature);
  };
  Trainer trainer(*state.model, adam, loss);
  trainer.options.epochs = epochs;
  trainer.options.checkpoint_path = checkpoint_path(ctx);
  trainer.options.csv_path = checkpoint_path(ctx) + ".csv";
  trainer.options.label = "non-expansive";
  std::cout << "  " << state.data.train.name << ": " << state.data.train.size() << " images; Adam lr " << lr
            << " with cosine decay, batch 128, " << epochs << " epochs; loss: cross-entropy of " << temperature
            << " x logits\n";
  const auto start = std::chrono::steady_clock::now();
  // Reuses the checkpoint of an earlier run (or resumes one stopped by Ctrl-C) unless --retrain.
  state.result = notebook::fit_or_resume(ctx, trainer, train, &test);
  state.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Epochs an earlier run trained count with the time they took then (the CSV log keeps it).
  state.train_seconds = std::max(state.train_seconds, logged_training_seconds(state.result));
  SNN_CHECK(!state.result.diverged, "training diverged: ", state.result.message);
  state.trained = true;
  {  // the count of an evaluation-mode forward pass: a model reloaded from its checkpoint has run none yet
    NoGrad no_grad;
    state.model->eval();
    state.model->forward(Var(state.data.test.inputs.narrow(0, 0, 1)));
  }
  std::cout << "  sub-steps per forward pass at the end (" << state.config.blocks << " blocks of T = 1): "
            << ch07::total_substeps(*state.model) << "\n";
  ctx.result("substeps.final", static_cast<double>(ch07::total_substeps(*state.model)), "%.0f");
  ctx.result("blocks", static_cast<double>(state.config.blocks), "%.0f");
  ctx.result("epochs", static_cast<double>(epochs), "%.0f");
  ctx.result_text("train_size", notebook::thousands(state.data.train.size()));
  ctx.result("train_seconds", state.train_seconds, "%.0f");
  if (!state.result.history.empty()) {
    // Epoch 1, every fifth and the last: the table of the book.
    std::ostringstream table;
    table << "| epoch | train accuracy | test accuracy |\n|---|---|---|\n" << std::fixed << std::setprecision(1);
    const auto& history = state.result.history;
    for (size_t i = 0; i < history.size(); ++i)
      if (i == 0 || (i + 1) % 5 == 0 || i + 1 == history.size())
        table << "| " << history[i].epoch << " | " << 100 * history[i].train_accuracy << " % | "
              << 100 * history[i].test_accuracy << " % |\n";
    ctx.result_table("epochs", table.str());
    std::cout << std::defaultfloat;
    ctx.result("train_accuracy.final", 100 * history.back().train_accuracy, "%.0f");
    std::vector<double> train_acc, test_acc;
    for (const auto& row : state.result.history)
      train_acc.push_back(100 * row.train_accuracy), test_acc.push_back(100 * row.test_accuracy);
    LinePlot acc;
    acc.title = "1-Lipschitz network: accuracy";
    acc.x_label = "epoch";
    acc.y_label = "% correct";
    acc.add("train", train_acc, Marker::Circle).add("test", test_acc, Marker::Square);
    save_plot(acc, ctx, "ch07_training.png");
  }
}

void ensure_trained(Context& ctx) {
  if (state.trained) return;
  ensure_data(ctx);
  notebook::load_or_train(
      checkpoint_path(ctx),
      [&] {
        Generator g(ctx.seed);
        if (ctx.smoke) state.config.width = 64, state.config.blocks = 2;
        state.config.width = ctx.int_flag("width", state.config.width);
        state.config.blocks = ctx.int_flag("blocks", state.config.blocks);
        state.model = ch07::make_nonexpansive_mlp(state.config, g);
        load_checkpoint(checkpoint_path(ctx), *state.model);
        state.trained = true;
      },
      [&] { train_cell(ctx); });
}

// ---- cell 6: certificates ----
void certificates_cell(Context& ctx) {
  ensure_trained(ctx);
  Module& net = *state.model;
  net.eval();
  state.bound = lipschitz_bound(net);
  Tensor logits;
  {
    NoGrad no_grad;
    logits = net(Var(state.data.test.inputs)).value();
  }
  state.clean = accuracy(logits, state.data.test.labels);
  state.eps.clear();
  for (int i = 0; i <= 20; ++i) state.eps.push_back(0.05 * i);
  state.certified = certified_accuracy_curve(logits, state.data.test.labels, state.bound, state.eps);
  ctx.result("bound", state.bound, "%.7g");
  ctx.result("clean_accuracy", 100 * state.clean, "%.1f");
  ctx.result_text("test_size", notebook::thousands(state.data.test.size()));
  {
    std::ostringstream eps_row, cert_row;
    eps_row << "| ε |";
    cert_row << "| certified % |";
    for (size_t i : {0, 2, 4, 5, 6, 10, 14, 20}) {
      char cell[32];
      std::snprintf(cell, sizeof cell, " %g |", state.eps[i]);
      eps_row << cell;
      std::snprintf(cell, sizeof cell, " %.1f |", 100 * state.certified[i]);
      cert_row << cell;
    }
    ctx.result_table("certified", eps_row.str() + "\n|---|---|---|---|---|---|---|---|---|\n" + cert_row.str());
  }
  std::cout << std::setprecision(6) << "  Lipschitz bound (pixels -> logits): " << state.bound << "\n"
            << std::setprecision(4) << "  clean test accuracy: " << 100 * state.clean << " %\n"
            << "  certified accuracy (correct and margin > sqrt(2) * bound * eps):\n";
  for (size_t i = 0; i < state.eps.size(); i += 2)
    std::printf("    eps = %.2f   %6.2f %%\n", state.eps[i], 100 * state.certified[i]);
  std::vector<double> pct;
  for (double c : state.certified) pct.push_back(100 * c);
  LinePlot plot;
  plot.title = "certified accuracy (ℓ2), 1-Lipschitz network";
  plot.x_label = "ε (ℓ2 radius in pixels, images in [0, 1])";
  plot.y_label = "% certified";
  plot.add("certified", state.eps, pct, Marker::Circle);
  save_plot(plot, ctx, "ch07_certified.png");
  // An empirical lower bound of the trained network's Lipschitz constant, to set against the bound.
  EmpiricalLipschitzOptions search;
  search.random_pairs = ctx.pick(512, 64);
  search.ascent_pairs = ctx.pick(32, 4);
  search.ascent_steps = ctx.pick(100, 10);
  search.seed = ctx.seed;
  const EmpiricalLipschitzResult r =
      empirical_lipschitz(net, state.data.test.inputs.narrow(0, 0, std::min<int64_t>(256, state.data.test.size())), search);
  state.lower_bound = r.best();
  ctx.result("lower_bound", state.lower_bound, "%.3f");
  ctx.result("lower_bound.random_pairs", static_cast<double>(search.random_pairs), "%.0f");
  ctx.result("lower_bound.ascent_pairs", static_cast<double>(search.ascent_pairs), "%.0f");
  std::cout << "  measured Lipschitz lower bound: random pairs " << r.random_pairs << ", gradient ascent " << r.ascent
            << " against the upper bound " << state.bound << "\n";
}

void results_cell(Context& ctx) {
  ensure_trained(ctx);
  if (std::isnan(state.bound)) certificates_cell(ctx);
  std::cout << "  data:                  " << state.data.train.name << (state.data.synthetic ? " (synthetic)" : "") << "\n"
            << "  network:               flatten, lift <= 1, " << state.config.blocks << " gradient-step blocks of width "
            << state.config.width << ", head <= 1\n";
  if (state.train_seconds > 0) std::cout << "  training time:         " << std::setprecision(4) << state.train_seconds << " s\n";
  std::cout << std::setprecision(6) << "  Lipschitz bound:       " << state.bound << "   (measured >= " << state.lower_bound << ")\n"
            << std::setprecision(4) << "  clean accuracy:        " << 100 * state.clean << " %\n";
  for (double e : {0.1, 0.25, 0.5, 1.0}) {
    const size_t i = static_cast<size_t>(std::lround(e / 0.05));
    std::printf("  certified at eps %.2f:  %.2f %%\n", e, 100 * state.certified[i]);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<Cell> cells = {
      {"Power iteration",
       "sigma_max(A) by u <- A^T A u / ||A^T A u||: a cold start needs many iterations, but during\n"
       "training the weights move little per step, so ONE warm-started iteration per step keeps up.",
       power_iteration_cell},
      {"The step size of a non-expansive gradient step",
       "x - h A^T sigma(Ax + b) is 1-Lipschitz when h <= 2 / (Lip(sigma) ||A||^2). We measure one step's\n"
       "Lipschitz constant (random pairs and gradient ascent on the ratio) across that limit.",
       step_size_cell},
      {"Adaptive sub-steps",
       "Fix the block's integration time T and take n = ceil(T Lip ||A||^2 / 2r) sub-steps of T/n.",
       adaptive_cell},
      {"Assembling a 1-Lipschitz network",
       "Flatten, a lift normalised to ||W|| <= 1, gradient-step blocks, a head normalised to <= 1: every\n"
       "layer reports its bound and the network multiplies them, in pixel space.",
       assemble_cell},
      {"Training on Fashion-MNIST",
       "Adam, cosine decay, cross-entropy on 16 x logits (a 1-Lipschitz network's logits move little).",
       train_cell},
      {"Certificates",
       "A margin m(x) between the top two logits cannot be closed by any ||delta|| < m / (sqrt(2) L).",
       certificates_cell},
      {"Results", "The numbers of this run in one table.", results_cell},
  };
  return stablenn::notebook::run_chapter(
      argc, argv,
      {7, "Designing 1-Lipschitz networks", "book/07-lipschitz-networks.md",
       {{"epochs", true, "training epochs (default 30; 1 with --smoke)", args::whole_number(1, 100000)},
        {"train-size", true, "training images (default 30000; 1000 with --smoke)", args::whole_number(1, 60000)},
        {"width", true, "width of the blocks (default 256; 64 with --smoke)", args::whole_number(1, 65536)},
        {"blocks", true, "gradient-step blocks (default 5; 2 with --smoke)", args::whole_number(1, 1000)},
        {"temperature", true, "logit temperature of the loss (default 16)", args::number(1e-6, 1e6)},
        {"lr", true, "Adam learning rate (default 1e-3)", args::number(0, 1e6)},
        {"retrain", false, "train again even when an earlier run's checkpoint exists"}}},
      cells);
}
