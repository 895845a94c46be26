// notebooks_cpp/ch08_robustness.cpp — chapter 8, "Adversarial robustness": the chapter's toy example
// and the project's main program. An unconstrained ResNet and a non-expansive network of the same
// dense layout are trained on Fashion-MNIST and attacked in l2 (the strong, verified evaluation of
// robust/robust_eval.h, beside the chapter's weaker CE-PGD); the non-expansive one keeps more of its
// accuracy as the attack budget grows, and it carries a certificate.
// Read along in book/08-robustness.md. Run: build/notebooks_cpp/ch08_robustness [--step] [--smoke]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "datasets/fallback.h"
#include "datasets/loader.h"
#include "io/file_bytes.h"
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

struct State {
  Setup setup;
  bool run_protocol[2] = {true, true};  // --attack: strong, chapter or both
  TrainTestData data;
  Tensor attack_x, attack_y;  // the attacked test images
  std::vector<Model> models;
  std::vector<double> certified;
};

// Trains `m`, or resumes/reuses its checkpoint (which records the epochs done).
void train_or_load(Model& m, const State& st, Context& ctx) {
  TrainerOptions to;
  to.checkpoint_path = ctx.out_path(m.file);
  to.resume = !ctx.has_flag("retrain");
  to.csv_path = ctx.out_path(m.file + ".csv");
  to.label = m.name;
  const auto start = std::chrono::steady_clock::now();
  const TrainResult r = train_model(*m.net, m.loss, st.data.train, st.data.test, st.setup, ctx.seed, to);
  m.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.loaded = r.history.empty();
  SNN_CHECK(!r.diverged, m.name, ": ", r.message);
  m.net->eval();
  m.clean = accuracy(predict_logits(*m.net, st.data.test.inputs), st.data.test.labels);
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

}  // namespace

int main(int argc, char** argv) {
  using namespace stablenn::notebook;
  State st;
  return run_chapter(
      argc, argv,
      {8, "Adversarial robustness: the toy example", "book/08-robustness.md",
       {{"retrain", false, "train both models again even when their checkpoints exist"},
        {"epochs", true, "training epochs (default 30)"},
        {"train-size", true, "training images (default 30000)"},
        {"attack-size", true, "test images attacked (default 1000)"},
        {"attack", true, "strong, chapter or both (default both): which evaluation to run"},
        {"pgd-iterations", true, "iterations of the chapter's CE-PGD (default 100)"},
        {"apgd-iterations", true, "iterations per APGD run of the strong evaluation (default 100)"},
        {"restarts", true, "extra APGD-margin runs from random starts (default 1)"},
        {"save-adversarial", true, "FILE: write each model's verified adversarial examples to "
                                   "FILE with _resnet/_nonexpansive before the extension"}}},
      {
          {"Data", "A 30,000-image training subset of Fashion-MNIST (stratified, seeded) and the "
                   "test set; 1,000 test images will be attacked. Without the data files the "
                   "synthetic shapes set stands in, and the program says so.",
           [&](Context& ctx) {
             Setup& s = st.setup;
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
             const std::string attack = ctx.flag("attack", "both");
             SNN_CHECK(attack == "both" || attack == "strong" || attack == "chapter",
                       "--attack: expected strong, chapter or both, got '", attack, "'");
             st.run_protocol[0] = attack != "chapter";
             st.run_protocol[1] = attack != "strong";
             st.data = fashion_mnist_or_shapes(ctx.data_dir, s.train_count,
                                               ctx.smoke ? 512 : 0, ctx.seed);
             std::cout << st.data.note << "\n";
             const int64_t n = std::min<int64_t>(s.attack_count, st.data.test.size());
             st.attack_x = st.data.test.inputs.narrow(0, 0, n);
             st.attack_y = st.data.test.labels.narrow(0, 0, n);
             std::cout << "train " << shape_str(st.data.train.inputs.shape()) << ", test "
                       << shape_str(st.data.test.inputs.shape()) << ", attacked " << n << "\n";
           }},
          {"Two networks of the same layout",
           "Both flatten the image, lift it to 256 features, apply 5 blocks and a linear head. The "
           "ResNet's blocks are x + Bσ(Ax+b) with nothing constrained. The non-expansive network "
           "normalises lift and head to spectral norm <= 1 and uses gradient steps x - hAᵀσ(Ax+b) "
           "whose step size adapts to ‖A‖, so the whole map from pixels to logits is 1-Lipschitz.",
           [&](Context& ctx) {
             Generator g(ctx.seed + 1);
             const Setup& s = st.setup;
             const std::string tag = std::string(st.data.synthetic ? "shapes" : "fmnist") + "_" +
                                     std::to_string(s.train_count) + "_w" + std::to_string(s.width) +
                                     "_e" + std::to_string(s.epochs) + "_s" + std::to_string(ctx.seed);
             st.models.resize(2);
             st.models[0].name = st.models[0].short_name = "ResNet";
             st.models[0].key = "resnet";
             st.models[0].kind = Kind::kResNet;
             st.models[0].file = "ch08_resnet_" + tag + ".safetensors";
             st.models[0].net = make_resnet(s, g);
             st.models[1].name = "non-expansive";
             st.models[1].short_name = "non-exp";
             st.models[1].key = "nonexpansive";
             st.models[1].kind = Kind::kNonexpansive;
             st.models[1].file = "ch08_nonexpansive_" + tag + ".safetensors";
             st.models[1].net = make_nonexpansive(s, g);
             st.models[1].loss = temperature_cross_entropy(s.temperature);
             for (Model& m : st.models) std::cout << m.name << ":\n" << m.net->summary({1, 1, 28, 28});
           }},
          {"Training",
           "Adam (lr 1e-3, cosine decay), batch 128. The ResNet minimises plain cross-entropy; the "
           "1-Lipschitz network's logits move little, so its cross-entropy is taken of 16·logits. "
           "Checkpoints are written every epoch and reused on the next run.",
           [&](Context& ctx) {
             for (Model& m : st.models) train_or_load(m, st, ctx);
           }},
          {"Lipschitz bounds",
           "The bound of the non-expansive network is the product of its layers' bounds, computed "
           "from exact spectral norms; the ResNet's product bound is huge, and meaningless.",
           [&](Context&) {
             for (Model& m : st.models) {
               m.lipschitz = lipschitz_bound(*m.net);
               std::cout << m.name << ": Lipschitz bound " << m.lipschitz << "\n";
             }
             // What the guarantee costs: each Euler sub-step is two products with A (Ax, Aᵀσ).
             Sequential& ne = *st.models[1].net;
             ne.eval();
             {
               NoGrad no_grad;
               ne(Var(st.attack_x.narrow(0, 0, 1)));
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
             for (Model& m : st.models)
               for (int p = 0; p < 2; ++p) {
                 if (!st.run_protocol[p]) continue;
                 ProgressOptions po;
                 po.label = std::string(attack_protocol_name(kProtocols[p])) + " " + m.name;
                 po.step_name = "stage";
                 const int64_t stages = ((st.attack_x.size(0) + 249) / 250) * static_cast<int64_t>(st.setup.eps.size());
                 ProgressBar bar(stages, po);
                 const auto start = std::chrono::steady_clock::now();
                 m.reports[p] = evaluate_model(*m.net, m.kind, st.attack_x, st.attack_y, st.setup, kProtocols[p],
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
             const Model& ne = st.models[1];
             st.certified = certified_accuracy_curve(predict_logits(*ne.net, st.attack_x), st.attack_y,
                                                     ne.lipschitz, st.setup.eps);
             // A certificate that an attack beats would be a bug in one of them: stop, do not print it.
             if (st.run_protocol[0])
               for (size_t i = 0; i < st.setup.eps.size(); ++i)
                 SNN_CHECK(st.certified[i] <= ne.reports[0].accuracy[i], "certified accuracy ",
                           st.certified[i], " exceeds the strong attack's ", ne.reports[0].accuracy[i],
                           " at eps ", st.setup.eps[i], ": the Lipschitz bound or the attack is wrong");
             if (ctx.has_flag("save-adversarial")) {
               const std::string file = ctx.flag("save-adversarial");
               const size_t dot = file.rfind('.');
               const bool ext = dot != std::string::npos && file.find('/', dot) == std::string::npos;
               for (const Model& m : st.models)
                 for (int p = 0; p < 2; ++p) {
                   if (!st.run_protocol[p]) continue;
                   const std::string tag = "_" + m.key + (p == 1 ? "_chapter" : "");
                   const std::string path = ext ? file.substr(0, dot) + tag + file.substr(dot) : file + tag;
                   RobustnessOptions o;
                   o.protocol = kProtocols[p];
                   save_adversarial(path, m.reports[p], st.attack_x, st.attack_y, o);
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
             plot.title = "robustness to l2 attacks" + std::string(st.data.synthetic ? " (synthetic data)" : "");
             plot.x_label = "eps (l2 norm of the perturbation)";
             plot.y_label = "accuracy";
             plot.y_range = std::make_pair(0.0, 1.0);
             const Marker markers[2][2] = {{Marker::Circle, Marker::Cross}, {Marker::Triangle, Marker::Plus}};
             for (size_t mi = 0; mi < st.models.size(); ++mi)
               for (int p = 0; p < 2; ++p)
                 if (st.run_protocol[p])
                   plot.add(st.models[mi].name + (p == 0 ? " (strong)" : " (chapter's PGD)"), st.setup.eps,
                            st.models[mi].reports[p].accuracy, markers[mi][p]);
             plot.add("non-expansive (certified)", st.setup.eps, st.certified, Marker::Square);
             plot.save(ctx.out_path("ch08_robustness.png"));
             // the smallest verified adversarial examples of the first images
             const int p = st.run_protocol[0] ? 0 : 1;
             const int64_t k = std::min<int64_t>(8, st.attack_x.size(0));
             const Tensor x = st.attack_x.narrow(0, 0, k), y = st.attack_y.narrow(0, 0, k);
             const std::vector<int64_t> labels = y.to_int64();
             std::vector<Tensor> rows = {x};
             CaptionedImageGrid grid;
             const auto& names = st.data.test.class_names;
             for (int64_t i = 0; i < k; ++i) grid.captions.push_back(names[labels[i]]);
             grid.caption_colors.assign(k, Color{0, 0, 0});
             for (Model& m : st.models) {
               const Tensor adv = m.reports[p].adversarial.narrow(0, 0, k);
               const std::vector<int64_t> pred = argmax(predict_logits(*m.net, adv), 1).to_int64();
               rows.push_back(adv);
               for (int64_t i = 0; i < k; ++i) {
                 const double r = m.reports[p].min_norm[i];
                 std::ostringstream caption;
                 caption << m.short_name << ": " << names[pred[i]];
                 if (std::isfinite(r) && r > 0) caption << std::setprecision(2) << " |d| " << r;
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
          {"Results", "The table of the experiment; also written to ch08_results.csv (accuracies in [0, 1]).",
           [&](Context& ctx) {
             std::ostringstream table, csv;
             const std::vector<std::string> columns = {"eps", "resnet_chapter", "resnet_strong", "nonexpansive_chapter",
                                                       "nonexpansive_strong", "certified"};
             for (size_t c = 0; c < columns.size(); ++c) {
               table << std::left << std::setw(c == 0 ? 8 : 22) << columns[c];
               csv << (c ? "," : "") << columns[c];
             }
             table << "\n";
             csv << "\n";
             for (size_t i = 0; i < st.setup.eps.size(); ++i) {
               table << std::setw(8) << st.setup.eps[i];
               csv << st.setup.eps[i];
               for (const Model& m : st.models)
                 for (int p : {1, 0}) {  // chapter, then strong, as in the header
                   const bool ran = st.run_protocol[p];
                   table << std::setw(22) << (ran ? percent(m.reports[p].accuracy[i]) + " %" : "-");
                   csv << ",";
                   if (ran) csv << m.reports[p].accuracy[i];
                 }
               table << percent(st.certified[i]) << " %\n";
               csv << "," << st.certified[i] << "\n";
             }
             for (const Model& m : st.models) {
               table << m.name << ": clean test accuracy " << percent(m.clean) << " %, Lipschitz bound "
                     << std::setprecision(7) << m.lipschitz << ", training "
                     << (m.loaded ? "loaded" : format_duration(m.train_seconds));
               for (int p = 0; p < 2; ++p)
                 if (st.run_protocol[p])
                   table << ", " << attack_protocol_name(kProtocols[p]) << " evaluation "
                         << format_duration(m.attack_seconds[p]);
               table << "\n";
             }
             std::cout << table.str();
             const std::string path = ctx.out_path("ch08_results.csv"), text = csv.str();
             write_file_atomic(path, text.data(), text.size());
             if (st.data.synthetic) std::cout << "\n(Synthetic data: " << st.data.note.substr(0, 60) << "...)\n";
           }},
      });
}
