// notebooks_cpp/ch11_adaptivity.cpp — chapter 11, "Layerwise goal-oriented adaptivity": a neural ODE
// as an optimal-control problem (piecewise-constant controls, explicit Euler, discrete adjoint), a
// dual-weighted-residual estimate of each layer's share of the error in the goal, and layers inserted
// where it says (Hintermüller, Hinze, Korolev 2026; the details here are a derivation). Compared with
// uniform refinement and fixed depth on three 2-D sets and on MNIST 3 vs 5 lifted to d dimensions.
// Read along in book/11-adaptivity.md. Run: build/notebooks_cpp/ch11_adaptivity [--step] [--smoke]
// [--cell N] [--retrain]; the trained networks are kept in --out and reused (continued when stopped).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "datasets/fallback.h"
#include "datasets/mnist.h"
#include "datasets/toy2d.h"
#include "plot/plot.h"
#include "plot/scatter_plot.h"
#include "train/adaptive_refinement.h"
#include "train/control_checkpoint.h"
#include "train/control_images.h"
#include "notebooks_cpp/harness.h"

using namespace stablenn;
using stablenn::notebook::Cell;
using stablenn::notebook::Context;

namespace {

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

void save_plot(const LinePlot& plot, const Context& ctx, const std::string& file) {
  const std::string path = ctx.out_path(file);
  plot.save(path);
  std::cout << "  wrote " << path << "\n";
}

// The experiment's settings, from the flags.
struct Settings {
  int64_t dim = 8, train_size = 500, test_size = 1000, iterations = 300, max_layers = 16, start_layers = 2;
  bool adam = false;
  double lr = 0.01;
  double final_time = 4.0, fraction = 0.5, tolerance = 1e-2;
  std::vector<std::string> sets;
};

// One network's outcome.
struct Outcome {
  int64_t layers = 0;
  double test_accuracy = 0, train_accuracy = 0, goal = 0;
  int64_t layer_passes = 0;
};

struct SetResult {
  std::string name;
  std::vector<AdaptiveCycle> adaptive, uniform;
  std::vector<Outcome> adaptive_outcomes, uniform_outcomes, fixed;
};

struct Chapter {
  Settings settings;
  GoalOptions goal;
  std::vector<SetResult> results;
} state;

Settings read_settings(const Context& ctx) {
  Settings s;
  s.train_size = ctx.int_flag("train-size", ctx.pick(500, 120));
  s.test_size = ctx.int_flag("test-size", ctx.pick(1000, 200));
  s.iterations = ctx.int_flag("iterations", ctx.pick(300, 15));
  s.max_layers = ctx.int_flag("max-layers", ctx.pick(16, 4));
  s.dim = ctx.int_flag("dim", 8);
  s.start_layers = ctx.int_flag("start-layers", 2);
  s.adam = ctx.flag("optimizer", "adam") == "adam";
  s.lr = ctx.double_flag("lr", 0.02);
  s.final_time = ctx.double_flag("final-time", 2.0);
  s.fraction = ctx.double_flag("fraction", 0.5);
  s.tolerance = ctx.double_flag("tolerance", 1e-2);
  std::stringstream list(ctx.flag("sets", "spirals,moons,circles,digits"));
  for (std::string name; std::getline(list, name, ',');) s.sets.push_back(name);
  return s;
}

// The sets of the experiment: three 2-D sets and a small image set.
const std::vector<std::string> kSetNames = {"spirals", "moons", "circles", "digits"};
// The image set: MNIST digits 3 and 5 (a pair often confused), lifted to the state dimension.
constexpr int64_t kDigitA = 3, kDigitB = 5;

Dataset make_set(const std::string& name, int64_t n, Generator& g) {
  if (name == "spirals") return make_spirals(n, 0.02, g);
  if (name == "moons") return make_moons(n, 0.15, g);
  return make_circles(n, 0.08, g, 0.5);
}

// One set as samples of the goal.
struct SetData {
  ControlSamples train, test;
  std::optional<Dataset> test_points;  // the 2-D test set, for the decision regions (none for images)
  std::string config;                  // what the checkpoints' names must also depend on
};

// The digits: a stratified random subset of `train_size` training images of the two digits
// (train_size/2 each, one fewer for the second when odd) and the first `test_size` test images of
// them (likewise), from the MNIST files; without the files, two classes of the synthetic shapes
// set, said loudly. The lift: the principal components of the training subset, d of them (the
// whole state, no zero padding), scaled so that the first has unit variance (train/control_images.h).
SetData digits_set(Context& ctx) {
  const Settings& st = state.settings;
  const int64_t train_half = (st.train_size + 1) / 2, test_half = (st.test_size + 1) / 2;
  // Stratified subsets of all ten classes hold train_half (test_half) of each; two are kept.
  const TrainTestData both = notebook::real_or_synthetic(
      "MNIST",
      [&] {
        TrainTestData d;
        d.train = load_mnist(Split::Train, ctx.data_dir, Subset::random(10 * train_half, ctx.seed + 11, true));
        d.test = load_mnist(Split::Test, ctx.data_dir, Subset::first(10 * test_half, true));
        return d;
      },
      [&] { return shapes_stand_in(10 * train_half, 10 * test_half, ctx.seed + 11); });
  const auto first_n = [](const Dataset& d, int64_t n) {
    std::vector<int64_t> keep(static_cast<size_t>(std::min(n, d.size())));
    std::iota(keep.begin(), keep.end(), int64_t{0});
    return select_examples(d, keep);
  };
  const Dataset train_images = first_n(two_classes(both.train, kDigitA, kDigitB), st.train_size);
  const Dataset test_images = first_n(two_classes(both.test, kDigitA, kDigitB), st.test_size);
  const PcaLift lift = fit_pca_lift(train_images, st.dim);
  SetData s;
  s.train = lift_samples(lift, train_images);
  s.test = lift_samples(lift, test_images);
  s.config = std::string(" images ") + (both.synthetic ? "synthetic-shapes" : "mnist") + " classes " +
             std::to_string(kDigitA) + "," + std::to_string(kDigitB) + " lift pca " + std::to_string(st.dim);
  double explained = 0;
  for (double v : lift.variances) explained += v / lift.total_variance;
  ctx.result_text("digits.source", both.synthetic ? "the synthetic shapes set (MNIST not found)" : "MNIST");
  ctx.result("digits.components", static_cast<double>(lift.components), "%.0f");
  ctx.result("digits.explained", 100 * explained, "%.0f");
  std::printf("  digits: %s classes %s and %s, %lld training and %lld test images of %lld pixels; the %lld leading\n"
              "  principal components of the training images keep %.0f %% of their variance\n",
              both.synthetic ? "SYNTHETIC stand-in (shapes)," : "MNIST,", train_images.class_names[0].c_str(),
              train_images.class_names[1].c_str(), static_cast<long long>(train_images.size()),
              static_cast<long long>(test_images.size()), static_cast<long long>(lift.features),
              static_cast<long long>(lift.components), 100 * explained);
  return s;
}

SetData load_set(Context& ctx, const std::string& name) {
  if (name == "digits") return digits_set(ctx);
  const Settings& st = state.settings;
  Generator data_gen(ctx.seed + 100 + std::hash<std::string>()(name) % 1000);
  SetData s;
  const Dataset train_set = make_set(name, st.train_size, data_gen);
  s.test_points = make_set(name, st.test_size, data_gen);
  s.train = samples_from_dataset(train_set);
  s.test = samples_from_dataset(*s.test_points);
  return s;
}

// ---- cell 1: the adjoint against finite differences ----
void adjoint_cell(Context& ctx) {
  Generator g(ctx.seed + 1), data_gen(ctx.seed + 2);
  const ControlSamples s = samples_from_dataset(make_moons(64, 0.1, data_gen));
  ControlledOde model = make_controlled_ode(4, 2, 3, 3.0, FieldActivation::kTanh, g, 1.5);
  model.tau = {0.5, 1.0, 1.5};
  GoalOptions o;
  o.l2 = 1e-2, o.h1 = 1e-2, o.head_l2 = 1e-2;
  const GoalGradient grad = goal_gradient(model, s, o);
  // Central differences on every control and head entry, h = 1e-6 (double).
  double worst = 0;
  const double h = 1e-6;
  for (int which = 0; which < 2; ++which) {
    std::vector<double>& params = which == 0 ? model.controls : model.head;
    const std::vector<double>& analytic = which == 0 ? grad.controls : grad.head;
    for (size_t j = 0; j < params.size(); ++j) {
      const double saved = params[j];
      params[j] = saved + h;
      const double up = evaluate_goal(model, s, o).total();
      params[j] = saved - h;
      const double down = evaluate_goal(model, s, o).total();
      params[j] = saved;
      const double fd = (up - down) / (2 * h);
      worst = std::max(worst, std::abs(fd - analytic[j]) / std::max(1e-3, std::abs(fd)));
    }
  }
  ctx.result("adjoint.fd_error", worst, "%.1e");
  std::printf("  %lld parameters (3 layers of 4 x 4 + 4, head 2 x 4 + 2), 64 moons points:\n"
              "  largest relative difference between the discrete adjoint and central differences: %.1e\n"
              "  (the test suite compares with the autodiff tape to 1e-10.)\n",
              static_cast<long long>(model.parameter_count()), worst);
}

// ---- cell 2: the estimator on a linear ODE with a known solution ----
void linear_cell(Context& ctx) {
  // ẋ = A x, A = [[a, b], [−b, a]]: x(T) = e^{aT} R(bT) x0. Goal ½|x(T) − target|², head = I.
  const double a = -0.6, b = 2.0, T = 1.0;
  ControlSamples s;
  s.count = 3, s.input_dim = 2;
  s.inputs = {1.0, 0.0, 0.3, -0.8, -0.5, 0.6};
  s.targets = {0.2, 0.1, -0.4, 0.3, 0.0, -0.2};
  GoalOptions o;
  o.loss = GoalLoss::kSquaredError, o.l2 = 0, o.h1 = 0, o.head_l2 = 0, o.train_head = false;
  double exact = 0;
  for (int64_t i = 0; i < 3; ++i) {
    const double x = s.inputs[2 * i], y = s.inputs[2 * i + 1], gr = std::exp(a * T), c = std::cos(b * T), sn = std::sin(b * T);
    const double ex = gr * (c * x + sn * y) - s.targets[2 * i], ey = gr * (-sn * x + c * y) - s.targets[2 * i + 1];
    exact += 0.5 * (ex * ex + ey * ey) / 3;
  }
  std::string table = "| K | estimate | actual change (K → 2K) | effectivity | 2 · estimate / (loss(exact) − loss(K)) |\n|---|---|---|---|---|\n";
  std::printf("  K     estimate      actual change  effectivity  2*estimate / true error\n");
  for (int64_t layers : {2, 4, 8, 16, 32, 64}) {
    ControlledOde m;
    m.dim = 2, m.outputs = 2, m.activation = FieldActivation::kIdentity;
    m.tau.assign(layers, T / static_cast<double>(layers));
    for (int64_t k = 0; k < layers; ++k) m.controls.insert(m.controls.end(), {a, b, -b, a, 0.0, 0.0});
    m.head = {1, 0, 0, 1, 0, 0};
    const Effectivity e = effectivity(m, s, o);
    const double true_ratio = 2 * e.estimate / (exact - evaluate_goal(m, s, o).loss);
    std::printf("  %-4lld  %+.4e   %+.4e    %.3f        %.3f\n", static_cast<long long>(layers), e.estimate, e.actual,
                e.index(), true_ratio);
    table += "| " + std::to_string(layers) + " | " + fmt("%.3e", e.estimate) + " | " + fmt("%.3e", e.actual) + " | " +
             fmt("%.3f", e.index()) + " | " + fmt("%.3f", true_ratio) + " |\n";
    if (layers == 8) ctx.result("linear.effectivity_8", e.index(), "%.2f");
    if (layers == 64) ctx.result("linear.effectivity_64", e.index(), "%.3f");
  }
  table.pop_back();
  ctx.result_table("linear", table);
  std::cout << "  The effectivity tends to 1 as the mesh is refined: the indicator is the first term of the\n"
               "  change's expansion, and the neglected terms are one order smaller.\n";
}

// ---- cell 4: adaptive, uniform and fixed-depth networks on the 2-D sets and the digits ----
Outcome outcome_of(const ControlledOde& model, const ControlSamples& train, const ControlSamples& test,
                   int64_t passes) {
  Outcome o;
  o.layers = model.layers();
  o.test_accuracy = 100 * accuracy(model, test);
  o.train_accuracy = 100 * accuracy(model, train);
  o.goal = evaluate_goal(model, train, state.goal).total();
  o.layer_passes = passes;
  return o;
}

ScatterPlot regions_plot(const ControlledOde& model, const Dataset& test, const std::string& title, int resolution) {
  ScatterPlot p;
  p.title = title;
  p.points = test.inputs;
  p.labels = test.labels;
  p.marker_size = 4;
  p.region_resolution = resolution;
  p.classify = [model](const Tensor& grid) {
    ControlSamples s;
    s.count = grid.size(0), s.input_dim = 2;
    const Tensor g = grid.to(DType::Float64).contiguous();
    s.inputs.assign(g.data<double>(), g.data<double>() + 2 * s.count);
    return Tensor::from_int64(predict_classes(model, s), {s.count});
  };
  return p;
}

// The range of the effectivity over the cycles whose actual change is at least 1 % of the loss: a ratio
// of two numbers near zero says nothing (the per-cycle tables show every cycle).
void effectivity_range(const SetResult& r, double& lo, double& hi) {
  lo = 1e300, hi = -1e300;
  for (const AdaptiveCycle& cy : r.adaptive)
    if (std::abs(cy.effectivity.actual) >= 0.01 * cy.goal.loss)
      lo = std::min(lo, cy.effectivity.index()), hi = std::max(hi, cy.effectivity.index());
  if (lo > hi) lo = hi = 0;
}

// Everything that changes a set's trained networks, for the names of their checkpoints.
std::string set_config(const Context& ctx, const std::string& name) {
  const Settings& st = state.settings;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "set %s seed %llu smoke %d dim %lld train %lld test %lld iterations %lld max_layers %lld "
                "start_layers %lld optimizer %s lr %.17g T %.17g fraction %.17g tolerance %.17g lambda %.17g",
                name.c_str(), static_cast<unsigned long long>(ctx.seed), ctx.smoke ? 1 : 0,
                static_cast<long long>(st.dim), static_cast<long long>(st.train_size), static_cast<long long>(st.test_size),
                static_cast<long long>(st.iterations), static_cast<long long>(st.max_layers),
                static_cast<long long>(st.start_layers), st.adam ? "adam" : "armijo", st.lr, st.final_time, st.fraction,
                st.tolerance, state.goal.l2);
  return buf;
}

// The networks an earlier run saved in `path` (and the one it was training when it stopped, when
// `unfinished` is given), or none: when there is no file, under --retrain, or when the file does not
// fit these settings (then training starts afresh; each case is said).
std::vector<ControlSnapshot> saved_run(const Context& ctx, const std::string& path,
                                       std::optional<ControlTraining>* unfinished = nullptr) {
  const std::string where = std::filesystem::absolute(path).string();
  if (!std::filesystem::exists(path)) {
    notebook::notice("  (no checkpoint at " + where + " yet: training)");
    return {};
  }
  if (ctx.has_flag("retrain")) {
    notebook::notice("  (--retrain: training again, replacing " + where + ")");
    return {};
  }
  try {
    std::vector<ControlSnapshot> saved = load_control_run(path, nullptr, unfinished);
    const auto check = [&](const ControlledOde& m) {
      SNN_CHECK(m.dim == state.settings.dim && m.outputs == 2 && m.layers() <= state.settings.max_layers, path,
                ": a network of ", m.layers(), " layers in dimension ", m.dim, " does not belong to these settings");
    };
    for (const ControlSnapshot& s : saved) {
      check(s.model);
      SNN_CHECK(s.model.layers() == s.cycle.layers, path, ": a record of ", s.cycle.layers, " layers holds a network of ",
                s.model.layers());
    }
    if (unfinished && *unfinished) check((*unfinished)->model);
    return saved;
  } catch (const Error& e) {
    notebook::notice("  (" + where + " does not fit: " + e.what() + "; training afresh)");
    if (unfinished) unfinished->reset();
    return {};
  }
}

// A refinement run (adaptive, or uniform with `options.uniform`): each cycle's trained network and
// record. Saved in `path` after every cycle; an earlier run's file is reused when it holds the whole
// run, and continued after its last cycle when that run was stopped (the result is the same, bit for
// bit, as an uninterrupted run's: train/adaptive_refinement.h).
std::vector<ControlSnapshot> refinement_run(const Context& ctx, const std::string& path, const ControlSamples& train,
                                            const AdaptiveOptions& options) {
  const Settings& st = state.settings;
  const std::string where = std::filesystem::absolute(path).string();
  std::vector<ControlSnapshot> done = saved_run(ctx, path);
  if (!done.empty() && done.back().cycle.marked.empty()) {
    notebook::notice("  (reusing " + where + ": the " + std::to_string(done.size()) +
                     " cycles an earlier run saved; --retrain trains again)");
    return done;
  }
  std::vector<AdaptiveCycle> earlier;
  ControlledOde model;
  if (done.empty()) {
    Generator g(ctx.seed + 7);
    model = make_controlled_ode(st.dim, 2, st.start_layers, st.final_time, FieldActivation::kTanh, g);
  } else {
    notebook::notice("  (resuming the run stopped after cycle " + std::to_string(done.size() - 1) + ", saved in " +
                     where + ")");
    model = done.back().model;
    for (const ControlSnapshot& s : done) earlier.push_back(s.cycle);
  }
  adaptive_refinement(
      model, train, state.goal, options,
      [&](const AdaptiveCycle& c, const ControlledOde& m) {
        done.push_back({m, c});
        save_control_run(path, done);
      },
      earlier);
  return done;
}

// The fixed-depth networks 1, 2, 4, ... max_layers, each trained from scratch for `training.iterations`
// in pieces of `piece` iterations: saved in `path` after each piece, so a stopped run goes on where it
// was, bit for bit (pieces of train_controls continue exactly: train/control_descent.h).
std::vector<ControlSnapshot> fixed_depth_runs(const Context& ctx, const std::string& path, const ControlSamples& train,
                                              const DescentOptions& training, int64_t piece) {
  const Settings& st = state.settings;
  std::optional<ControlTraining> unfinished;
  std::vector<ControlSnapshot> done = saved_run(ctx, path, &unfinished);
  int64_t depths = 0;
  for (int64_t layers = 1; layers <= st.max_layers; layers *= 2) ++depths;
  const std::string where = std::filesystem::absolute(path).string();
  const int64_t next_layers = int64_t{1} << done.size();
  if (static_cast<int64_t>(done.size()) > depths ||
      (unfinished && (unfinished->model.layers() != next_layers || unfinished->iterations_done >= training.iterations))) {
    notebook::notice("  (" + where + " holds other networks than these settings train; training afresh)");
    done.clear(), unfinished.reset();
  } else if (static_cast<int64_t>(done.size()) == depths) {
    notebook::notice("  (reusing " + where + ": the " + std::to_string(depths) +
                     " fixed-depth networks an earlier run saved; --retrain trains again)");
  } else if (!done.empty() || unfinished) {
    notebook::notice("  (resuming after " + std::to_string(done.size()) + " fixed-depth networks" +
                     (unfinished ? " and " + std::to_string(unfinished->iterations_done) + " iterations of the next" : "") +
                     ", saved in " + where + ")");
  }
  for (int64_t layers = int64_t{1} << done.size(); layers <= st.max_layers; layers *= 2) {
    ControlTraining t;
    if (unfinished) {
      t = std::move(*unfinished);
      unfinished.reset();
    } else {
      Generator g(ctx.seed + 7);
      t.model = make_controlled_ode(st.dim, 2, layers, st.final_time, FieldActivation::kTanh, g);
    }
    GoalValue final_goal;
    while (t.iterations_done < training.iterations) {
      DescentOptions part = training;
      part.iterations = std::min(piece, training.iterations - t.iterations_done);
      const DescentResult dr = train_controls(t.model, train, state.goal, part, t.state);
      t.iterations_done += part.iterations;
      t.layer_passes += dr.layer_passes;
      final_goal = dr.final_goal;
      if (t.iterations_done < training.iterations) save_control_run(path, done, {}, &t);
    }
    ControlSnapshot s;
    s.model = t.model;
    s.cycle.layers = layers;
    s.cycle.goal = final_goal;
    s.cycle.layer_passes = s.cycle.total_layer_passes = t.layer_passes;
    done.push_back(s);
    save_control_run(path, done);
  }
  return done;
}

void run_set(Context& ctx, const std::string& name) {
  const Settings& st = state.settings;
  const SetData data = load_set(ctx, name);
  const ControlSamples &train = data.train, &test = data.test;
  SetResult r;
  r.name = name;
  AdaptiveOptions ao;
  ao.training.iterations = st.iterations;
  if (st.adam) ao.training.method = ControlOptimizer::kAdam, ao.training.initial_step = st.lr;
  ao.fraction = st.fraction;
  ao.tolerance = st.tolerance;
  ao.max_layers = st.max_layers;
  const std::string config = set_config(ctx, name) + data.config;

  // Adaptive, with a figure of the decision regions after each cycle (2-D sets only).
  const int resolution = static_cast<int>(ctx.pick(90, 30));
  std::vector<ScatterPlot> panels;
  for (const ControlSnapshot& s :
       refinement_run(ctx, notebook::checkpoint_for(ctx, "ch11_" + name + "_adaptive", config), train, ao)) {
    r.adaptive.push_back(s.cycle);
    r.adaptive_outcomes.push_back(outcome_of(s.model, train, test, s.cycle.total_layer_passes));
    if (data.test_points)
      panels.push_back(regions_plot(s.model, *data.test_points, std::to_string(s.model.layers()) + " layers, test " +
                                                                    fmt("%.1f", r.adaptive_outcomes.back().test_accuracy) + " %",
                                    resolution));
  }
  if (!panels.empty()) {
    const int cols = std::min<int>(4, static_cast<int>(panels.size())), rows = (static_cast<int>(panels.size()) + cols - 1) / cols;
    Canvas canvas(cols * 300, rows * 290);
    for (size_t i = 0; i < panels.size(); ++i)
      panels[i].draw(canvas, static_cast<int>(i % cols) * 300, static_cast<int>(i / cols) * 290, 300, 290);
    const std::string path = ctx.out_path("ch11_" + name + "_regions.png");
    canvas.save_png(path);
    std::cout << "  wrote " << path << "\n";
  }
  // Uniform refinement: every interval split, the same iterations per cycle.
  {
    AdaptiveOptions uo = ao;
    uo.uniform = true;
    uo.tolerance = 0;
    for (const ControlSnapshot& s :
         refinement_run(ctx, notebook::checkpoint_for(ctx, "ch11_" + name + "_uniform", config), train, uo)) {
      r.uniform.push_back(s.cycle);
      r.uniform_outcomes.push_back(outcome_of(s.model, train, test, s.cycle.total_layer_passes));
    }
  }
  // Fixed depth, from scratch, trained as long as the adaptive run (the same number of iterations).
  const int64_t total_iterations = st.iterations * static_cast<int64_t>(r.adaptive.size());
  DescentOptions d = ao.training;
  d.iterations = total_iterations;
  const std::string fixed_path = notebook::checkpoint_for(
      ctx, "ch11_" + name + "_fixed", config + " fixed_iterations " + std::to_string(total_iterations));
  for (const ControlSnapshot& s : fixed_depth_runs(ctx, fixed_path, train, d, st.iterations))
    r.fixed.push_back(outcome_of(s.model, train, test, s.cycle.layer_passes));

  // Report.
  std::printf("  %s: %lld training and %lld test points; %lld iterations per cycle\n", name.c_str(),
              static_cast<long long>(train.count), static_cast<long long>(test.count),
              static_cast<long long>(st.iterations));
  std::printf("    adaptive  layers  goal J     train %%  test %%   estimate     actual       effectivity  marked\n");
  std::string table = "| cycle | layers | J | test acc. (%) | estimate | actual change | effectivity | split |\n|---|---|---|---|---|---|---|---|\n";
  for (size_t c = 0; c < r.adaptive.size(); ++c) {
    const AdaptiveCycle& cy = r.adaptive[c];
    const Outcome& o = r.adaptive_outcomes[c];
    std::string marked;
    for (int64_t k : cy.marked) marked += (marked.empty() ? "" : ",") + std::to_string(k);
    std::printf("    %-8zu  %-6lld  %.5f   %-7.1f  %-7.1f  %+.3e   %+.3e   %-11.2f  %s\n", c, static_cast<long long>(cy.layers),
                o.goal, o.train_accuracy, o.test_accuracy, cy.estimate, cy.effectivity.actual, cy.effectivity.index(),
                marked.empty() ? "-" : marked.c_str());
    table += "| " + std::to_string(c) + " | " + std::to_string(cy.layers) + " | " + fmt("%.4f", o.goal) + " | " +
             fmt("%.1f", o.test_accuracy) + " | " + fmt("%.2e", cy.estimate) + " | " + fmt("%.2e", cy.effectivity.actual) +
             " | " + fmt("%.2f", cy.effectivity.index()) + " | " + (marked.empty() ? "–" : marked) + " |\n";
  }
  table.pop_back();
  ctx.result_table(name + "_cycles", table);
  std::printf("    uniform   ");
  for (const Outcome& o : r.uniform_outcomes) std::printf("%lld: %.1f %%  ", static_cast<long long>(o.layers), o.test_accuracy);
  std::printf("\n    fixed     ");
  for (const Outcome& o : r.fixed) std::printf("%lld: %.1f %%  ", static_cast<long long>(o.layers), o.test_accuracy);
  std::printf("(each %lld iterations)\n", static_cast<long long>(total_iterations));

  // The numbers the book quotes.
  const Outcome& adaptive = r.adaptive_outcomes.back();
  const Outcome* best_fixed = &r.fixed.front();
  for (const Outcome& o : r.fixed)
    if (o.test_accuracy > best_fixed->test_accuracy + 1e-9) best_fixed = &o;  // ties: the shallower one
  const Outcome& uniform = r.uniform_outcomes.back();
  double eff_lo = 0, eff_hi = 0;
  effectivity_range(r, eff_lo, eff_hi);
  const std::string k = name + ".";
  ctx.result(k + "adaptive.layers", static_cast<double>(adaptive.layers), "%.0f");
  ctx.result(k + "adaptive.test", adaptive.test_accuracy, "%.1f");
  ctx.result(k + "adaptive.cost", static_cast<double>(adaptive.layer_passes), "%.0f");
  ctx.result(k + "adaptive.cycles", static_cast<double>(r.adaptive.size()), "%.0f");
  ctx.result(k + "uniform.layers", static_cast<double>(uniform.layers), "%.0f");
  ctx.result(k + "uniform.test", uniform.test_accuracy, "%.1f");
  ctx.result(k + "uniform.cost", static_cast<double>(uniform.layer_passes), "%.0f");
  ctx.result(k + "best_fixed.layers", static_cast<double>(best_fixed->layers), "%.0f");
  ctx.result(k + "best_fixed.test", best_fixed->test_accuracy, "%.1f");
  ctx.result(k + "best_fixed.cost", static_cast<double>(best_fixed->layer_passes), "%.0f");
  ctx.result(k + "effectivity.min", eff_lo, "%.2f");
  ctx.result(k + "effectivity.max", eff_hi, "%.2f");
  // The target: the first cycle whose test accuracy is within 1 point of the best fixed depth's.
  const Outcome* reach = nullptr;
  for (const Outcome& o : r.adaptive_outcomes)
    if (!reach && o.test_accuracy >= best_fixed->test_accuracy - 1.0) reach = &o;
  if (reach) {
    ctx.result(k + "reach.layers", static_cast<double>(reach->layers), "%.0f");
    ctx.result(k + "reach.test", reach->test_accuracy, "%.1f");
  } else {
    ctx.result_text(k + "reach.layers", "never");
    ctx.result_text(k + "reach.test", "–");
  }
  const bool fewer = reach && reach->layers < best_fixed->layers;
  std::printf("    target: best fixed depth %.1f %% with %lld layers; adaptive within 1 point %s%s%s;"
              " effectivity in [%.2f, %.2f]\n",
              best_fixed->test_accuracy, static_cast<long long>(best_fixed->layers),
              reach ? ("at " + std::to_string(reach->layers) + " layers (" + fmt("%.1f", reach->test_accuracy) + " %)").c_str() : "NEVER",
              reach ? (fewer ? " -> fewer layers" : " -> NOT fewer layers") : "", "", eff_lo, eff_hi);

  // Figures: the meshes and the indicators per cycle; accuracy against layers; goal against cost.
  LinePlot mesh;
  mesh.title = name + ": the time mesh per cycle (a dot = a layer boundary)";
  mesh.x_label = "t";
  mesh.y_label = "cycle";
  LinePlot indicators;
  indicators.title = name + ": |eta_k| per interval (at its midpoint)";
  indicators.x_label = "t";
  indicators.y_label = "|eta_k|";
  indicators.log_y = true;
  for (size_t c = 0; c < r.adaptive.size(); ++c) {
    const AdaptiveCycle& cy = r.adaptive[c];
    Series s;
    s.label = c == 0 ? "boundaries" : "";
    s.x = cy.mesh;
    s.y.assign(cy.mesh.size(), static_cast<double>(c));
    s.marker = Marker::Circle;
    s.color = palette_color(0);
    s.line_width = 1;
    mesh.series.push_back(s);
    std::vector<double> mid, eta;
    for (size_t i = 0; i < cy.indicators.size(); ++i)
      mid.push_back(0.5 * (cy.mesh[i] + cy.mesh[i + 1])), eta.push_back(std::abs(cy.indicators[i]));
    indicators.add("cycle " + std::to_string(c) + " (" + std::to_string(cy.layers) + " layers)", mid, eta, Marker::Circle);
  }
  save_plot(mesh, ctx, "ch11_" + name + "_mesh.png");
  save_plot(indicators, ctx, "ch11_" + name + "_indicators.png");
  LinePlot acc;
  acc.title = name + ": test accuracy against layers";
  acc.x_label = "layers";
  acc.y_label = "test accuracy (%)";
  acc.log_x = true;
  LinePlot cost;
  cost.title = name + ": goal J against training cost";
  cost.x_label = "layer passes over the training set";
  cost.y_label = "J";
  cost.log_x = true, cost.log_y = true;
  const auto add_runs = [&](const std::string& label, const std::vector<Outcome>& runs, Marker marker, bool line) {
    std::vector<double> l, a, p, j;
    for (const Outcome& o : runs)
      l.push_back(static_cast<double>(o.layers)), a.push_back(o.test_accuracy), p.push_back(static_cast<double>(o.layer_passes)), j.push_back(o.goal);
    acc.add(label, l, a, marker);
    cost.add(label, p, j, marker);
    if (!line) acc.series.back().line_width = 0, cost.series.back().line_width = 0;
  };
  add_runs("adaptive (after each cycle)", r.adaptive_outcomes, Marker::Circle, true);
  add_runs("uniform refinement", r.uniform_outcomes, Marker::Square, true);
  add_runs("fixed depth, trained as long", r.fixed, Marker::Triangle, false);
  save_plot(acc, ctx, "ch11_" + name + "_accuracy.png");
  save_plot(cost, ctx, "ch11_" + name + "_cost.png");
  state.results.push_back(std::move(r));
}

void setup_cell(Context& ctx) {
  state.settings = read_settings(ctx);
  for (const std::string& s : state.settings.sets)
    if (std::find(kSetNames.begin(), kSetNames.end(), s) == kSetNames.end())
      throw args::UsageError("--sets: unknown set '" + s + "' (expected a comma list of spirals, moons, circles, digits)");
  state.goal.l2 = ctx.double_flag("lambda", 1e-3);
  state.goal.h1 = state.goal.l2;
  state.goal.head_l2 = state.goal.l2;
  const Settings& st = state.settings;
  ctx.result("settings.dim", static_cast<double>(st.dim), "%.0f");
  ctx.result("settings.final_time", st.final_time, "%g");
  ctx.result("settings.iterations", static_cast<double>(st.iterations), "%.0f");
  ctx.result("settings.max_layers", static_cast<double>(st.max_layers), "%.0f");
  ctx.result("settings.start_layers", static_cast<double>(st.start_layers), "%.0f");
  ctx.result("settings.train_size", static_cast<double>(st.train_size), "%.0f");
  ctx.result("settings.test_size", static_cast<double>(st.test_size), "%.0f");
  ctx.result("settings.fraction", st.fraction, "%g");
  ctx.result("settings.tolerance", st.tolerance, "%g");
  ctx.result("settings.lambda", state.goal.l2, "%g");
  ctx.result_text("settings.optimizer", st.adam ? "Adam (learning rate " + fmt("%g", st.lr) + ")" : "steepest descent with Armijo backtracking");
  std::printf("  state dimension %lld, T = %g, start %lld layers, budget %lld, Dörfler fraction %g, tolerance %g,\n"
              "  lambda = %g (L2, H1 and head), %lld %s iterations per cycle\n",
              static_cast<long long>(st.dim), st.final_time, static_cast<long long>(st.start_layers),
              static_cast<long long>(st.max_layers), st.fraction, st.tolerance, state.goal.l2,
              static_cast<long long>(st.iterations), st.adam ? "Adam" : "Armijo descent");
}

void sets_cell(Context& ctx) {
  for (const std::string& name : state.settings.sets) run_set(ctx, name);
}

void summary_cell(Context& ctx) {
  std::string table = "| set | best fixed depth: layers | test % | adaptive within 1 point at: layers | test % | adaptive at the end: layers | test % | uniform: layers | test % | effectivity (min – max) |\n"
                      "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const SetResult& r : state.results) {
    const Outcome& a = r.adaptive_outcomes.back();
    const Outcome* best = &r.fixed.front();
    for (const Outcome& o : r.fixed)
      if (o.test_accuracy > best->test_accuracy + 1e-9) best = &o;
    const Outcome& u = r.uniform_outcomes.back();
    double lo = 0, hi = 0;
    effectivity_range(r, lo, hi);
    const Outcome* reach = nullptr;
    for (const Outcome& o : r.adaptive_outcomes)
      if (!reach && o.test_accuracy >= best->test_accuracy - 1.0) reach = &o;
    table += "| " + r.name + " | " + std::to_string(best->layers) + " | " + fmt("%.1f", best->test_accuracy) + " | " +
             (reach ? std::to_string(reach->layers) + " | " + fmt("%.1f", reach->test_accuracy) : std::string("never | –")) + " | " +
             std::to_string(a.layers) + " | " + fmt("%.1f", a.test_accuracy) + " | " + std::to_string(u.layers) +
             " | " + fmt("%.1f", u.test_accuracy) + " | " + fmt("%.2f", lo) + " – " + fmt("%.2f", hi) + " |\n";
  }
  table.pop_back();
  ctx.result_table("summary", table);
  std::cout << table << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<Cell> cells = {
      {"The discrete adjoint",
       "J = loss(x_K) + (lambda/2)(sum tau_k |theta_k|^2 + sum |theta_{k+1} - theta_k|^2 / tau) for the Euler\n"
       "network x_{k+1} = x_k + tau_k tanh(W_k x_k + b_k); its gradient by one backward sweep of\n"
       "p_k = p_{k+1} + tau_k W_k^T (sigma' * p_{k+1}), checked against finite differences.",
       adjoint_cell},
      {"The estimator on a linear ODE",
       "eta_k = sum_i <p_{k+1}, delta_k> + the loss's quadratic term: the residual of one Euler step against\n"
       "two half-steps, weighted by the adjoint. On x' = Ax the exact solution is known: compare the estimate\n"
       "with the actual change of the goal under uniform refinement (the effectivity index).",
       linear_cell},
      {"Settings", "The sizes of the experiment (flags --dim, --iterations, --max-layers, ...).", setup_cell},
      {"Adaptive, uniform and fixed depth on the 2-D sets and the digits",
       "Start with 2 layers; train; estimate; split the Dörfler-marked intervals; retrain; until the budget or\n"
       "the tolerance. Compare with uniform refinement and with fixed-depth networks trained as long.",
       sets_cell},
      {"Summary", "The targets in one table.", summary_cell},
  };
  return stablenn::notebook::run_chapter(
      argc, argv,
      {11, "Layerwise goal-oriented adaptivity", "book/11-adaptivity.md",
       {{"retrain", false, "train the networks again even when their checkpoints exist"},
        {"train-size", true, "training points per set (default 500)", args::whole_number(2, 100000)},
        {"test-size", true, "test points per set (default 1000)", args::whole_number(2, 100000)},
        {"iterations", true, "Armijo descent iterations per cycle (default 300)", args::whole_number(1, 1000000)},
        {"max-layers", true, "layer budget (default 16)", args::whole_number(2, 1024)},
        {"optimizer", true, "adam (default) or armijo (steepest descent with backtracking)", args::one_of({"armijo", "adam"})},
        {"lr", true, "Adam's learning rate (default 0.02)", args::number(1e-9, 10)},
        {"start-layers", true, "layers of the first cycle (default 2)", args::whole_number(1, 1024)},
        {"dim", true, "state dimension d >= 2 (default 8)", args::whole_number(2, 256)},
        {"final-time", true, "T, the network's integration time (default 2)", args::number(1e-6, 1e6)},
        {"fraction", true, "Dörfler fraction in (0, 1] (default 0.5)", args::number(1e-6, 1.0)},
        {"tolerance", true, "stop when |sum eta_k| < this times the loss (default 0.01)", args::number(0, 1e6)},
        {"lambda", true, "weight of the L2, H1 and head regularisers (default 1e-3)", args::number(0, 1e6)},
        {"sets", true, "comma list of spirals, moons, circles, digits (default all four)", args::some_of(kSetNames)}}},
      cells);
}
