// notebooks_cpp/ch09_structure.cpp — chapter 9, "Structure-preserving architectures": signals and
// gradients through depth, symplectic and volume-preserving maps (Hamiltonian blocks, H-DNNs), the
// antisymmetric block, contractive/expansive switching, and the CIFAR-10 architecture of Celledoni et
// al. with four kinds of dynamic layers, trained on a CPU-sized subset and attacked with l2-PGD.
// Read along in book/09-structure-preserving.md.
// Run: build/notebooks_cpp/ch09_structure [--step] [--smoke] [--full]
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "datasets/datasets.h"
#include "layers/losses.h"
#include "layers/stable/antisymmetric_block.h"
#include "layers/stable/hamiltonian_blocks.h"
#include "plot/plot.h"
#include "robust/attacks.h"
#include "robust/certificates.h"
#include "robust/lipschitz.h"
#include "robust/robust_eval.h"
#include "train/optim.h"
#include "train/trainer.h"
#include "notebooks_cpp/ch09_models.h"
#include "notebooks_cpp/harness.h"

using namespace stablenn;
using stablenn::notebook::Cell;
using stablenn::notebook::Context;

namespace {

constexpr DType kF64 = DType::Float64;

void save_plot(const LinePlot& plot, const Context& ctx, const std::string& file) {
  const std::string path = ctx.out_path(file);
  plot.save(path);
  std::cout << "  wrote " << path << "\n";
}



// Singular values (descending) of the Jacobian of `net` at x [1, d], float64.
std::vector<double> jacobian_singular_values(Module& net, const Tensor& x) {
  const Tensor j = jacobian([&](const std::vector<Var>& in) { return flatten(net(in[0])); }, {x})[0];
  return singular_values(j);
}

// For the book's tables (ctx.result_table): n as subscript or superscript digits, "200" -> "₂₀₀".
std::string script_digits(long long n, bool superscript) {
  static const char* const sub[10] = {"₀", "₁", "₂", "₃", "₄", "₅", "₆", "₇", "₈", "₉"};
  static const char* const sup[10] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
  std::string digits = std::to_string(n < 0 ? -n : n), out = n < 0 ? (superscript ? "⁻" : "₋") : "";
  for (char c : digits) out += (superscript ? sup : sub)[c - '0'];
  return out;
}

// Two significant digits as the book writes singular values: 0.30, 3.4, 48, 6.9·10⁻³⁰.
std::string two_digits(double v) {
  char buffer[64];
  if (v > 0 && std::isfinite(v) && (v < 1e-3 || v >= 1e4)) {
    std::snprintf(buffer, sizeof buffer, "%.1e", v);
    const std::string s(buffer);
    const size_t e = s.find('e');
    return s.substr(0, e) + "·10" + script_digits(std::stoll(s.substr(e + 1)), true);
  }
  if (v >= 10 || !(v > 0) || !std::isfinite(v)) {
    std::snprintf(buffer, sizeof buffer, "%.0f", v);
  } else {
    const int decimals = std::max(0, 1 - static_cast<int>(std::floor(std::log10(v))));
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  }
  return buffer;
}

// ---- cell 1: depth ----
void depth_cell(Context& ctx) {
  const int64_t d = 16, max_depth = ctx.pick(48, 12);
  Generator g(ctx.seed + 1);
  struct Kind {
    std::string name;
    std::string book_name;  // as the book's table writes it
    std::function<std::shared_ptr<Module>(Generator&)> make;  // one layer
  };
  const std::vector<Kind> kinds = {
      {"tanh MLP x -> tanh(Wx + b)", "tanh MLP x ↦ tanh(Wx + b)",
       [&](Generator& gen) {
         auto s = std::make_shared<Sequential>();
         s->add(std::make_shared<Linear>(d, d, true, gen, kF64));
         s->add(Tanh());
         return s;
       }},
      {"non-expansive gradient step", "non-expansive gradient step (chapter 7)",
       [&](Generator& gen) { return dense_gradient_step(d, d, GradientStepOptions{}, gen, kF64); }},
      {"Hamiltonian (Verlet, 2 x 8)", "Hamiltonian block (Störmer–Verlet, 2 × 8)",
       [&](Generator& gen) {
         HamiltonianOptions o;
         o.step = 0.5;
         return std::make_shared<HamiltonianBlock>(MapGeometry::dense(d / 2, d / 2), o, gen, kF64);
       }},
      {"H-DNN (symplectic Euler)", "H-DNN (symplectic Euler)",
       [&](Generator& gen) {
         HDNNOptions o;
         o.scheme = HDNNScheme::kSymplecticEuler;
         o.step = 0.5;
         return std::make_shared<HDNNBlock>(MapGeometry::dense(d, d), o, gen, kF64);
       }},
  };
  LinePlot smallest, largest;
  smallest.title = "smallest singular value of the Jacobian";
  largest.title = "largest singular value of the Jacobian";
  for (LinePlot* p : {&smallest, &largest}) p->x_label = "depth (layers)", p->log_y = true;
  const Tensor x = g.normal({1, d}, 0, 1, kF64);
  std::cout << "  depth " << max_depth << ", width 16, random weights (PyTorch's default initialisation):\n";
  std::ostringstream table;
  table << "| " << max_depth << " layers of | σ_min | σ_max |\n|---|---|---|\n";
  for (const Kind& kind : kinds) {
    Sequential net;
    std::vector<double> depths, lo, hi;
    for (int64_t depth = 1; depth <= max_depth; ++depth) {
      net.add(kind.make(g));
      if (depth % 4 != 0 && depth != 1) continue;
      const std::vector<double> s = jacobian_singular_values(net, x);
      depths.push_back(double(depth)), hi.push_back(s.front()), lo.push_back(std::max(s.back(), 1e-300));
    }
    smallest.add(kind.name, depths, lo, Marker::Circle);
    largest.add(kind.name, depths, hi, Marker::Circle);
    std::printf("    %-32s sigma_min %.3g   sigma_max %.3g\n", kind.name.c_str(), lo.back(), hi.back());
    table << "| " << kind.book_name << " | " << two_digits(lo.back()) << " | " << two_digits(hi.back()) << " |\n";
  }
  ctx.result_table("depth", table.str());
  Canvas canvas(2 * smallest.width, smallest.height);
  smallest.draw(canvas, 0, 0, smallest.width, smallest.height);
  largest.draw(canvas, smallest.width, 0, largest.width, largest.height);
  const std::string path = ctx.out_path("ch09_depth.png");
  canvas.save_png(path);
  std::cout << "  wrote " << path << "\n"
            << "  The symplectic maps have det J = 1, so their singular values cannot all shrink: what one\n"
               "  direction loses another gains. The tanh MLP loses every direction; the non-expansive\n"
               "  network may shrink some (sigma_max <= 1 is its design) but keeps the others.\n";
}

// ---- cell 2: symplectic or not ----
double symplectic_defect(const Tensor& j) {
  const int64_t n = j.size(0) / 2;
  Tensor omega = Tensor::zeros({2 * n, 2 * n}, kF64);
  for (int64_t i = 0; i < n; ++i) omega.set({i, n + i}, 1.0), omega.set({n + i, i}, -1.0);
  return max_abs_diff(matmul(matmul(j.t(), omega), j), omega);
}

void symplectic_cell(Context& ctx) {
  Generator g(ctx.seed + 2);
  std::cout << "  map (3 steps of h = 0.4, width 2 x 4)     ||J^T Omega J - Omega||   det J        Lipschitz bound\n";
  std::ostringstream table;
  table << "| map | ‖JᵀΩJ − Ω‖ | \\|det J\\| | Lipschitz bound |\n|---|---|---|---|\n";
  auto report = [&](const std::string& name, Module& block, int64_t width) {
    const Tensor x = g.normal({1, width}, 0, 1, kF64);
    const Tensor j = jacobian([&](const std::vector<Var>& in) { return flatten(block(in[0])); }, {x})[0];
    const std::vector<double> s = singular_values(j);
    double det = 1;
    for (double v : s) det *= v;  // |det J|
    auto* bounded = dynamic_cast<LipschitzBounded*>(&block);
    std::printf("  %-40s %-25.3g %-12.10f %.4f\n", name.c_str(), symplectic_defect(j), det,
                bounded ? bounded->lipschitz_bound() : NAN);
    char line[200];
    std::snprintf(line, sizeof line, "| %s | %.2g | %.10f | %.3g |\n", name.c_str(), symplectic_defect(j), det,
                  bounded ? bounded->lipschitz_bound() : NAN);
    table << line;
  };
  for (HamiltonianScheme scheme : {HamiltonianScheme::kHaberRuthottoVerlet, HamiltonianScheme::kStormerVerlet,
                                   HamiltonianScheme::kSymplecticEuler}) {
    HamiltonianOptions o;
    o.scheme = scheme;
    o.step = 0.4;
    o.steps = 3;
    HamiltonianBlock block(MapGeometry::dense(4, 4), o, g, kF64);
    {
      NoGrad no_grad;
      block.weight_y.mul_(2.0);
    }
    report(hamiltonian_scheme_name(scheme), block, 8);
  }
  for (HDNNScheme scheme : {HDNNScheme::kForwardEuler, HDNNScheme::kSymplecticEuler}) {
    HDNNOptions o;
    o.scheme = scheme;
    o.step = 0.4;
    o.steps = 3;
    HDNNBlock block(MapGeometry::dense(8, 8), o, g, kF64);
    report(scheme == HDNNScheme::kForwardEuler ? "H-DNN forward Euler" : "H-DNN symplectic Euler", block, 8);
  }
  ctx.result_table("symplectic", table.str());
  std::cout << "  (|det J| from the singular values.) The separable schemes are symplectic to rounding; the\n"
               "  published Haber-Ruthotto form keeps volume (det J = 1) but not the symplectic form, because\n"
               "  sigma sits outside K; forward Euler keeps neither.\n";
}

// ---- cell 3: the antisymmetric block ----
void antisymmetric_cell(Context& ctx) {
  Generator g(ctx.seed + 3);
  const int64_t d = 16, depth = ctx.pick(200, 50);
  LinePlot plot;
  plot.title = "antisymmetric block, sigma = identity: ||x_k||";
  plot.x_label = "layer";
  plot.log_y = true;
  const Tensor x0 = g.normal({1, d}, 0, 1, kF64);
  std::cout << "  ||x_k|| / ||x_0|| after " << depth << " layers (K = (W - W^T)/2 - gamma I, the same W):\n";
  std::ostringstream head, row;
  head << "| h, γ |";
  row << "| ‖x" << script_digits(depth, false) << "‖/‖x₀‖ |";
  for (auto [h, gamma] : {std::pair<double, double>{0.1, 0.0}, {0.1, 0.05}, {0.5, 0.0}, {0.5, 0.05}}) {
    AntisymmetricOptions o;
    o.step = h;
    o.damping = gamma;
    o.activation = Activation::identity();
    o.bias = false;
    Generator same(ctx.seed + 30);
    AntisymmetricBlock block(MapGeometry::dense(d, d), o, same, kF64);
    Tensor x = x0;
    std::vector<double> ks, norms;
    const double n0 = std::sqrt(sum(square(x0)).item());
    for (int64_t k = 0; k <= depth; ++k) {
      ks.push_back(double(k));
      norms.push_back(std::sqrt(sum(square(x)).item()) / n0);
      NoGrad no_grad;
      x = block(Var(x)).value();
    }
    char label[64];
    std::snprintf(label, sizeof label, "h %.1f, gamma %.2f", h, gamma);
    plot.add(label, ks, norms);
    std::printf("    %-18s %.4g\n", label, norms.back());
    char cell[64];
    std::snprintf(cell, sizeof cell, " %g, %g |", h, gamma);
    head << cell;
    // three digits, at most two decimals: 0.44, 1.19, 29.8, 3032
    const double v = norms.back();
    std::snprintf(cell, sizeof cell, v >= 100 ? " %.0f |" : v >= 10 ? " %.1f |" : " %.2f |", v);
    row << cell;
  }
  ctx.result_table("antisymmetric", head.str() + "\n|---|---|---|---|---|\n" + row.str());
  save_plot(plot, ctx, "ch09_antisymmetric.png");
  std::cout << "  Forward Euler multiplies each eigen-direction by |1 + h i mu| = sqrt(1 + h^2 mu^2) > 1: without\n"
               "  damping the norm creeps up with depth, faster for larger h; gamma > 0 pulls it back.\n";
}

// ---- cell 4: switching ----
void switching_cell(Context& ctx) {
  std::cout << "  prescribed switching, a = 0.5, S = 2:\n  h_c    h_e        c(h_c/2)   e(h_e/2)   c e\n";
  for (double h_c : {0.3, 0.5, 0.75, 1.0}) {
    const double h_e = prescribed_expansive_step(h_c);
    const double c = contractive_factor(h_c / 2, 0.5), e = 1 + h_e / 2;
    std::printf("  %-5.2f  %-9.6f  %-9.6f  %-9.6f  %.15f\n", h_c, h_e, c, e, c * e);
  }
  Generator g(ctx.seed + 4);
  SwitchingOptions o;
  o.contractive_step = 1.0;
  SwitchingPair pair(MapGeometry::convolution(4, 4, 6, 6), o, g, kF64);
  pair.eval();
  EmpiricalLipschitzOptions search;
  search.random_pairs = ctx.pick(256, 32);
  search.ascent_steps = ctx.pick(100, 10);
  search.seed = ctx.seed;
  const Tensor inputs = g.normal({16, 4, 6, 6}, 0, 1, kF64);
  const double measured = empirical_lipschitz(pair, inputs, search).best();
  ctx.result("pair.bound", pair.lipschitz_bound(), "%.4g");
  ctx.result("pair.measured", measured, "%.8g");
  std::cout << std::setprecision(8) << "  a convolutional pair (4 channels, 6x6) with delta-orthogonal kernels: bound "
            << pair.lipschitz_bound() << ", measured " << measured << "\n";
  {
    NoGrad no_grad;
    pair.weight_c.add_(g.normal(pair.weight_c.shape(), 0, 0.2, kF64));
  }
  const double changed = empirical_lipschitz(pair, inputs, search).best();
  ctx.result("pair.changed.penalty", pair.orthogonality_penalty().item(), "%.0f");
  ctx.result("pair.changed.bound", pair.lipschitz_bound(), "%.3g");
  ctx.result("pair.changed.measured", changed, "%.3g");
  std::cout << "  after a random change of A_c (orthogonality penalty " << pair.orthogonality_penalty().item()
            << "): bound " << pair.lipschitz_bound() << ", measured " << changed
            << "\n  The exact 1 needs an exact isometry; training only approximates one through the penalty, and\n"
               "  the bound says so.\n";
}

// ---- cells 5 and 6: the CIFAR-10 architecture ----
struct Trained {
  ch09::Dynamics dynamics;
  std::shared_ptr<Sequential> net;
  double seconds = 0, clean = 0, bound = 0;
  std::vector<double> certified, weak, strong;
};

struct Chapter {
  bool have_data = false, synthetic = false;
  Dataset train, test;
  std::vector<int64_t> widths;
  std::vector<Trained> models;
  std::vector<double> eps;
};
Chapter state;

bool full_run(const Context& ctx) { return ctx.has_flag("full"); }

const std::vector<std::string> kModelNames = {"resnet", "nonexpansive", "prescribed", "flexible"};
const char* const kAllModels = "resnet,nonexpansive,prescribed,flexible";

void ensure_data(Context& ctx) {
  if (state.have_data) return;
  const int64_t train_count = ctx.int_flag("train-size", full_run(ctx) ? 50000 : ctx.pick(4000, 256));
  const int64_t test_count = ctx.int_flag("test-size", full_run(ctx) ? 10000 : ctx.pick(1000, 128));
  const TrainTestData data = notebook::real_or_synthetic(
      "CIFAR-10",
      [&] {
        TrainTestData real;
        real.train = load_cifar10(Split::Train, ctx.data_dir,
                                  train_count >= 50000 ? Subset::all() : Subset::random(train_count, ctx.seed, true));
        real.test = load_cifar10(Split::Test, ctx.data_dir,
                                 test_count >= 10000 ? Subset::all() : Subset::random(test_count, ctx.seed, true));
        return real;
      },
      [&] {
        // Shapes at 32x32 in three equal channels.
        TrainTestData synthetic;
        ShapesOptions so;
        so.image_size = 32;
        Generator g(ctx.seed + 7);
        for (Dataset* d : {&synthetic.train, &synthetic.test}) {
          *d = make_shapes(d == &synthetic.train ? train_count : test_count, g, so);
          d->inputs = d->inputs.expand({d->size(), 3, 32, 32}).contiguous();
        }
        return synthetic;
      });
  state.train = data.train;
  state.test = data.test;
  state.synthetic = data.synthetic;
  if (!state.synthetic)
    std::cout << "  CIFAR-10: " << state.train.size() << " training and " << state.test.size() << " test images\n";
  state.have_data = true;
}

void train_cell(Context& ctx) {
  ensure_data(ctx);
  state.widths = full_run(ctx) ? std::vector<int64_t>{32, 64, 128}
                               : ctx.smoke ? std::vector<int64_t>{4, 8, 8} : std::vector<int64_t>{8, 16, 32};
  if (ctx.has_flag("widths")) state.widths = args::parse_int_list("--widths", ctx.flag("widths"), 3, 1, 4096);
  std::vector<ch09::Dynamics> chosen;
  const std::string models = ctx.flag("models", full_run(ctx) ? kAllModels : "resnet,prescribed");
  for (const std::string& name : args::parse_choice_list("--models", models, kModelNames))
    chosen.push_back(ch09::parse_dynamics(name));
  const int64_t epochs = ctx.int_flag("epochs", full_run(ctx) ? 100 : ctx.pick(6, 1));
  const double lr = ctx.double_flag("lr", 0.01), margin = ctx.double_flag("margin", 0.07);
  const double ortho = ctx.double_flag("ortho", 1e-4);
  LoaderOptions lo;
  lo.batch_size = 128;
  lo.seed = ctx.seed;
  lo.augmentation.crop_padding = 4;
  lo.augmentation.horizontal_flip = true;
  const DataLoader train(state.train, lo);
  LoaderOptions to;
  to.batch_size = 250;
  to.shuffle = false;
  const DataLoader test(state.test, to);
  std::cout << "  widths " << state.widths[0] << "/" << state.widths[1] << "/" << state.widths[2] << ", " << epochs
            << " epochs, SGD momentum 0.9, lr " << lr << " (x0.1 every 30 epochs), multi-class hinge, margin "
            << margin << ", orthogonality penalty " << ortho << ", crop (pad 4) and flip\n";
  state.models.clear();
  for (ch09::Dynamics dynamics : chosen) {
    Generator g(ctx.seed);
    Trained t;
    t.dynamics = dynamics;
    t.net = ch09::make_cifar_model(dynamics, state.widths, g);
    if (state.models.empty()) std::cout << t.net->summary({1, 3, 32, 32});
    SGD sgd(t.net->parameters(), lr, 0.9);
    sgd.set_schedule(step_decay_schedule(lr, 30 * train.num_batches(), 0.1));
    Module& model = *t.net;
    LossFunction loss = [&model, margin, ortho](const Var& z, const Tensor& y) {
      Var l = multiclass_hinge(z, y, margin);
      const Var penalty = total_orthogonality_penalty(model);
      return penalty.defined() && ortho > 0 ? add(l, mul(penalty, ortho)) : l;
    };
    Trainer trainer(model, sgd, loss);
    trainer.options.epochs = epochs;
    trainer.options.label = ch09::dynamics_name(dynamics);
    // A checkpoint per model, named after everything that changes its weights: a later run (or
    // --cell N) reuses it, and a run stopped by Ctrl-C resumes after its last epoch.
    std::ostringstream config;
    config << ch09::dynamics_name(dynamics) << " widths " << state.widths[0] << "," << state.widths[1] << ","
           << state.widths[2] << " " << state.train.name << " " << state.train.size()
           << (state.synthetic ? " synthetic" : "") << " epochs " << epochs << " lr " << lr << " margin " << margin
           << " ortho " << ortho << " seed " << ctx.seed;
    trainer.options.checkpoint_path = notebook::checkpoint_for(ctx, "ch09_model", config.str());
    trainer.options.csv_path = trainer.options.checkpoint_path + ".csv";
    const auto start = std::chrono::steady_clock::now();
    const TrainResult result = notebook::fit_or_resume(ctx, trainer, train, &test);
    t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    t.seconds = std::max(t.seconds, logged_training_seconds(result));  // a reloaded run's time, from its CSV log
    SNN_CHECK(!result.diverged, ch09::dynamics_name(dynamics), ": training diverged: ", result.message);
    state.models.push_back(t);
  }
}

// "unconstrained ResNet" -> "unconstrained_resnet": a model's part of its result keys.
std::string model_key(ch09::Dynamics dynamics) {
  std::string key;
  for (char c : std::string(ch09::dynamics_name(dynamics)))
    key += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : '_';
  return key;
}

// The numbers the book quotes (notebooks_cpp/results.h): per model the training time, clean accuracy
// and bound, and the robust accuracies by attack and eps (keys "strong.<model>.0.5", eps 8/255 as 8_255).
void record_results(Context& ctx, int64_t attacked) {
  const char* eps_keys[] = {"0", "8_255", "36_255", "0.3", "0.5", "0.8", "1"};
  const char* eps_heads[] = {"ε = 0", "8/255", "36/255", "0.3", "0.5", "0.8", "1.0"};
  std::ostringstream models, robust;
  models << "| model | train (s) | clean (" << stablenn::notebook::thousands(state.test.size())
         << ") | Lipschitz bound |\n|---|---|---|---|\n";
  robust << "| model | attack |";
  for (size_t i = 0; i < state.eps.size(); ++i) robust << " " << eps_heads[i] << " |";
  robust << "\n|---|---|";
  for (size_t i = 0; i < state.eps.size(); ++i) robust << "---|";
  robust << "\n";
  for (const Trained& t : state.models) {
    const std::string key = model_key(t.dynamics);
    char line[200];
    std::snprintf(line, sizeof line, "| %s | %.0f | %.1f %% | %.3g |\n", ch09::dynamics_name(t.dynamics), t.seconds,
                  100 * t.clean, t.bound);
    models << line;
    ctx.result("train_seconds." + key, t.seconds, "%.0f");
    ctx.result("clean." + key, 100 * t.clean, "%.1f");
    ctx.result("bound." + key, t.bound, "%.3g");
    const char* rows[] = {"weak", "strong", "certified"};
    for (int row = 0; row < 3; ++row) {
      const std::vector<double>& v = row == 0 ? t.weak : row == 1 ? t.strong : t.certified;
      robust << "| " << (row == 0 ? ch09::dynamics_name(t.dynamics) : "") << " | " << rows[row] << " |";
      for (size_t i = 0; i < v.size(); ++i) {
        std::snprintf(line, sizeof line, "%.1f", 100 * v[i]);
        robust << " " << line << " |";
        ctx.result_text(std::string(rows[row]) + "." + key + "." + eps_keys[i], line);
      }
      robust << "\n";
    }
  }
  ctx.result_table("models", models.str());
  ctx.result_table("robust", robust.str());
  ctx.result_text("attacked", stablenn::notebook::thousands(attacked));
  ctx.result_text("train_size", stablenn::notebook::thousands(state.train.size()));
  ctx.result("epochs", static_cast<double>(ctx.int_flag("epochs", full_run(ctx) ? 100 : ctx.pick(6, 1))), "%.0f");
}

void robustness_cell(Context& ctx) {
  if (state.models.empty()) train_cell(ctx);
  const int64_t attacked = std::min<int64_t>(state.test.size(), ctx.int_flag("attack-size", full_run(ctx) ? 1024 : ctx.pick(200, 32)));
  const Tensor images = state.test.inputs.narrow(0, 0, attacked), labels = state.test.labels.narrow(0, 0, attacked);
  state.eps = {0, 8.0 / 255, 36.0 / 255, 0.3, 0.5, 0.8, 1.0};
  const int pgd_steps = static_cast<int>(ctx.int_flag("pgd-steps", ctx.pick(50, 5)));
  std::cout << "  " << attacked << " test images; weak attack: l2-PGD, 10 steps of 0.025 eps (as in the paper's result files); "
            << "strong: FMN, then APGD-margin and APGD-CE (" << pgd_steps << " iterations each) down the eps grid (a robust image is attacked once, at its largest eps), verified\n";
  LinePlot plot;
  plot.title = "robust accuracy under ℓ2-PGD (strong)";
  plot.x_label = "ε (ℓ2)";
  plot.y_label = "% correct";
  for (Trained& t : state.models) {
    t.net->eval();
    const Tensor logits = predict_logits(*t.net, state.test.inputs);
    t.clean = accuracy(logits, state.test.labels);
    t.bound = lipschitz_bound(*t.net);
    // certified on the attacked images, so that certified <= strong is a statement about the same set
    t.certified = certified_accuracy_curve(predict_logits(*t.net, images), labels, t.bound, state.eps);
    PgdOptions weak;
    weak.iterations = 10;
    weak.step_size = -1;  // set per eps below
    std::vector<double> w, s;
    for (double e : state.eps) {
      PgdOptions a = weak;
      a.eps = e;
      a.step_size = 0.025 * e;
      w.push_back(e == 0 ? accuracy(predict_logits(*t.net, images), labels)
                         : robust_accuracy_curve(*t.net, images, labels, {e}, a)[0]);
    }
    // the strong, verified evaluation of chapter 8: every example is checked on a float64 copy
    RobustnessOptions strong;
    strong.eps = state.eps;
    strong.iterations = pgd_steps;
    strong.min_norm_steps = pgd_steps;
    const std::vector<int64_t> widths = state.widths;
    const ch09::Dynamics dynamics = t.dynamics;
    const std::shared_ptr<Module> verifier = float64_copy(*t.net, [&](DType dtype) -> std::shared_ptr<Module> {
      Generator unused(0);  // the weights are overwritten by the copy
      return ch09::make_cifar_model(dynamics, widths, unused, dtype);
    });
    s = evaluate_robustness(*t.net, *verifier, images, labels, strong).accuracy;
    for (size_t i = 0; i < s.size(); ++i)
      SNN_CHECK(t.certified[i] <= s[i], ch09::dynamics_name(t.dynamics), ": certified accuracy ", t.certified[i],
                " exceeds the strong attack's ", s[i], " at eps ", state.eps[i], ": the bound or the attack is wrong");
    t.weak = w;
    t.strong = s;
    std::vector<double> pct;
    for (double v : s) pct.push_back(100 * v);
    plot.add(ch09::dynamics_name(t.dynamics), state.eps, pct, Marker::Circle);
    std::printf("  %-22s clean %.2f %%  Lipschitz bound %.4g\n", ch09::dynamics_name(t.dynamics), 100 * t.clean, t.bound);
  }
  save_plot(plot, ctx, "ch09_robustness.png");
  std::printf("\n  %-22s %-8s", "model", "");
  for (double e : state.eps) std::printf("%8.3f", e);
  std::printf("\n");
  for (const Trained& t : state.models) {
    for (int row = 0; row < 3; ++row) {
      const std::vector<double>& v = row == 0 ? t.weak : row == 1 ? t.strong : t.certified;
      std::printf("  %-22s %-8s", row == 0 ? ch09::dynamics_name(t.dynamics) : "", row == 0 ? "weak" : row == 1 ? "strong" : "cert.");
      for (double x : v) std::printf("%8.1f", 100 * x);
      std::printf("\n");
    }
  }
  std::cout << "  (cert.: certified by the Lipschitz bound; a bound far above 1 certifies nothing)\n";
  record_results(ctx, attacked);
}

void results_cell(Context& ctx) {
  if (state.models.empty() || state.models.front().strong.empty()) robustness_cell(ctx);
  std::cout << "  data: " << (state.synthetic ? "synthetic shapes (CIFAR-10 absent)" : "CIFAR-10") << ", "
            << state.train.size() << " training images, widths " << state.widths[0] << "/" << state.widths[1] << "/"
            << state.widths[2] << "\n";
  std::printf("  %-22s %10s %10s %14s %14s\n", "model", "train (s)", "clean %", "PGD eps 0.5 %", "Lipschitz bound");
  for (const Trained& t : state.models)
    std::printf("  %-22s %10.1f %10.2f %14.2f %14.4g\n", ch09::dynamics_name(t.dynamics), t.seconds, 100 * t.clean,
                100 * t.strong[4], t.bound);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<Cell> cells = {
      {"Signals and gradients through depth",
       "The singular values of a deep network's Jacobian: what survives 48 layers of each kind.",
       depth_cell},
      {"Symplectic, volume-preserving, or neither",
       "J^T Omega J = Omega for the Jacobian J of a block: the test of a symplectic map.",
       symplectic_cell},
      {"The antisymmetric block",
       "x + h sigma(Kx + b) with K = (W - W^T)/2 - gamma I: imaginary eigenvalues, and what Euler does to them.",
       antisymmetric_cell},
      {"Contractive/expansive switching",
       "A contractive step followed by an expansive one, with step sizes that balance exactly.",
       switching_cell},
      {"The CIFAR-10 architecture of Celledoni et al.",
       "3 stages (lift conv, 4 dynamic layers, max-pool) and a linear head, trained on a CPU-sized subset\n"
       "(--full: 32/64/128 channels, all 50,000 images, 100 epochs; practical with the CUDA backend).",
       train_cell},
      {"Robustness", "Clean, certified and l2-PGD robust accuracy of each model.", robustness_cell},
      {"Results", "The numbers of this run in one table.", results_cell},
  };
  return stablenn::notebook::run_chapter(
      argc, argv,
      {9, "Structure-preserving architectures", "book/09-structure-preserving.md",
       {{"full", false, "the paper's sizes: widths 32/64/128, 50,000 images, 100 epochs, all four models"},
        {"models", true, "comma list of resnet, nonexpansive, prescribed, flexible (default resnet,prescribed)",
         args::some_of(kModelNames)},
        {"widths", true, "stage widths, e.g. 32,64,128 (default 8,16,32; 4,8,8 with --smoke)",
         args::whole_numbers(3, 1, 4096)},
        {"epochs", true, "training epochs (default 6; 1 with --smoke; 100 with --full)", args::whole_number(1, 100000)},
        {"train-size", true, "training images (default 4000)", args::whole_number(1, 50000)},
        {"test-size", true, "test images (default 1000)", args::whole_number(1, 10000)},
        {"attack-size", true, "test images attacked (default 200)", args::whole_number(1, 10000)},
        {"pgd-steps", true, "iterations of the strong attack (default 50)", args::whole_number(1, 100000)},
        {"lr", true, "SGD learning rate (default 0.01)", args::number(0, 1e6)},
        {"margin", true, "hinge margin (default 0.07)", args::number(0, 1e6)},
        {"ortho", true, "weight of the orthogonality penalty (default 1e-4)", args::number(0, 1e6)},
        {"retrain", false, "train again even when an earlier run's checkpoint exists"}}},
      cells);
}
