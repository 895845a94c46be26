// notebooks_cpp/ch10_contractivity.cpp — chapter 10, "Contractivity-promoting regularisation of
// convolutional neural ODEs". The same convolutional neural ODE classifier is trained three ways on
// MNIST and on Fashion-MNIST: plain, with the Jacobian-based regulariser (μ₂ of the field's Jacobian at
// sampled states, by Lanczos steps) and with the weight-based one (a condition on the kernel that
// bounds μ₂ at every state). Then: measured contraction, noise corruptions, FGSM and the strong
// evaluation in l-inf and l2, and a small sweep of the target rate ρ.
// Read along in book/10-contractivity.md. Run: build/notebooks_cpp/ch10_contractivity [--step] [--smoke]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "datasets/corruptions.h"
#include "datasets/fallback.h"
#include "datasets/loader.h"
#include "datasets/mnist.h"
#include "layers/losses.h"
#include "layers/stable/contractivity.h"
#include "plot/image_grid_plot.h"
#include "plot/plot.h"
#include "robust/attacks.h"
#include "robust/robust_eval.h"
#include "train/csv_log.h"
#include "train/progress.h"
#include "train/trainer.h"
#include "notebooks_cpp/harness.h"

using namespace stablenn;
using stablenn::notebook::Context;

namespace {

// C 16 channels, 2 Euler steps, a ReLU lift and no pooling before the head: the sizes that reach
// 98 % (MNIST) and 88 % (Fashion-MNIST) within the time budget (book, "Choosing the sizes").
ConvNodeConfig default_net() {
  ConvNodeConfig c;
  c.channels = 16;
  c.steps = 2;
  c.relu_lift = true;
  c.pool = 1;
  return c;
}

// The experiment's sizes; --smoke shrinks them.
struct Setup {
  int64_t train_count = 60000, test_count = 10000, corrupt_count = 2000, attack_count = 100;
  int64_t epochs = 4, batch = 32, reg_samples = 16;
  double lr = 5e-3;
  double rho = 0.5;                    // the target contraction rate
  double jacobian_weight = 1.0, weight_weight = 1.0;  // λ of each penalty
  int jacobian_steps = 8;              // Lanczos steps in training; the measurement uses 30
  int64_t jacobian_every = 2;          // the Jacobian penalty on every 2nd batch, at twice the weight
  int attack_iterations = 20;          // APGD iterations and FMN steps of the strong evaluation
  ConvNodeConfig net = default_net();  // C 16, 4x4 lift to 14x14, 3x3 field, 2 Euler steps on [0, 1], α 0.5
  std::vector<double> sigma = {0, 0.1, 0.2, 0.3, 0.4, 0.5};
  std::vector<double> density = {0, 0.05, 0.1, 0.2, 0.3};
  std::vector<double> eps_inf = {0, 0.02, 0.05, 0.1};
  std::vector<double> eps_2 = {0, 0.5, 1.0, 1.5};
  std::vector<double> rho_sweep = {0.1, 0.5, 1.0, 2.0};
  int64_t sweep_train = 5000;
};

enum class Reg { kNone, kJacobian, kWeight };
const char* reg_key(Reg r) { return r == Reg::kNone ? "plain" : r == Reg::kJacobian ? "jacobian" : "weight"; }

struct Model {
  Reg reg;
  std::string name, config;  // config: what the checkpoint name hashes (checkpoint_for)
  std::shared_ptr<ConvNodeClassifier> net;
  double clean = 0, train_seconds = 0, repair = 0;
  bool loaded = false;
  // measured contraction
  double rate_min = NAN, rate_median = NAN, mu_max = NAN, gamma_max = NAN;
  std::vector<double> log_ratio;  // mean over pairs of log(d_k / d_0), k = 0 .. N
  std::vector<double> gauss, sp, fgsm_inf, fgsm_2, strong_inf, strong_2;
};

struct DataSet {
  std::string name, key;
  TrainTestData data;
  std::vector<Model> models;
};

struct Chapter {
  Setup s;
  std::vector<DataSet> sets;
  std::vector<double> sweep_clean, sweep_rate;
};
Chapter state;

std::string percent(double v) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(1) << 100 * v;
  return os.str();
}

// The sizes and optimiser settings a checkpoint depends on, for checkpoint_for.
std::string net_tag(const Setup& s) {
  return "c" + std::to_string(s.net.channels) + " N" + std::to_string(s.net.steps) + " p" + std::to_string(s.net.pool) +
         (s.net.relu_lift ? " relu" : "") + " a" + std::to_string(s.net.alpha) + " b" + std::to_string(s.batch) +
         " lr" + std::to_string(s.lr);
}

std::shared_ptr<ConvNodeClassifier> build(const ConvNodeConfig& c, uint64_t seed, DType dtype = DType::Float32) {
  Generator g(seed);
  return std::make_shared<ConvNodeClassifier>(c, g, dtype);
}

// Cross-entropy plus the model's penalty. The Jacobian one looks at one stored Euler state (a random
// step) of the first reg_samples images of every jacobian_every-th batch, weighted by jacobian_every
// (the same expected penalty per epoch at a fraction of its cost); the weight one at the kernel alone.
LossFunction make_loss(Model& m, const Setup& s, double rho, uint64_t seed) {
  auto net = m.net;
  auto gen = std::make_shared<Generator>(seed);
  auto batches = std::make_shared<int64_t>(0);
  const Reg reg = m.reg;
  return [net, gen, batches, reg, s, rho](const Var& z, const Tensor& y) {
    Var loss = cross_entropy(z, y);
    if (reg == Reg::kJacobian && net->training() && (*batches)++ % s.jacobian_every == 0) {
      const int64_t k = static_cast<int64_t>(gen->uniform({1}).item() * net->config.steps) % net->config.steps;
      const Tensor& x = net->last_states[k];
      const int64_t count = std::min<int64_t>(s.reg_samples, x.size(0));
      const Tensor xs = x.narrow(0, 0, count);
      const Var us(net->last_states[0].narrow(0, 0, count));  // x_0 is the input u
      LogNormOptions o;
      o.iterations = s.jacobian_steps;
      o.seed = static_cast<uint64_t>(gen->uniform({1}).item() * 1e9);
      const auto f = [&](const Var& v) { return net->field->drive(v, us); };
      loss = loss + log_norm_penalty(log_norm2_estimate(f, xs, o), rho) *
                        (s.jacobian_weight * static_cast<double>(s.jacobian_every));
    } else if (reg == Reg::kWeight) {
      const Var gamma = weight_condition(conv_dominance(net->field->weight), net->field->sigma.slopes());
      loss = loss + weight_penalty(gamma, rho) * s.weight_weight;
    }
    return loss;
  };
}

// Trains (or reloads) a model with Adam and a cosine schedule; the weight-regularised one starts
// from and ends on weights that satisfy its condition.
void train_or_load(Model& m, const Dataset& train, const Dataset& test, int64_t epochs, double rho, Context& ctx,
                   bool quiet = false, int64_t batch = 0) {
  if (m.reg == Reg::kWeight) enforce_weight_condition(*m.net->field, rho);
  m.net->keep_states = m.reg == Reg::kJacobian;
  LoaderOptions lo;
  lo.batch_size = batch > 0 ? batch : state.s.batch;
  lo.seed = ctx.seed;
  DataLoader train_loader(train, lo);
  lo.shuffle = false;
  DataLoader test_loader(test, lo);
  Adam adam(m.net->parameters(), state.s.lr);
  adam.set_schedule(cosine_schedule(state.s.lr, epochs * train_loader.num_batches()));
  TrainerOptions to;
  to.epochs = epochs;
  to.checkpoint_path = stablenn::notebook::checkpoint_for(ctx, std::string("ch10_") + reg_key(m.reg), m.config);
  to.csv_path = to.checkpoint_path + ".csv";
  to.label = m.name;
  if (quiet) to.out = nullptr;
  Trainer trainer(*m.net, adam, make_loss(m, state.s, rho, ctx.seed + 7), to);
  const auto start = std::chrono::steady_clock::now();
  const TrainResult r = stablenn::notebook::fit_or_resume(ctx, trainer, train_loader, &test_loader);
  m.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.train_seconds = std::max(m.train_seconds, logged_training_seconds(r));  // a reloaded run's, from its log
  m.loaded = r.epochs_trained == 0;
  if (m.loaded && logged_training_seconds(r) == 0) m.train_seconds = NAN;  // saved without a log: unknown
  SNN_CHECK(!r.diverged, m.name, ": ", r.message);
  m.net->keep_states = false;
  m.net->eval();
  // The penalty drives γ towards −ρ but need not end exactly there: lower the violating centre taps.
  if (m.reg == Reg::kWeight) m.repair = enforce_weight_condition(*m.net->field, rho);
  m.clean = accuracy(predict_logits(*m.net, test.inputs), test.labels);
}

// The short runs behind the default sizes (book, "Choosing the sizes"): each change from the
// chapter's first version (C 8, N 4, σ lift, 2x2 pooling, batch 128) to the default, one epoch of the
// unregularised model each.
struct SizeTrial {
  std::string change;
  ConvNodeConfig net;
  int64_t batch;
};
std::vector<SizeTrial> size_trials(const Setup& s) {
  ConvNodeConfig first = s.net;
  first.channels = 8;
  first.steps = 4;
  first.relu_lift = false;
  first.pool = 2;
  std::vector<SizeTrial> trials = {{"first version", first, 128}};
  ConvNodeConfig c = first;
  c.relu_lift = true;
  trials.push_back({"ReLU lift", c, 128});
  trials.push_back({"+ batch 32", c, 32});
  ConvNodeConfig one_step = c;
  one_step.steps = 1;
  trials.push_back({"+ N 1", one_step, 32});
  ConvNodeConfig no_pool = c;
  no_pool.steps = 2;
  no_pool.pool = 1;
  trials.push_back({"+ N 2, no pooling", no_pool, 32});
  ConvNodeConfig nonlinear = c;
  nonlinear.alpha = 0.1;
  trials.push_back({"ReLU lift, α 0.1 (batch 128)", nonlinear, 128});
  trials.push_back({"the default", s.net, s.batch});
  return trials;
}

// Accuracy on `x` after `corrupt`.
double corrupted_accuracy(Model& m, const Tensor& x, const Tensor& y, const std::function<Tensor(const Tensor&)>& corrupt) {
  return accuracy(predict_logits(*m.net, corrupt(x)), y);
}

void line_plot(const std::string& path, const std::string& title, const std::string& x_label,
               const std::vector<double>& x, const std::vector<Model>& models,
               std::vector<double> Model::*series) {
  LinePlot plot;
  plot.title = title;
  plot.x_label = x_label;
  plot.y_label = "accuracy";
  plot.y_range = std::make_pair(0.0, 1.0);
  const Marker markers[3] = {Marker::Circle, Marker::Triangle, Marker::Square};
  for (size_t i = 0; i < models.size(); ++i) plot.add(models[i].name, x, models[i].*series, markers[i]);
  plot.save(path);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace stablenn::notebook;
  return run_chapter(
      argc, argv,
      {10, "Contractivity-promoting regularisation", "book/10-contractivity.md",
       {{"retrain", false, "train the models again even when their checkpoints exist"},
        {"epochs", true, "training epochs (default 4)", args::whole_number(1, 1000)},
        {"train-size", true, "training images per data set (default 60000: all)", args::whole_number(100, 60000)},
        {"attack-size", true, "test images for the strong evaluation (default 100)", args::whole_number(1, 10000)},
        {"rho", true, "target contraction rate ρ (default 0.5)", args::number(0.01, 10)},
        {"no-sweep", false, "skip the ρ sweep"}}},
      {
          {"Data",
           "MNIST and Fashion-MNIST: a stratified training subset of each and the full test sets. "
           "Without the files the synthetic shapes set stands in for both, and the program says so.",
           [&](Context& ctx) {
             Setup& s = state.s;
             if (ctx.smoke) {
               s.train_count = 512; s.test_count = 256; s.corrupt_count = 128; s.attack_count = 16;
               s.epochs = 1; s.attack_iterations = 3; s.net.channels = 4; s.net.steps = 2;
               s.rho_sweep = {0.5, 2.0}; s.sweep_train = 256; s.jacobian_steps = 2;
               s.sigma = {0, 0.3}; s.density = {0, 0.2}; s.eps_inf = {0, 0.1}; s.eps_2 = {0, 1.0};
             }
             s.epochs = ctx.int_flag("epochs", s.epochs);
             s.train_count = ctx.int_flag("train-size", s.train_count);
             s.attack_count = ctx.int_flag("attack-size", s.attack_count);
             s.rho = ctx.double_flag("rho", s.rho);
             const int64_t tc = ctx.smoke ? s.test_count : 0;
             DataSet mnist{"MNIST", "mnist", {}, {}};
             mnist.data = real_or_synthetic(
                 "MNIST",
                 [&] {
                   TrainTestData d;
                   d.train = load_mnist(Split::Train, ctx.data_dir,
                                        s.train_count >= 60000 ? Subset::all()
                                                               : Subset::random(s.train_count, ctx.seed, true));
                   d.test = load_mnist(Split::Test, ctx.data_dir, tc ? Subset::first(tc, true) : Subset::all());
                   d.note = "MNIST: " + std::to_string(d.train.size()) + " training images, " +
                            std::to_string(d.test.size()) + " test images";
                   return d;
                 },
                 [&] { return shapes_stand_in(s.train_count, tc, ctx.seed); });
             DataSet fashion{"Fashion-MNIST", "fmnist", {}, {}};
             fashion.data = real_or_synthetic(
                 "Fashion-MNIST", [&] { return load_fashion_mnist_subsets(ctx.data_dir, s.train_count, tc, ctx.seed); },
                 [&] { return shapes_stand_in(s.train_count, tc, ctx.seed + 1); });
             state.sets = {mnist, fashion};
             for (const DataSet& d : state.sets)
               std::cout << d.name << (d.data.synthetic ? " (SYNTHETIC stand-in)" : "") << ": train "
                         << shape_str(d.data.train.inputs.shape()) << ", test " << shape_str(d.data.test.inputs.shape())
                         << "\n";
           }},
          {"Three models of one architecture",
           "A lift convolution (1 -> C channels, 4x4, stride 2) and ReLU give x(0) on a 14x14 grid; "
           "forward Euler with N steps on [0, 1] for ẋ = σ(K⋆x + β + x(0)), σ(s) = s/2 + softplus(s)/2 "
           "(slopes in [1/2, 1]); a linear head on the final state. Same seed for all three: they "
           "differ only in the training loss.",
           [&](Context& ctx) {
             const Setup& s = state.s;
             for (DataSet& d : state.sets) {
               const std::string tag = std::string(d.data.synthetic ? "shapes" : d.key) + " n" +
                                       std::to_string(d.data.train.size()) + " " + net_tag(s) + " e" +
                                       std::to_string(s.epochs) + " r" + std::to_string(s.rho) + " s" +
                                       std::to_string(ctx.seed);
               d.models.clear();
               for (Reg r : {Reg::kNone, Reg::kJacobian, Reg::kWeight}) {
                 Model m;
                 m.reg = r;
                 m.name = r == Reg::kNone ? "unregularised" : r == Reg::kJacobian ? "Jacobian-reg." : "weight-reg.";
                 m.config = tag;
                 if (r == Reg::kJacobian)
                   m.config += " lanczos" + std::to_string(s.jacobian_steps) + " k" + std::to_string(s.reg_samples) +
                               " every" + std::to_string(s.jacobian_every);
                 m.net = build(s.net, ctx.seed + 1);
                 d.models.push_back(m);
               }
             }
             std::cout << state.sets[0].models[0].net->summary({1, 1, 28, 28});
           }},
          {"Training",
           "Adam (lr 5e-3, cosine decay), batch 32. Jacobian-regularised: + 2 · mean ReLU(μ₂ + ρ) over 16 "
           "images of every 2nd batch at one random Euler state, μ₂ by 8 Lanczos steps. "
           "Weight-regularised: + Σ_c ReLU(γ_c + ρ), started from and finished on weights with γ <= −ρ. "
           "Checkpoints are reused on the next run (--retrain trains again).",
           [&](Context& ctx) {
             for (DataSet& d : state.sets)
               for (Model& m : d.models) {
                 train_or_load(m, d.data.train, d.data.test, state.s.epochs, state.s.rho, ctx);
                 std::cout << d.name << ", " << m.name << ": clean test accuracy " << percent(m.clean) << " % ("
                           << (m.loaded ? "loaded" : "trained in " + format_duration(m.train_seconds)) << ")";
                 if (m.reg == Reg::kWeight) std::cout << "; largest centre-tap repair " << m.repair;
                 std::cout << "\n";
               }
           }},
          {"Measured contraction",
           "For each model: the weight condition's bound max γ (a certificate of rate −max γ for every "
           "state when negative); μ₂ at Euler states of test images (30 Lanczos steps: the largest "
           "value found); and pairs of trajectories, each test image against the same image with "
           "Gaussian noise (σ = 0.1), their distance along the Euler steps: the measured rate of a pair "
           "is −log(d_N/d_0)/T. Last, the μ₂ estimators side by side: shifted power iteration and Lanczos.",
           [&](Context& ctx) {
             const Setup& s = state.s;
             // The μ₂ estimators side by side (§3): the mean over the Euler states of the first 8
             // test images of what each finds, for every model.
             std::ostringstream estimators;
             estimators << "| data | model | 4 shifted power its | 30 shifted power its | 4 Lanczos steps | "
                           "8 Lanczos steps (training) | 30 Lanczos steps |\n|---|---|---|---|---|---|---|\n";
             for (DataSet& d : state.sets) {
               const int64_t n = std::min<int64_t>(ctx.smoke ? 32 : 200, d.data.test.size());
               const Tensor x = d.data.test.inputs.narrow(0, 0, n);
               Generator g(ctx.seed + 3);
               const Tensor xn = gaussian_noise(x, 0.1, g);
               for (Model& m : d.models) {
                 NoGrad no_grad;
                 m.gamma_max = amax(weight_condition(conv_dominance(m.net->field->weight), m.net->field->sigma.slopes())
                                        .value()).item();
                 // one input (the clean image), two initial states: the contraction of the field itself
                 const std::vector<Tensor> a = m.net->trajectory(x), b = m.net->trajectory(x, &xn);
                 std::vector<std::vector<double>> dist;
                 for (size_t k = 0; k < a.size(); ++k)
                   dist.push_back(sqrt(sum(square(Var(a[k]) - Var(b[k])), {1, 2, 3})).value().to_vector());
                 std::vector<double> rates;
                 m.log_ratio.assign(a.size(), 0.0);
                 for (int64_t i = 0; i < n; ++i) {
                   for (size_t k = 0; k < a.size(); ++k) m.log_ratio[k] += std::log(dist[k][i] / dist[0][i]) / n;
                   rates.push_back(-std::log(dist.back()[i] / dist[0][i]) / s.net.horizon);
                 }
                 std::sort(rates.begin(), rates.end());
                 m.rate_min = rates.front();
                 m.rate_median = rates[rates.size() / 2];
                 // μ₂ at the states of the first 50 images, every step
                 double mu = -INFINITY;
                 for (size_t k = 0; k + 1 < a.size(); ++k) {
                   LogNormOptions o;
                   o.iterations = 30;
                   const Tensor xs = a[k].narrow(0, 0, std::min<int64_t>(50, n));
                   const Var us(a[0].narrow(0, 0, std::min<int64_t>(50, n)));
                   const auto f = [&](const Var& v) { return m.net->field->drive(v, us); };
                   mu = std::max(mu, amax(log_norm2_estimate(f, xs, o).value()).item());
                 }
                 m.mu_max = mu;
                 const int64_t few = std::min<int64_t>(8, n);
                 const Var us_few(a[0].narrow(0, 0, few));
                 const auto f_few = [&](const Var& v) { return m.net->field->drive(v, us_few); };
                 estimators << "| " << d.name << " | " << m.name;
                 for (const auto& [method, steps] : std::vector<std::pair<LogNormOptions::Method, int>>{
                          {LogNormOptions::Method::kPower, 4}, {LogNormOptions::Method::kPower, 30},
                          {LogNormOptions::Method::kLanczos, 4}, {LogNormOptions::Method::kLanczos, 8},
                          {LogNormOptions::Method::kLanczos, 30}}) {
                   LogNormOptions o;
                   o.method = method;
                   o.iterations = steps;
                   o.shift = field_norm_bound(*m.net->field);  // used by the power iteration only
                   double total = 0;
                   for (size_t k = 0; k + 1 < a.size(); ++k)
                     total += mean(log_norm2_estimate(f_few, a[k].narrow(0, 0, few), o).value()).item();
                   estimators << " | " << std::setprecision(3) << total / static_cast<double>(a.size() - 1);
                 }
                 estimators << " |\n";
                 std::cout << d.name << ", " << m.name << ": max γ " << std::setprecision(3) << m.gamma_max
                           << ", largest μ₂ found " << m.mu_max << ", measured rate min " << m.rate_min
                           << " / median " << m.rate_median << " (target ρ " << s.rho << ")\n";
               }
               LinePlot plot;
               plot.title = d.name + ": distance of trajectory pairs" + (d.data.synthetic ? " (synthetic)" : "");
               plot.x_label = "t";
               plot.y_label = "mean of d(t) / d(0)";
               plot.log_y = true;
               std::vector<double> t, ref;
               for (int64_t k = 0; k <= s.net.steps; ++k) {
                 t.push_back(k * s.net.horizon / s.net.steps);
                 ref.push_back(std::exp(-s.rho * t.back()));
               }
               const Marker markers[3] = {Marker::Circle, Marker::Triangle, Marker::Square};
               for (size_t i = 0; i < d.models.size(); ++i) {
                 std::vector<double> r;
                 for (double l : d.models[i].log_ratio) r.push_back(std::exp(l));
                 plot.add(d.models[i].name, t, r, markers[i]);
               }
               plot.add("exp(-rho t)", t, ref);
               plot.save(ctx.out_path("ch10_trajectories_" + d.key + ".png"));
             }
             std::cout << "\nμ₂ estimators, mean over the Euler states of 8 test images (each a lower estimate):\n"
                       << estimators.str();
             ctx.result_table("estimators", estimators.str());
           }},
          {"Noise corruptions",
           "Accuracy on test images with Gaussian noise (σ grid) and salt-and-pepper noise (density "
           "grid), the same noise for all three models.",
           [&](Context& ctx) {
             const Setup& s = state.s;
             for (DataSet& d : state.sets) {
               const int64_t n = std::min<int64_t>(s.corrupt_count, d.data.test.size());
               const Tensor x = d.data.test.inputs.narrow(0, 0, n), y = d.data.test.labels.narrow(0, 0, n);
               for (Model& m : d.models) {
                 m.gauss.clear();
                 m.sp.clear();
                 for (double sg : s.sigma) {
                   Generator g(ctx.seed + 11);
                   m.gauss.push_back(corrupted_accuracy(m, x, y, [&](const Tensor& t) { return gaussian_noise(t, sg, g); }));
                 }
                 for (double p : s.density) {
                   Generator g(ctx.seed + 12);
                   m.sp.push_back(corrupted_accuracy(m, x, y, [&](const Tensor& t) { return salt_and_pepper(t, p, g); }));
                 }
               }
               const std::string suffix = d.data.synthetic ? " (synthetic)" : "";
               line_plot(ctx.out_path("ch10_gaussian_" + d.key + ".png"), d.name + ": Gaussian noise" + suffix,
                         "sigma", s.sigma, d.models, &Model::gauss);
               line_plot(ctx.out_path("ch10_saltpepper_" + d.key + ".png"), d.name + ": salt-and-pepper" + suffix,
                         "density", s.density, d.models, &Model::sp);
               // corrupted images with each model's prediction
               const int64_t k = std::min<int64_t>(8, n);
               Generator g(ctx.seed + 13);
               const Tensor noisy = gaussian_noise(x.narrow(0, 0, k), 0.4, g);
               const Tensor sp = salt_and_pepper(x.narrow(0, 0, k), 0.2, g);
               CaptionedImageGrid grid;
               grid.images = concat(std::vector<Tensor>{noisy, sp}, 0);
               grid.columns = k;
               const std::vector<int64_t> labels = y.narrow(0, 0, k).to_int64();
               const auto& names = d.data.test.class_names;
               std::vector<std::vector<int64_t>> preds;
               for (Model& m : d.models) preds.push_back(argmax(predict_logits(*m.net, grid.images), 1).to_int64());
               for (int64_t i = 0; i < 2 * k; ++i) {
                 std::string c;
                 bool all_right = true;
                 for (size_t mi = 0; mi < d.models.size(); ++mi) {
                   c += std::string(mi ? "\n" : "") + reg_key(d.models[mi].reg)[0] + ": " + names[preds[mi][i]];
                   all_right = all_right && preds[mi][i] == labels[i % k];
                 }
                 grid.captions.push_back(c);
                 grid.caption_colors.push_back(all_right ? Color{0, 120, 0} : Color{200, 0, 0});
               }
               grid.title = d.name + ": top Gaussian sigma 0.4, bottom salt-and-pepper 0.2; p/j/w: the three models";
               grid.save(ctx.out_path("ch10_corrupted_" + d.key + ".png"));
             }
           }},
          {"Attacks",
           "FGSM (one step: an attack, its accuracy an upper estimate) and the strong evaluation of "
           "chapter 8 (FMN, then APGD-margin and APGD-CE down the eps grid, every example verified on "
           "a float64 copy), in l-inf and in l2. The robust accuracies reported are the strong ones.",
           [&](Context& ctx) {
             const Setup& s = state.s;
             for (DataSet& d : state.sets) {
               const int64_t n = std::min<int64_t>(s.attack_count, d.data.test.size());
               const Tensor x = d.data.test.inputs.narrow(0, 0, n), y = d.data.test.labels.narrow(0, 0, n);
               for (Model& m : d.models) {
                 const auto start = std::chrono::steady_clock::now();
                 m.net->eval();
                 const ConvNodeConfig c = s.net;
                 const auto verifier = float64_copy(*m.net, [c](DType dt) -> std::shared_ptr<Module> { return build(c, 0, dt); });
                 for (AttackNorm norm : {AttackNorm::Linf, AttackNorm::L2}) {
                   const std::vector<double>& eps = norm == AttackNorm::Linf ? s.eps_inf : s.eps_2;
                   std::vector<double>& fg = norm == AttackNorm::Linf ? m.fgsm_inf : m.fgsm_2;
                   fg.clear();
                   for (double e : eps)
                     fg.push_back(accuracy(predict_logits(*m.net, fgsm(*m.net, x, y, norm, e).adversarial), y));
                   RobustnessOptions o;
                   o.norm = norm;
                   o.eps = eps;
                   o.iterations = s.attack_iterations;
                   o.min_norm_steps = s.attack_iterations;
                   o.seed = ctx.seed;
                   (norm == AttackNorm::Linf ? m.strong_inf : m.strong_2) =
                       evaluate_robustness(*m.net, *verifier, x, y, o).accuracy;
                 }
                 std::cout << d.name << ", " << m.name << ": attacks in "
                           << format_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count())
                           << "\n";
               }
               const std::string suffix = d.data.synthetic ? " (synthetic)" : "";
               line_plot(ctx.out_path("ch10_linf_" + d.key + ".png"), d.name + ": strong evaluation, l-inf" + suffix,
                         "eps (l-inf)", s.eps_inf, d.models, &Model::strong_inf);
               line_plot(ctx.out_path("ch10_l2_" + d.key + ".png"), d.name + ": strong evaluation, l2" + suffix,
                         "eps (l2)", s.eps_2, d.models, &Model::strong_2);
             }
           }},
          {"Clean accuracy against rho, and the sizes",
           "The weight-regularised model trained for one epoch on a small MNIST subset for several target "
           "rates ρ: the price of contraction in clean accuracy. Then the short runs that chose the sizes: "
           "the unregularised model, one epoch on the same subset, from the first version to the default. "
           "(--no-sweep skips both.)",
           [&](Context& ctx) {
             if (ctx.has_flag("no-sweep")) return;
             const Setup& s = state.s;
             DataSet& d = state.sets[0];
             const Dataset train = take_subset(d.data.train, Subset::first(std::min(s.sweep_train, d.data.train.size())));
             state.sweep_clean.clear();
             state.sweep_rate.clear();
             for (double rho : s.rho_sweep) {
               Model m;
               m.reg = Reg::kWeight;
               m.name = "sweep rho " + std::to_string(rho);
               m.config = "sweep " + std::string(d.data.synthetic ? "shapes" : d.key) + " n" +
                          std::to_string(train.size()) + " " + net_tag(s) + " r" + std::to_string(rho) + " s" +
                          std::to_string(ctx.seed);
               m.net = build(s.net, ctx.seed + 1);
               train_or_load(m, train, d.data.test, 1, rho, ctx, true);
               NoGrad no_grad;
               const double gmax = amax(weight_condition(conv_dominance(m.net->field->weight),
                                                         m.net->field->sigma.slopes()).value()).item();
               state.sweep_clean.push_back(m.clean);
               state.sweep_rate.push_back(-gmax);
               std::cout << "rho " << rho << ": clean " << percent(m.clean) << " %, certified rate " << -gmax << "\n";
             }
             LinePlot plot;
             plot.title = d.name + ": clean accuracy against rho (weight-reg., 1 epoch)";
             plot.x_label = "rho";
             plot.y_label = "clean accuracy";
             plot.add("weight-reg.", s.rho_sweep, state.sweep_clean, Marker::Square);
             plot.save(ctx.out_path("ch10_rho_sweep.png"));
             std::ostringstream table;
             table << "| ρ | clean | certified rate −max γ |\n|---|---|---|\n";
             for (size_t i = 0; i < s.rho_sweep.size(); ++i)
               table << "| " << s.rho_sweep[i] << " | " << percent(state.sweep_clean[i]) << " % | "
                     << std::setprecision(3) << state.sweep_rate[i] << " |\n";
             ctx.result_table("sweep", table.str());
             ctx.result_text("sweep_size", stablenn::notebook::thousands(train.size()));

             std::ostringstream sizes;
             sizes << "| change | C | N | lift | pooling | α | batch | clean | training |\n"
                   << "|---|---|---|---|---|---|---|---|---|\n";
             for (const SizeTrial& t : size_trials(s)) {
               Setup trial = s;
               trial.net = t.net;
               trial.batch = t.batch;
               Model m;
               m.reg = Reg::kNone;
               m.name = "sizes: " + t.change;
               m.config = "sizes " + std::string(d.data.synthetic ? "shapes" : d.key) + " n" +
                          std::to_string(train.size()) + " " + net_tag(trial) + " s" + std::to_string(ctx.seed);
               m.net = build(t.net, ctx.seed + 1);
               train_or_load(m, train, d.data.test, 1, s.rho, ctx, true, t.batch);
               std::cout << t.change << ": clean " << percent(m.clean) << " % ("
                         << (m.loaded ? "loaded" : "trained in " + format_duration(m.train_seconds)) << ")\n";
               sizes << "| " << t.change << " | " << t.net.channels << " | " << t.net.steps << " | "
                     << (t.net.relu_lift ? "ReLU" : "σ") << " | " << (t.net.pool > 1 ? std::to_string(t.net.pool) + "×" + std::to_string(t.net.pool) : "none")
                     << " | " << t.net.alpha << " | " << t.batch << " | " << percent(m.clean) << " % | "
                     << (std::isnan(m.train_seconds) ? std::string("–") : stablenn::notebook::plain(m.train_seconds, 1) + " s") << " |\n";
             }
             ctx.result_table("sizes", sizes.str());
           }},
          {"Results",
           "The table of the experiment (also ch10_results.csv: accuracies in [0, 1]).",
           [&](Context& ctx) {
             const Setup& s = state.s;
             CsvLog csv(ctx.out_path("ch10_results.csv"));
             for (DataSet& d : state.sets) {
               std::cout << "\n" << d.name << (d.data.synthetic ? " (SYNTHETIC stand-in: not the book's numbers)" : "")
                         << "\n";
               std::cout << std::left << std::setw(16) << "model" << std::setw(8) << "clean" << std::setw(12) << "rate min"
                         << std::setw(10) << "max γ" << std::setw(10) << "max μ₂" << std::setw(12)
                         << ("gauss " + std::to_string(s.sigma.back()).substr(0, 3)) << std::setw(10)
                         << ("s&p " + std::to_string(s.density.back()).substr(0, 4)) << std::setw(12)
                         << ("linf " + std::to_string(s.eps_inf.back()).substr(0, 4)) << std::setw(10)
                         << ("l2 " + std::to_string(s.eps_2.back()).substr(0, 3)) << "\n";
               for (Model& m : d.models) {
                 std::cout << std::setw(16) << m.name << std::setw(8) << percent(m.clean) << std::setw(12)
                           << std::setprecision(3) << m.rate_min << std::setw(10) << m.gamma_max << std::setw(10)
                           << m.mu_max << std::setw(12) << percent(m.gauss.back()) << std::setw(10)
                           << percent(m.sp.back()) << std::setw(12) << percent(m.strong_inf.back()) << std::setw(10)
                           << percent(m.strong_2.back()) << "\n";
                 Metrics row = {{"dataset_mnist", d.key == "mnist" ? 1.0 : 0.0},
                                {"model", static_cast<double>(m.reg)},
                                {"clean", m.clean},
                                {"rate_min", m.rate_min},
                                {"rate_median", m.rate_median},
                                {"gamma_max", m.gamma_max},
                                {"mu_max", m.mu_max}};
                 for (size_t i = 0; i < s.sigma.size(); ++i) row.push_back({"gauss_" + std::to_string(i), m.gauss[i]});
                 for (size_t i = 0; i < s.density.size(); ++i) row.push_back({"sp_" + std::to_string(i), m.sp[i]});
                 for (size_t i = 0; i < s.eps_inf.size(); ++i) {
                   row.push_back({"fgsm_inf_" + std::to_string(i), m.fgsm_inf[i]});
                   row.push_back({"strong_inf_" + std::to_string(i), m.strong_inf[i]});
                 }
                 for (size_t i = 0; i < s.eps_2.size(); ++i) {
                   row.push_back({"fgsm_2_" + std::to_string(i), m.fgsm_2[i]});
                   row.push_back({"strong_2_" + std::to_string(i), m.strong_2[i]});
                 }
                 csv.write(row);
               }
               std::cout << "per-level accuracies (gauss | s&p | FGSM/strong linf | FGSM/strong l2):\n";
               for (Model& m : d.models) {
                 std::cout << "  " << std::setw(14) << m.name;
                 for (double v : m.gauss) std::cout << " " << percent(v);
                 std::cout << " |";
                 for (double v : m.sp) std::cout << " " << percent(v);
                 std::cout << " |";
                 for (size_t i = 0; i < m.strong_inf.size(); ++i)
                   std::cout << " " << percent(m.fgsm_inf[i]) << "/" << percent(m.strong_inf[i]);
                 std::cout << " |";
                 for (size_t i = 0; i < m.strong_2.size(); ++i)
                   std::cout << " " << percent(m.fgsm_2[i]) << "/" << percent(m.strong_2[i]);
                 std::cout << "\n";
               }
             }
             std::cout << std::right;
             // The book's tables (book/10-contractivity.md, filled by scripts/update_book.sh).
             std::ostringstream table, levels;
             table << "| data | model | clean | rate min | max γ | max μ₂ | Gauss σ " << s.sigma.back() << " | s&p "
                   << s.density.back() << " | strong ℓ∞ " << s.eps_inf.back() << " | strong ℓ2 " << s.eps_2.back()
                   << " | training |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
             const auto joined = [](const std::vector<double>& a, const std::vector<double>* b = nullptr) {
               std::string out;
               for (size_t i = 0; i < a.size(); ++i)
                 out += (i ? " · " : "") + percent(a[i]) + (b ? " / " + percent((*b)[i]) : "");
               return out;
             };
             const auto grid = [](const std::vector<double>& a) {
               std::ostringstream out;
               for (size_t i = 0; i < a.size(); ++i) out << (i ? " · " : "") << a[i];
               return out.str();
             };
             levels << "| data | model | Gauss σ " << grid(s.sigma) << " | s&p " << grid(s.density)
                    << " | FGSM / strong ℓ∞ " << grid(s.eps_inf) << " | FGSM / strong ℓ2 " << grid(s.eps_2)
                    << " |\n|---|---|---|---|---|---|\n";
             for (DataSet& d : state.sets)
               for (Model& m : d.models) {
                 const std::string data = d.name + (d.data.synthetic ? " (synthetic)" : "");
                 std::ostringstream row;
                 row << std::setprecision(3) << "| " << data << " | " << m.name << " | " << percent(m.clean) << " % | "
                     << m.rate_min << " | " << m.gamma_max << " | " << m.mu_max << " | " << percent(m.gauss.back())
                     << " % | " << percent(m.sp.back()) << " % | " << percent(m.strong_inf.back()) << " % | "
                     << percent(m.strong_2.back()) << " % | "
                     << (std::isnan(m.train_seconds) ? "–" : format_duration(m.train_seconds)) << " |\n";
                 table << row.str();
                 levels << "| " << data << " | " << m.name << " | " << joined(m.gauss) << " | " << joined(m.sp) << " | "
                        << joined(m.fgsm_inf, &m.strong_inf) << " | " << joined(m.fgsm_2, &m.strong_2) << " |\n";
                 ctx.result("clean." + d.key + "." + reg_key(m.reg), 100 * m.clean, "%.1f");
               }
             double training = 0;
             for (const DataSet& d : state.sets)
               for (const Model& m : d.models) training += m.train_seconds;
             ctx.result_text("training_total", std::isnan(training) ? "unknown (checkpoints without a training log; "
                                                                      "--retrain measures it)"
                                                                    : format_duration(training));
             ctx.result_table("models", table.str());
             ctx.result_table("levels", levels.str());
             ctx.result("epochs", static_cast<double>(s.epochs), "%.0f");
             ctx.result_text("train_size", stablenn::notebook::thousands(state.sets[0].data.train.size()));
             ctx.result_text("attack_size", stablenn::notebook::thousands(
                                                std::min<int64_t>(s.attack_count, state.sets[0].data.test.size())));
           }},
      });
}
