// notebooks_cpp/ch05_neural_odes.cpp — chapter 5, "Neural ODEs": ResNets as explicit Euler steps, the
// neural ODE block with two ways to its gradient (backprop through the solver, the adjoint method), a
// classifier for the two spirals trained both ways, and the trajectories of the points.
// Read along in book/05-neural-odes.md. Run: build/notebooks_cpp/ch05_neural_odes [--step] [--smoke]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "autodiff/autodiff.h"
#include "datasets/toy2d.h"
#include "layers/losses.h"
#include "ode/ode.h"
#include "ode/odeint.h"
#include "io/file_bytes.h"
#include "plot/canvas.h"
#include "plot/plot.h"
#include "plot/scatter_plot.h"
#include "train/checkpoint.h"
#include "train/optim.h"
#include "notebooks_cpp/ch05_model.h"
#include "notebooks_cpp/ch05_training.h"
#include "notebooks_cpp/harness.h"

using namespace stablenn;
using stablenn::notebook::Cell;
using stablenn::notebook::Context;

namespace {

double max_abs_difference(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_vector(), y = b.to_vector();
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(x[i] - y[i]));
  return worst;
}

// Bytes of the distinct tensor storages held by the live nodes of this thread's tape: what the graph
// keeps for the backward pass (outputs and saved inputs), counted once per buffer.
double graph_mib() {
  Tape& tape = Tape::current();
  std::unordered_set<const Storage*> seen;
  double bytes = 0;
  auto add = [&](const Tensor& t) {
    if (t.defined() && seen.insert(t.storage().get()).second) bytes += static_cast<double>(t.storage()->nbytes());
  };
  for (size_t i = 0; i < tape.size(); ++i) {
    const std::shared_ptr<Node> node = tape.entry(i).node.lock();
    if (!node) continue;
    add(node->output->value);
    for (const Var& in : node->inputs)
      if (in.defined()) add(in.value());
  }
  return bytes / (1024.0 * 1024.0);
}

// ---- shared state between cells ----
struct Run {
  std::string name;
  std::shared_ptr<SpiralOdeClassifier> model;
  double seconds = 0, accuracy = 0, loss = 0, graph_mib = 0;
  int64_t forward_nfe = 0, backward_nfe = 0;
};

// What the cells share.
struct Chapter {
  Dataset train, test;
  std::vector<Run> runs;
};
Chapter state;

NeuralOdeOptions rk4_options(int64_t steps, GradientMethod method) {
  NeuralOdeOptions o;
  o.solver.tableau = rk4();
  o.solver.steps = steps;
  o.solver.gradient = method;
  return o;
}

std::vector<double> flat_gradients(Module& model) {
  std::vector<double> flat;
  for (const Var& p : model.parameters()) {
    const std::vector<double> part = p.grad().value().to_vector();
    flat.insert(flat.end(), part.begin(), part.end());
  }
  return flat;
}

double relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) diff += (a[i] - b[i]) * (a[i] - b[i]), norm += b[i] * b[i];
  return std::sqrt(diff / norm);
}

// ---- cell 1 ----
void resnets_are_euler(Context& ctx) {
  Generator g(ctx.seed + 1);
  const double T = 1.0;
  const Tensor x0 = g.normal({64, 2}, 0.0, 1.0, DType::Float64);
  auto field = std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Linear>(2, 16, true, g, DType::Float64), Tanh(),
      std::make_shared<Linear>(16, 2, true, g, DType::Float64)});
  // The reference flow: RK4 with many steps.
  NeuralOdeOptions fine;
  fine.t1 = T;
  fine.solver.steps = 2000;
  const Tensor exact = NeuralOde(field, fine).forward(Var(x0)).value();
  std::cout << "  L (blocks)   max|ResNet - Euler(L steps)|   max|ResNet - flow x(T)|   ratio\n";
  std::ostringstream table;
  table << "| L | ResNet − Euler | ResNet − flow | ratio |\n|---|---|---|---|\n";
  double previous = 0;
  for (int64_t L : {2, 4, 8, 16, 32, 64}) {
    Var resnet(x0);
    for (int64_t l = 0; l < L; ++l) resnet = resnet + (T / static_cast<double>(L)) * (*field)(resnet);
    NeuralOdeOptions euler;
    euler.t1 = T;
    euler.solver.tableau = explicit_euler();
    euler.solver.steps = L;
    const Tensor by_solver = NeuralOde(field, euler).forward(Var(x0)).value();
    const double to_flow = max_abs_difference(resnet.value(), exact);
    std::cout << "  " << std::setw(10) << L << "   " << std::setw(28) << std::scientific << std::setprecision(2)
              << max_abs_difference(resnet.value(), by_solver) << "   " << std::setw(23) << to_flow << "   "
              << std::fixed << std::setprecision(2) << (previous > 0 ? previous / to_flow : 0.0) << "\n";
    char ratio[32] = "", line[128];
    if (previous > 0) std::snprintf(ratio, sizeof ratio, "%.2f", previous / to_flow);
    std::snprintf(line, sizeof line, "| %lld | %.3g | %.1e | %s |\n", static_cast<long long>(L),
                  max_abs_difference(resnet.value(), by_solver), to_flow, ratio);
    table << line;
    previous = to_flow;
  }
  ctx.result_table("euler", table.str());
  std::cout << std::defaultfloat;
  std::cout << "  The ResNet with h = T/L is explicit Euler to the last bit; its distance to the flow halves\n"
               "  with each doubling of L (first order). Different weights per block = piecewise-constant\n"
               "  parameters in time (NeuralOde with one field per interval).\n";
}

// ---- cell 2 ----
void spirals(Context& ctx) {
  Generator g(ctx.seed + 2);
  state.train = make_spirals(ctx.pick(1000, 200), 0.02, g);
  state.test = make_spirals(ctx.pick(1000, 200), 0.02, g);
  ScatterPlot plot;
  plot.title = "two spirals (training set)";
  plot.points = state.train.inputs;
  plot.labels = state.train.labels;
  plot.save(ctx.out_path("ch05_spirals.png"));
  std::cout << "  " << state.train.inputs.size(0) << " training and " << state.test.inputs.size(0)
            << " test points, 1.5 turns; wrote " << ctx.out_path("ch05_spirals.png") << "\n";
}

// ---- cell 3 ----
void compare_gradients(Context& ctx) {
  // The same weights, one loss, the gradient by both methods: backprop differentiates the discrete
  // solve exactly; the adjoint solves the continuous adjoint equation, so the two differ by the solver's
  // error. Float64 here so that rounding does not hide the O(h^4) trend.
  Generator g(ctx.seed + 3);
  const int64_t n = std::min<int64_t>(state.train.inputs.size(0), 250);  // a subset: float64 is for accuracy
  const Var x(state.train.inputs.narrow(0, 0, n).to(DType::Float64));
  const Tensor labels = state.train.labels.narrow(0, 0, n);
  std::cout << "  solver                 rel. difference   graph after forward (MiB): backprop   adjoint\n";
  std::ostringstream table;
  table << "| solver | relative difference | graph after forward: backprop | adjoint |\n|---|---|---|---|\n";
  auto row = [&](const std::string& name, NeuralOdeOptions options) {
    std::vector<double> grads[2];
    double mib[2];
    for (int m = 0; m < 2; ++m) {
      options.solver.gradient = m == 0 ? GradientMethod::kBackprop : GradientMethod::kAdjoint;
      Generator init(ctx.seed + 30);
      SpiralOdeClassifier model(2, 32, options, init, DType::Float64);
      const Var loss = cross_entropy(model(x), labels);
      mib[m] = graph_mib();
      backward(loss);
      grads[m] = flat_gradients(model);
    }
    std::cout << "  " << std::left << std::setw(22) << name << std::right << std::scientific << std::setprecision(2)
              << std::setw(16) << relative_difference(grads[1], grads[0]) << std::fixed << std::setprecision(3)
              << std::setw(29) << mib[0] << std::setw(10) << mib[1] << "\n";
    char line[160];
    std::snprintf(line, sizeof line, "| %s | %.1e | %.1f MiB | %.3f MiB |\n", name.c_str(),
                  relative_difference(grads[1], grads[0]), mib[0], mib[1]);
    table << line;
  };
  for (int64_t steps : {5, 10, 20, 40}) row("RK4, " + std::to_string(steps) + " steps", rk4_options(steps, GradientMethod::kBackprop));
  for (double rtol : {1e-3, 1e-5, 1e-7}) {
    NeuralOdeOptions o;
    o.solver.tableau = dormand_prince();
    o.solver.adaptive = true;
    o.solver.adaptive_options.rtol = rtol;
    o.solver.adaptive_options.atol = rtol * 1e-2;
    std::ostringstream name;
    name << "Dopri5, rtol " << std::scientific << std::setprecision(0) << rtol;
    row(name.str(), o);
  }
  ctx.result_table("gradients", table.str());
  ctx.result("gradients.points", static_cast<double>(n), "%.0f");
  std::cout << std::defaultfloat;
  std::cout << "  RK4: the difference falls ~16x per halving of h (O(h^4)); Dopri5: it follows the tolerance.\n"
               "  The adjoint's graph holds only the inputs and x(T), whatever the number of steps.\n";
}

// ---- cell 4 ----
// Trains one model, or loads it and the numbers of the run that trained it (time, evaluations, graph
// memory) from the checkpoint that run wrote, so that a later cell run alone (--cell 5) does not train
// again. The checkpoint is written every 50 steps, so a run stopped by Ctrl-C continues from its last
// save and ends as an uninterrupted run would (ch05_training.h). --retrain trains again.
Run train(Context& ctx, const std::string& name, const NeuralOdeOptions& options) {
  Run run;
  run.name = name;
  const int64_t steps = ctx.pick(500, 15), save_every = ctx.pick(50, 5);
  std::unique_ptr<Adam> optimizer;
  const auto fresh_model = [&] {
    Generator init(ctx.seed + 40);  // the same initial weights for every method
    run.model = std::make_shared<SpiralOdeClassifier>(2, 32, options, init);
    optimizer = std::make_unique<Adam>(run.model->parameters(), 1e-2);
  };
  fresh_model();
  std::ostringstream config;
  config << name << " train " << state.train.size() << " steps " << steps << " lr 0.01 width 32 seed " << ctx.seed;
  const std::string path = notebook::checkpoint_for(ctx, "ch05_model", config.str());
  const std::string where = std::filesystem::absolute(path).string();
  SpiralRun progress;
  if (!file_exists(path)) {
    notebook::notice("  (no checkpoint at " + where + " yet: training " + std::to_string(steps) + " steps)");
  } else if (ctx.has_flag("retrain")) {
    notebook::notice("  (--retrain: training again, replacing " + where + ")");
  } else {
    try {
      progress = load_spiral_run(path, *run.model, *optimizer);
      SNN_CHECK(progress.step <= steps, path, " holds ", progress.step, " steps, more than the ", steps, " of this run");
      if (progress.step == steps)
        notebook::notice("  (using the model saved in " + where + " by an earlier run; --retrain trains again)");
      else
        notebook::notice("  (resuming the run stopped after step " + std::to_string(progress.step) + " of " +
                         std::to_string(steps) + ", saved in " + where + ")");
    } catch (const Error& e) {
      notebook::notice("  (" + where + " does not fit: " + e.what() + "; training afresh)");
      fresh_model();
      progress = SpiralRun();
    }
  }
  SpiralOdeClassifier& model = *run.model;
  const bool loaded = progress.step == steps;
  if (!loaded) {
    SpiralTrainingHooks hooks;
    hooks.after_forward = [](int64_t step, SpiralRun& r) {
      if (step == 1) r.graph_mib = graph_mib();
    };
    hooks.after_step = [&](int64_t step, const SpiralRun& r) {
      if (step % std::max<int64_t>(1, steps / 5) == 0 || step == steps)
        std::cout << "    step " << std::setw(4) << step << "  loss " << std::fixed << std::setprecision(4) << r.loss
                  << "\n" << std::flush;
    };
    progress = train_spiral_classifier(model, *optimizer, state.train.inputs, state.train.labels, steps, progress,
                                       path, save_every, hooks);
  }
  run.seconds = progress.seconds;
  run.loss = progress.loss;
  run.graph_mib = progress.graph_mib;
  run.forward_nfe = progress.forward_evaluations / steps;
  run.backward_nfe = progress.backward_evaluations / steps;
  NoGrad no_grad;
  model.eval();
  run.accuracy = accuracy(model(Var(state.test.inputs)).value(), state.test.labels);
  std::cout << "  " << name << ": test accuracy " << std::fixed << std::setprecision(1) << 100 * run.accuracy << " %, "
            << std::setprecision(2) << run.seconds << " s" << (loaded ? " (when trained)" : "") << ", "
            << run.forward_nfe << " f-evaluations forward and " << run.backward_nfe
            << " augmented evaluations backward per step\n";
  return run;
}

// The book's key of a run: "rk4_backprop", "rk4_adjoint", "dopri5_adjoint".
void record_run(Context& ctx, const std::string& key, const Run* run) {
  if (!run) {  // skipped under --smoke: the key stays, so the book's check still sees it
    for (const char* what : {".accuracy", ".loss", ".seconds", ".forward_nfe", ".backward_nfe"})
      ctx.result_text(key + what, "(not run under --smoke)");
    return;
  }
  ctx.result(key + ".accuracy", 100 * run->accuracy, "%.1f");
  ctx.result(key + ".loss", run->loss, "%.0e");
  ctx.result(key + ".seconds", run->seconds, "%.1f");
  ctx.result(key + ".forward_nfe", static_cast<double>(run->forward_nfe), "%.0f");
  ctx.result(key + ".backward_nfe", static_cast<double>(run->backward_nfe), "%.0f");
}

void train_both(Context& ctx) {
  state.runs.clear();
  state.runs.push_back(train(ctx, "RK4 10 steps, backprop", rk4_options(10, GradientMethod::kBackprop)));
  state.runs.push_back(train(ctx, "RK4 10 steps, adjoint", rk4_options(10, GradientMethod::kAdjoint)));
  NeuralOdeOptions dp;
  dp.solver.tableau = dormand_prince();
  dp.solver.adaptive = true;
  dp.solver.adaptive_options.rtol = 1e-4;
  dp.solver.adaptive_options.atol = 1e-6;
  dp.solver.gradient = GradientMethod::kAdjoint;
  if (!ctx.smoke) state.runs.push_back(train(ctx, "Dopri5 rtol 1e-4, adjoint", dp));
  ctx.result("train.steps", static_cast<double>(ctx.pick(500, 15)), "%.0f");
  record_run(ctx, "rk4_backprop", &state.runs[0]);
  record_run(ctx, "rk4_adjoint", &state.runs[1]);
  record_run(ctx, "dopri5_adjoint", state.runs.size() > 2 ? &state.runs[2] : nullptr);
}

// ---- cell 5 ----
void trajectories(Context& ctx) {
  SpiralOdeClassifier& model = *state.runs.front().model;
  NoGrad no_grad;
  ScatterPlot regions;
  regions.title = "decision regions (RK4, backprop)";
  regions.points = state.test.inputs;
  regions.labels = state.test.labels;
  regions.classify = [&](const Tensor& grid) { return model(Var(grid)).value(); };
  regions.region_resolution = static_cast<int>(ctx.pick(120, 40));  // each grid point is one ODE solve
  regions.save(ctx.out_path("ch05_regions.png"));

  // Trajectories of a subset of the test points: state coordinates 0 and 1, and the logit margin of
  // the head read out at every time (how the classes separate along the flow).
  const int64_t shown = std::min<int64_t>(state.test.inputs.size(0), 120);
  const Tensor x = state.test.inputs.narrow(0, 0, shown);
  const int64_t points = model.block->options.solver.steps * 4;
  const Tensor z0 = model.augment(Var(x)).value();
  NeuralOde& block = *model.block;
  const std::vector<Tensor> states = [&] {
    // Finer output than the solver's grid for smooth lines (4 RK4 sub-steps per segment).
    NeuralOdeOptions saved = block.options;
    block.options.solver.steps = points;
    std::vector<Tensor> s = block.trajectory(z0, points);
    block.options = saved;
    return s;
  }();
  const Tensor w = model.head->weight.value(), b = model.head->bias.value();
  LinePlot flow, margin;
  flow.title = "trajectories in state space (coordinates 0 and 1)";
  flow.x_label = "z_0";
  flow.y_label = "z_1";
  margin.title = "logit margin along the flow";
  margin.x_label = "t";
  margin.y_label = "logit(class 1) - logit(class 0)";
  const std::vector<double> label_values = state.test.labels.to_vector();
  const std::vector<int64_t> labels(label_values.begin(), label_values.end());
  bool class_labelled[2] = {false, false};  // the margin plot's legend: one entry per class
  for (int64_t i = 0; i < shown; ++i) {
    Series path, m;
    const int64_t c = labels[static_cast<size_t>(i)];
    path.color = m.color = palette_color(c);
    if ((c == 0 || c == 1) && !class_labelled[c]) m.label = "class " + std::to_string(c), class_labelled[c] = true;
    path.line_width = m.line_width = 1;
    for (size_t k = 0; k < states.size(); ++k) {
      const Tensor z = states[k].narrow(0, i, 1).reshape({-1});
      const std::vector<double> zv = z.to_vector();
      path.x.push_back(zv[0]);
      path.y.push_back(zv[1]);
      double logit_gap = b.to_vector()[1] - b.to_vector()[0];
      for (size_t j = 0; j < zv.size(); ++j)
        logit_gap += (w.at({1, static_cast<int64_t>(j)}) - w.at({0, static_cast<int64_t>(j)})) * zv[j];
      m.x.push_back(static_cast<double>(k) / static_cast<double>(states.size() - 1));
      m.y.push_back(logit_gap);
    }
    flow.series.push_back(path);
    margin.series.push_back(m);
  }
  for (int c = 0; c < 2; ++c) {  // start and end markers, one legend entry per class
    Series start, end;
    start.label = "start, class " + std::to_string(c);
    end.label = "end, class " + std::to_string(c);
    start.color = end.color = palette_color(c);
    start.line_width = end.line_width = 0;
    start.marker = Marker::Circle;
    end.marker = Marker::Square;
    for (int64_t i = 0; i < shown; ++i) {
      if (labels[static_cast<size_t>(i)] != c) continue;
      start.x.push_back(states.front().at({i, 0}));
      start.y.push_back(states.front().at({i, 1}));
      end.x.push_back(states.back().at({i, 0}));
      end.y.push_back(states.back().at({i, 1}));
    }
    flow.series.push_back(start);
    flow.series.push_back(end);
  }
  Series zero;  // where the prediction flips
  zero.label = "margin 0 (decision boundary)";
  zero.color = colors::kDarkGrey;
  zero.x = {0.0, 1.0};
  zero.y = {0.0, 0.0};
  margin.series.push_back(zero);
  flow.save(ctx.out_path("ch05_trajectories.png"));
  margin.save(ctx.out_path("ch05_margin.png"));
  std::cout << "  wrote " << ctx.out_path("ch05_regions.png") << ", " << ctx.out_path("ch05_trajectories.png")
            << ", " << ctx.out_path("ch05_margin.png") << "\n";
}

// ---- cell 6 ----
void summary(Context& ctx) {
  std::ostringstream table;
  table << "| method | test accuracy | time (s) | f-evaluations forward / backward per step | graph (MiB) |\n"
        << "|---|---|---|---|---|\n";
  for (const Run& r : state.runs) {
    char line[200];
    std::snprintf(line, sizeof line, "| %s | %.1f %% | %.2f | %lld / %lld | %.3f |\n", r.name.c_str(),
                  100 * r.accuracy, r.seconds, static_cast<long long>(r.forward_nfe),
                  static_cast<long long>(r.backward_nfe), r.graph_mib);
    table << line;
  }
  ctx.result_table("summary", table.str());
  std::cout << "  method                        test acc.   time (s)   f-evals fwd/bwd per step   graph (MiB)\n";
  for (const Run& r : state.runs)
    std::cout << "  " << std::left << std::setw(28) << r.name << std::right << std::fixed << std::setprecision(1)
              << std::setw(9) << 100 * r.accuracy << " %" << std::setw(11) << std::setprecision(2) << r.seconds
              << std::setw(16) << r.forward_nfe << " / " << std::setw(6) << r.backward_nfe << std::setw(14)
              << std::setprecision(3) << r.graph_mib << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  return stablenn::notebook::run_chapter(
      argc, argv,
      {5, "Neural ODEs", "book/05-neural-odes.md",
       {{"retrain", false, "train the models again even when their checkpoints exist"}}},
      {
          {"ResNets are explicit Euler steps",
           "A residual block x + h f(x) is one explicit Euler step of x' = f(x). L blocks with h = T/L\n"
           "integrate the ODE to time T; more blocks = smaller steps = closer to the flow.",
           resnets_are_euler},
          {"The two spirals", "Two interleaved spirals: not separable by a line, nor by a small flow of the plane.",
           spirals},
          {"Two gradients of the same solve",
           "Backprop through the solver (the tape holds every step) against the adjoint method (one\n"
           "node; the backward integrates the adjoint equation and re-integrates the state backwards).",
           compare_gradients},
          {"Training a neural-ODE classifier both ways",
           "Full-batch Adam on the spirals; the same initial weights for each gradient method.", train_both},
          {"Trajectories and decision regions",
           "Where the flow takes the points: the classes are pulled apart until a line separates them.",
           trajectories},
          {"Summary", "Accuracy, time, evaluations and graph memory of each method.", summary},
      });
}
