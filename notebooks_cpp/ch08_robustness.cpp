// notebooks_cpp/ch08_robustness.cpp — chapter 8, "Adversarial robustness": the chapter's toy example
// and the project's main program. An unconstrained ResNet and a non-expansive network of the same
// dense layout are trained on Fashion-MNIST and attacked in l2 (the strong, verified evaluation of
// robust/robust_eval.h, beside the chapter's weaker CE-PGD); the non-expansive one keeps more of its
// accuracy as the attack budget grows, and it carries a certificate.
// Read along in book/08-robustness.md. Run: build/notebooks_cpp/ch08_robustness [--step] [--smoke]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "datasets/fallback.h"
#include "datasets/loader.h"
#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/losses.h"
#include "layers/stable/gradient_step_block.h"
#include "layers/stable/norm_layers.h"
#include "plot/image_grid_plot.h"
#include "plot/plot.h"
#include "robust/attacks.h"
#include "robust/certificates.h"
#include "robust/lipschitz.h"
#include "robust/robust_eval.h"
#include "train/checkpoint.h"
#include "train/csv_log.h"
#include "train/progress.h"
#include "train/trainer.h"
#include "notebooks_cpp/ch08_models.h"
#include "notebooks_cpp/harness.h"

using namespace stablenn;
using stablenn::notebook::Context;
using namespace stablenn::ch08;

namespace {

struct Model {
  std::string name;        // "ResNet" or "non-expansive"
  std::string short_name;  // for captions
  std::string key;         // "resnet" or "nonexpansive": CSV columns, file names
  Kind kind;
  std::string file;  // checkpoint
  std::shared_ptr<Sequential> net;
  LossFunction loss;
  double train_seconds = 0, clean = 0, lipschitz = NAN;
  bool loaded = false;
  RobustnessReport reports[2];        // by protocol: [0] strong, [1] chapter (empty when not run)
  double attack_seconds[2] = {0, 0};
};

constexpr AttackProtocol kProtocols[2] = {AttackProtocol::kStrong, AttackProtocol::kChapter};

// What the cells share.
struct Chapter {
  Setup setup;
  bool run_protocol[2] = {true, true};  // --attack: strong, chapter or both
  TrainTestData data;
  Tensor attack_x, attack_y;  // the attacked test images
  std::vector<Model> models;
  std::vector<double> certified;
};
Chapter state;

// Trains `m`, or resumes/reuses its checkpoint (which records the epochs done).
void train_or_load(Model& m, Context& ctx) {
  TrainerOptions to;
  to.checkpoint_path = ctx.out_path(m.file);
  to.csv_path = ctx.out_path(m.file + ".csv");
  to.label = m.name;
  const auto start = std::chrono::steady_clock::now();
  const TrainResult r = train_model(
      *m.net, m.loss, state.data.train, state.data.test, state.setup, ctx.seed, to,
      [&ctx](Trainer& t, const DataLoader& train, const DataLoader* test) {
        return notebook::fit_or_resume(ctx, t, train, test);
      });
  m.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.loaded = r.epochs_trained == 0;
  SNN_CHECK(!r.diverged, m.name, ": ", r.message);
  m.net->eval();
  m.clean = accuracy(predict_logits(*m.net, state.data.test.inputs), state.data.test.labels);
  std::cout << m.name << ": test accuracy " << std::fixed << std::setprecision(1) << 100 * m.clean
            << " % (" << (m.loaded ? "loaded from " + to.checkpoint_path + "; --retrain trains again"
                                   : "trained in " + format_duration(m.train_seconds))
            << ")\n";
}

std::string percent(double v) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(1) << 100 * v;
  return os.str();
}

// The numbers the book quotes (notebooks_cpp/results.h): accuracies by model, evaluation and eps,
// the bounds, which attack broke the images, and the times.
void record_results(Context& ctx) {
  const char* protocol_keys[2] = {"strong", "chapter"};
  std::ostringstream table;
  table << "| ε (ℓ2) |";
  for (double e : state.setup.eps) table << " " << e << " |";
  table << "\n|---|";
  for (size_t i = 0; i < state.setup.eps.size(); ++i) table << "---|";
  table << "\n";
  for (const Model& m : state.models) {
    ctx.result("clean_accuracy." + m.key, 100 * m.clean, "%.1f");
    ctx.result("lipschitz." + m.key, m.lipschitz, m.kind == Kind::kResNet ? "%.3g" : "%.7g");
    ctx.result_text("train_time." + m.key, m.loaded ? "(loaded)" : format_duration(m.train_seconds));
    for (int p : {1, 0}) {
      const bool ran = state.run_protocol[p];
      ctx.result_text("attack_time." + m.key + "." + protocol_keys[p],
                      ran ? format_duration(m.attack_seconds[p]) : "(not run)");
      table << "| " << m.name << ", " << (p == 1 ? "chapter's PGD" : "strong") << " |";
      for (size_t i = 0; i < state.setup.eps.size(); ++i) {
        const std::string text = ran ? percent(m.reports[p].accuracy[i]) : "-";
        table << " " << text << " |";
        char key[96];
        std::snprintf(key, sizeof key, "accuracy.%s.%s.%g", m.key.c_str(), protocol_keys[p], state.setup.eps[i]);
        ctx.result_text(key, text);
      }
      table << "\n";
    }
  }
  table << "| non-expansive, certified |";
  for (size_t i = 0; i < state.setup.eps.size(); ++i) {
    table << " " << percent(state.certified[i]) << " |";
    char key[64];
    std::snprintf(key, sizeof key, "certified.%g", state.setup.eps[i]);
    ctx.result_text(key, percent(state.certified[i]));
  }
  ctx.result_table("accuracy", table.str());
  // How much the chapter's protocol overstates (the largest chapter − strong over the grid, points),
  // and the two networks' gap at the largest eps under each protocol: book/08 cell 6 quotes them.
  if (state.run_protocol[0] && state.run_protocol[1] && state.models.size() == 2) {
    for (const Model& m : state.models) {
      double most = 0;
      for (size_t i = 0; i < state.setup.eps.size(); ++i)
        most = std::max(most, m.reports[1].accuracy[i] - m.reports[0].accuracy[i]);
      ctx.result("overstatement." + m.key, 100 * most, "%.0f");
    }
    for (int p : {1, 0})
      ctx.result(std::string("gap_at_largest_eps.") + protocol_keys[p],
                 100 * (state.models[1].reports[p].accuracy.back() - state.models[0].reports[p].accuracy.back()),
                 "%.0f");
  }
  ctx.result_text("attack_size", stablenn::notebook::thousands(state.attack_x.size(0)));
  ctx.result_text("test_size", stablenn::notebook::thousands(state.data.test.size()));

  // Which attack of the strong evaluation broke each image first.
  std::ostringstream found;
  const bool strong = state.run_protocol[0];
  const std::vector<std::string> names =
      strong ? state.models[0].reports[0].found_by_names : std::vector<std::string>{};
  found << "| |";
  for (const std::string& n : names) found << " " << n << " |";
  found << "\n|---|";
  for (size_t a = 0; a < names.size(); ++a) found << "---|";
  found << "\n";
  for (const Model& m : state.models) {
    int64_t broken = 0;
    if (strong)
      for (int64_t n : m.reports[0].found_by) broken += n;
    found << "| " << m.name << " (" << broken << " images broken) |";
    if (strong)
      for (int64_t n : m.reports[0].found_by) found << " " << n << " |";
    found << "\n";
  }
  ctx.result_table("found_by", strong ? found.str() : "(the strong evaluation was not run)");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace stablenn::notebook;
  return run_chapter(
      argc, argv,
      {8, "Adversarial robustness: the toy example", "book/08-robustness.md",
       {{"retrain", false, "train both models again even when their checkpoints exist"},
        {"epochs", true, "training epochs (default 30)", args::whole_number(1, 100000)},
        {"train-size", true, "training images (default 30000)", args::whole_number(1, 60000)},
        {"attack-size", true, "test images attacked (default 1000)", args::whole_number(1, 10000)},
        {"attack", true, "strong, chapter or both (default both): which evaluation to run",
         args::one_of({"strong", "chapter", "both"})},
        {"pgd-iterations", true, "iterations of the chapter's CE-PGD (default 100)", args::whole_number(1, 100000)},
        {"apgd-iterations", true, "iterations per APGD run of the strong evaluation (default 100)",
         args::whole_number(1, 100000)},
        {"restarts", true, "extra APGD-margin runs from random starts (default 1)", args::whole_number(1, 1000)},
        {"save-adversarial", true, "FILE: write each model's verified adversarial examples to "
                                   "FILE with _resnet/_nonexpansive before the extension"}}},
      {
          {"Data", "A 30,000-image training subset of Fashion-MNIST (stratified, seeded) and the "
                   "test set; 1,000 test images will be attacked. Without the data files the "
                   "synthetic shapes set stands in, and the program says so.",
           [&](Context& ctx) {
             Setup& s = state.setup;
             if (ctx.smoke) {
               s.train_count = 1024; s.attack_count = 64; s.epochs = 2; s.width = 64;
               s.blocks = 2; s.pgd_iterations = 5; s.apgd_iterations = 5; s.min_norm_steps = 10;
               s.eps = {0, 0.5, 1.0};
             }
             s.epochs = ctx.int_flag("epochs", s.epochs);
             s.train_count = ctx.int_flag("train-size", s.train_count);
             s.attack_count = ctx.int_flag("attack-size", s.attack_count);
             s.pgd_iterations = ctx.int_flag("pgd-iterations", s.pgd_iterations);
             s.apgd_iterations = ctx.int_flag("apgd-iterations", s.apgd_iterations);
             s.restarts = ctx.int_flag("restarts", s.restarts);
             const std::string attack = ctx.flag("attack", "both");  // checked by args::one_of
             state.run_protocol[0] = attack != "chapter";
             state.run_protocol[1] = attack != "strong";
             const int64_t test_count = ctx.smoke ? 512 : 0;
             state.data = real_or_synthetic(
                 "Fashion-MNIST",
                 [&] { return load_fashion_mnist_subsets(ctx.data_dir, s.train_count, test_count, ctx.seed); },
                 [&] { return shapes_stand_in(s.train_count, test_count, ctx.seed); });
             if (!state.data.synthetic) std::cout << state.data.note << "\n";
             const int64_t n = std::min<int64_t>(s.attack_count, state.data.test.size());
             state.attack_x = state.data.test.inputs.narrow(0, 0, n);
             state.attack_y = state.data.test.labels.narrow(0, 0, n);
             std::cout << "train " << shape_str(state.data.train.inputs.shape()) << ", test "
                       << shape_str(state.data.test.inputs.shape()) << ", attacked " << n << "\n";
           }},
          {"Two networks of the same layout",
           "Both flatten the image, lift it to 256 features, apply 5 blocks and a linear head. The "
           "ResNet's blocks are x + Bσ(Ax+b) with nothing constrained. The non-expansive network "
           "normalises lift and head to spectral norm <= 1 and uses gradient steps x - hAᵀσ(Ax+b) "
           "whose step size adapts to ‖A‖, so the whole map from pixels to logits is 1-Lipschitz.",
           [&](Context& ctx) {
             Generator g(ctx.seed + 1);
             const Setup& s = state.setup;
             const std::string tag = std::string(state.data.synthetic ? "shapes" : "fmnist") + "_" +
                                     std::to_string(s.train_count) + "_w" + std::to_string(s.width) +
                                     "_e" + std::to_string(s.epochs) + "_s" + std::to_string(ctx.seed);
             state.models.resize(2);
             state.models[0].name = state.models[0].short_name = "ResNet";
             state.models[0].key = "resnet";
             state.models[0].kind = Kind::kResNet;
             state.models[0].file = "ch08_resnet_" + tag + ".safetensors";
             state.models[0].net = make_resnet(s, g);
             state.models[1].name = "non-expansive";
             state.models[1].short_name = "non-exp";
             state.models[1].key = "nonexpansive";
             state.models[1].kind = Kind::kNonexpansive;
             state.models[1].file = "ch08_nonexpansive_" + tag + ".safetensors";
             state.models[1].net = make_nonexpansive(s, g);
             state.models[1].loss = temperature_cross_entropy(s.temperature);
             for (Model& m : state.models) std::cout << m.name << ":\n" << m.net->summary({1, 1, 28, 28});
           }},
          {"Training",
           "Adam (lr 1e-3, cosine decay), batch 128. The ResNet minimises plain cross-entropy; the "
           "1-Lipschitz network's logits move little, so its cross-entropy is taken of 16·logits. "
           "Checkpoints are written every epoch and reused on the next run.",
           [&](Context& ctx) {
             for (Model& m : state.models) train_or_load(m, ctx);
           }},
          {"Lipschitz bounds",
           "The bound of the non-expansive network is the product of its layers' bounds, computed "
           "from exact spectral norms; the ResNet's product bound is huge, and meaningless.",
           [&](Context&) {
             for (Model& m : state.models) {
               m.lipschitz = lipschitz_bound(*m.net);
               std::cout << m.name << ": Lipschitz bound " << m.lipschitz << "\n";
             }
             // What the guarantee costs: each Euler sub-step is two products with A (Ax, Aᵀσ).
             Sequential& ne = *state.models[1].net;
             ne.eval();
             {
               NoGrad no_grad;
               ne(Var(state.attack_x.narrow(0, 0, 1)));
             }
             std::cout << "non-expansive: Euler sub-steps per block in evaluation:";
             for (int64_t n : ch07::substeps_per_block(ne)) std::cout << " " << n;
             std::cout << " (the ResNet: one step each)\n";
           }},
          {"Attacks",
           "Two evaluations of each model on the same images. The chapter's: cross-entropy PGD, 100 "
           "iterations of step 2.5·eps/100 from one random start, each eps on its own. The strong one: "
           "a minimum-norm attack (FMN), then from the largest eps down, on the images not yet broken "
           "there: APGD with the margin loss (from the smallest example known), APGD with "
           "cross-entropy and one more margin run from a random start; an image that resists them "
           "counts as robust at that eps and every smaller one. Every adversarial example is checked before it counts: norm <= "
           "eps, pixels in [0, 1], misclassified by a float64 copy of the network.",
           [&](Context& ctx) {
             for (Model& m : state.models)
               for (int p = 0; p < 2; ++p) {
                 if (!state.run_protocol[p]) continue;
                 ProgressOptions po;
                 po.label = std::string(attack_protocol_name(kProtocols[p])) + " " + m.name;
                 po.step_name = "stage";
                 const int64_t stages = ((state.attack_x.size(0) + 249) / 250) * static_cast<int64_t>(state.setup.eps.size());
                 ProgressBar bar(stages, po);
                 const auto start = std::chrono::steady_clock::now();
                 m.reports[p] = evaluate_model(*m.net, m.kind, state.attack_x, state.attack_y, state.setup, kProtocols[p],
                                               [&](int64_t done, int64_t) { bar.update(done, 0, {}); });
                 bar.finish({});
                 m.attack_seconds[p] =
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                 std::cout << po.label << ": " << std::fixed << std::setprecision(1) << m.attack_seconds[p]
                           << " s; images broken inside the grid, by the attack that broke them first:";
                 std::cout.unsetf(std::ios::floatfield);
                 for (size_t a = 0; a < m.reports[p].found_by.size(); ++a)
                   std::cout << (a ? ", " : " ") << m.reports[p].found_by_names[a] << " " << m.reports[p].found_by[a];
                 std::cout << "\n";
                 if (m.reports[p].rejected > 0)
                   std::cout << m.name << ": " << m.reports[p].rejected
                             << " candidate(s) misclassified in float32 but not in float64 did not count\n";
               }
             const Model& ne = state.models[1];
             state.certified = certified_accuracy_curve(predict_logits(*ne.net, state.attack_x), state.attack_y,
                                                     ne.lipschitz, state.setup.eps);
             // A certificate that an attack beats would be a bug in one of them: stop, do not print it.
             if (state.run_protocol[0])
               for (size_t i = 0; i < state.setup.eps.size(); ++i)
                 SNN_CHECK(state.certified[i] <= ne.reports[0].accuracy[i], "certified accuracy ",
                           state.certified[i], " exceeds the strong attack's ", ne.reports[0].accuracy[i],
                           " at eps ", state.setup.eps[i], ": the Lipschitz bound or the attack is wrong");
             if (ctx.has_flag("save-adversarial")) {
               const std::string file = ctx.flag("save-adversarial");
               const size_t dot = file.rfind('.');
               const bool ext = dot != std::string::npos && file.find('/', dot) == std::string::npos;
               for (const Model& m : state.models)
                 for (int p = 0; p < 2; ++p) {
                   if (!state.run_protocol[p]) continue;
                   const std::string tag = "_" + m.key + (p == 1 ? "_chapter" : "");
                   const std::string path = ext ? file.substr(0, dot) + tag + file.substr(dot) : file + tag;
                   RobustnessOptions o;
                   o.protocol = kProtocols[p];
                   save_adversarial(path, m.reports[p], state.attack_x, state.attack_y, o);
                   std::cout << "wrote " << path << "\n";
                 }
             }
           }},
          {"Robustness curves and adversarial examples",
           "Accuracy against eps for both models under both evaluations, with the certified accuracy "
           "of the non-expansive one (a guarantee: no attack can push the robust curve below it). "
           "Then a grid: test images, and the smallest verified adversarial example found for each "
           "model, with its l2 norm.",
           [&](Context& ctx) {
             LinePlot plot;
             plot.title = "robustness to ℓ2 attacks" + std::string(state.data.synthetic ? " (synthetic data)" : "");
             plot.x_label = "ε (ℓ2 norm of the perturbation)";
             plot.y_label = "accuracy";
             plot.y_range = std::make_pair(0.0, 1.0);
             const Marker markers[2][2] = {{Marker::Circle, Marker::Cross}, {Marker::Triangle, Marker::Plus}};
             for (size_t mi = 0; mi < state.models.size(); ++mi)
               for (int p = 0; p < 2; ++p)
                 if (state.run_protocol[p])
                   plot.add(state.models[mi].name + (p == 0 ? " (strong)" : " (chapter's PGD)"), state.setup.eps,
                            state.models[mi].reports[p].accuracy, markers[mi][p]);
             plot.add("non-expansive (certified)", state.setup.eps, state.certified, Marker::Square);
             plot.save(ctx.out_path("ch08_robustness.png"));
             // the smallest verified adversarial examples of the first images
             const int p = state.run_protocol[0] ? 0 : 1;
             const int64_t k = std::min<int64_t>(8, state.attack_x.size(0));
             const Tensor x = state.attack_x.narrow(0, 0, k), y = state.attack_y.narrow(0, 0, k);
             const std::vector<int64_t> labels = y.to_int64();
             std::vector<Tensor> rows = {x};
             CaptionedImageGrid grid;
             const auto& names = state.data.test.class_names;
             for (int64_t i = 0; i < k; ++i) grid.captions.push_back(names[labels[i]]);
             grid.caption_colors.assign(k, Color{0, 0, 0});
             for (Model& m : state.models) {
               const Tensor adv = m.reports[p].adversarial.narrow(0, 0, k);
               const std::vector<int64_t> pred = argmax(predict_logits(*m.net, adv), 1).to_int64();
               rows.push_back(adv);
               for (int64_t i = 0; i < k; ++i) {
                 const double r = m.reports[p].min_norm[i];
                 std::ostringstream caption;
                 caption << m.short_name << ": " << names[pred[i]];
                 if (std::isfinite(r) && r > 0) caption << std::setprecision(2) << " |δ| " << r;
                 grid.captions.push_back(caption.str());
                 grid.caption_colors.push_back(pred[i] == labels[i] ? Color{0, 120, 0} : Color{200, 0, 0});
               }
             }
             grid.images = concat(rows, 0);
             grid.columns = k;
             grid.title = std::string("top: test images; then the smallest adversarial example found (") +
                          attack_protocol_name(kProtocols[p]) + ") for the ResNet and the non-expansive network";
             grid.save(ctx.out_path("ch08_adversarial_examples.png"));
             std::cout << "wrote " << ctx.out_path("ch08_robustness.png") << " and "
                       << ctx.out_path("ch08_adversarial_examples.png") << "\n";
           }},
          {"Results",
           "The table of the experiment; also written to ch08_results.csv (accuracies in [0, 1]; nan where "
           "an evaluation was not run).",
           [&](Context& ctx) {
             std::ostringstream table;
             const std::vector<std::string> columns = {"eps", "resnet_chapter", "resnet_strong", "nonexpansive_chapter",
                                                       "nonexpansive_strong", "certified"};
             for (size_t c = 0; c < columns.size(); ++c) table << std::left << std::setw(c == 0 ? 8 : 22) << columns[c];
             table << "\n";
             CsvLog csv(ctx.out_path("ch08_results.csv"));
             for (size_t i = 0; i < state.setup.eps.size(); ++i) {
               table << std::setw(8) << state.setup.eps[i];
               Metrics row = {{columns[0], state.setup.eps[i]}};
               for (const Model& m : state.models)
                 for (int p : {1, 0}) {  // chapter, then strong, as in the header
                   const bool ran = state.run_protocol[p];
                   table << std::setw(22) << (ran ? percent(m.reports[p].accuracy[i]) + " %" : "-");
                   row.push_back({columns[row.size()], ran ? m.reports[p].accuracy[i] : NAN});
                 }
               table << percent(state.certified[i]) << " %\n";
               row.push_back({columns[row.size()], state.certified[i]});
               csv.write(row);
             }
             for (const Model& m : state.models) {
               table << m.name << ": clean test accuracy " << percent(m.clean) << " %, Lipschitz bound "
                     << std::setprecision(7) << m.lipschitz << ", training "
                     << (m.loaded ? "loaded" : format_duration(m.train_seconds));
               for (int p = 0; p < 2; ++p)
                 if (state.run_protocol[p])
                   table << ", " << attack_protocol_name(kProtocols[p]) << " evaluation "
                         << format_duration(m.attack_seconds[p]);
               table << "\n";
             }
             std::cout << table.str();
             record_results(ctx);
             if (state.data.synthetic)
               std::cout << "\n(Synthetic data: Fashion-MNIST was not found, these are not the book's numbers.)\n";
           }},
      });
}
