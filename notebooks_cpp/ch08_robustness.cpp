// notebooks_cpp/ch08_robustness.cpp — chapter 8, "Adversarial robustness": the chapter's toy example
// and the project's main program. An unconstrained ResNet and a non-expansive network of the same
// dense layout are trained on Fashion-MNIST and attacked with l2-PGD; the non-expansive one keeps
// more of its accuracy as the attack budget grows, and it carries a certificate.
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
#include "layers/activations.h"
#include "layers/attacks.h"
#include "layers/certificates.h"
#include "layers/checkpoint.h"
#include "layers/gradient_step_block.h"
#include "layers/image_grid_plot.h"
#include "layers/linear.h"
#include "layers/lipschitz.h"
#include "layers/losses.h"
#include "layers/norm_layers.h"
#include "layers/plot.h"
#include "layers/progress.h"
#include "layers/trainer.h"
#include "notebooks_cpp/ch08_models.h"
#include "notebooks_cpp/harness.h"

using namespace stablenn;
using stablenn::notebook::Context;
using namespace stablenn::ch08;

namespace {

struct Model {
  std::string name;        // "ResNet" or "non-expansive"
  std::string short_name;  // for captions
  std::string file;  // checkpoint
  std::shared_ptr<Sequential> net;
  LossFunction loss;
  double train_seconds = 0, attack_seconds = 0, clean = 0, lipschitz = NAN;
  bool loaded = false;
  std::vector<double> robust;  // accuracy at each eps
};

struct State {
  Setup setup;
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
        {"pgd-iterations", true, "PGD iterations (default 100)"}}},
      {
          {"Data", "A 30,000-image training subset of Fashion-MNIST (stratified, seeded) and the "
                   "test set; 1,000 test images will be attacked. Without the data files the "
                   "synthetic shapes set stands in, and the program says so.",
           [&](Context& ctx) {
             Setup& s = st.setup;
             if (ctx.smoke) {
               s.train_count = 1024; s.attack_count = 64; s.epochs = 2; s.width = 64;
               s.blocks = 2; s.pgd_iterations = 5; s.eps = {0, 0.5, 1.0};
             }
             s.epochs = ctx.int_flag("epochs", s.epochs);
             s.train_count = ctx.int_flag("train-size", s.train_count);
             s.attack_count = ctx.int_flag("attack-size", s.attack_count);
             s.pgd_iterations = ctx.int_flag("pgd-iterations", s.pgd_iterations);
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
             st.models[0].file = "ch08_resnet_" + tag + ".safetensors";
             st.models[0].net = make_resnet(s, g);
             st.models[1].name = "non-expansive";
             st.models[1].short_name = "non-exp";
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
          {"Attacks", "l2-PGD with random start, step 2.5·eps/iterations, projected onto the eps-ball "
                      "and clipped to [0, 1], at eps = 0 and eight values up to 1.",
           [&](Context&) {
             for (Model& m : st.models) {
               const int64_t batches = (st.attack_x.size(0) + 249) / 250;
               const int64_t per_batch = std::min<int64_t>(250, st.attack_x.size(0));  // images
               ProgressOptions po;
               po.label = "PGD " + m.name;
               ProgressBar bar(batches * static_cast<int64_t>(st.setup.eps.size()), po);
               const auto start = std::chrono::steady_clock::now();
               m.robust = attack_model(*m.net, st.attack_x, st.attack_y, st.setup,
                                       [&](int64_t done, int64_t) { bar.update(done, per_batch, {}); });
               bar.finish({});
               m.attack_seconds =
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
             }
             const Model& ne = st.models[1];
             st.certified = certified_accuracy_curve(predict_logits(*ne.net, st.attack_x), st.attack_y,
                                                     ne.lipschitz, st.setup.eps);
           }},
          {"Robustness curves and adversarial examples",
           "Accuracy against eps for both models, with the certified accuracy of the non-expansive "
           "one (a guarantee: no attack can push the robust curve below it). Then a grid: test "
           "images, and what PGD at the largest eps made of them for each model.",
           [&](Context& ctx) {
             LinePlot plot;
             plot.title = "l2-PGD robustness" + std::string(st.data.synthetic ? " (synthetic data)" : "");
             plot.x_label = "eps (l2)";
             plot.y_label = "accuracy";
             plot.y_range = std::make_pair(0.0, 1.0);
             for (const Model& m : st.models) plot.add(m.name + " (PGD)", st.setup.eps, m.robust, Marker::Circle);
             plot.add("non-expansive (certified)", st.setup.eps, st.certified, Marker::Square);
             plot.save(ctx.out_path("ch08_robustness.png"));
             // adversarial examples at the largest eps
             PgdOptions o;
             o.eps = st.setup.eps.back();
             o.iterations = static_cast<int>(st.setup.pgd_iterations);
             const int64_t k = std::min<int64_t>(8, st.attack_x.size(0));
             const Tensor x = st.attack_x.narrow(0, 0, k), y = st.attack_y.narrow(0, 0, k);
             std::vector<Tensor> rows = {x};
             CaptionedImageGrid grid;
             const auto& names = st.data.test.class_names;
             for (int64_t i = 0; i < k; ++i) grid.captions.push_back(names[y.to_int64()[i]]);
             grid.caption_colors.assign(k, Color{0, 0, 0});
             for (Model& m : st.models) {
               const AttackResult r = pgd(*m.net, x, y, o);
               const std::vector<int64_t> pred = argmax(predict_logits(*m.net, r.adversarial), 1).to_int64();
               rows.push_back(r.adversarial);
               for (int64_t i = 0; i < k; ++i) {
                 grid.captions.push_back(m.short_name + ": " + names[pred[i]]);
                 grid.caption_colors.push_back(pred[i] == y.to_int64()[i] ? Color{0, 120, 0} : Color{200, 0, 0});
               }
             }
             grid.images = concat(rows, 0);
             grid.columns = k;
             std::ostringstream title;
             title << "top: test images; then l2-PGD at eps = " << o.eps
                   << " against the ResNet and the non-expansive network";
             grid.title = title.str();
             grid.save(ctx.out_path("ch08_adversarial_examples.png"));
             std::cout << "wrote " << ctx.out_path("ch08_robustness.png") << " and "
                       << ctx.out_path("ch08_adversarial_examples.png") << "\n";
           }},
          {"Results", "The table of the experiment; also written to ch08_results.csv.",
           [&](Context& ctx) {
             std::ostringstream table, csv;
             table << std::left << std::setw(16) << "eps";
             csv << "eps";
             for (const Model& m : st.models) { table << std::setw(16) << m.name; csv << "," << m.name; }
             table << "certified\n";
             csv << ",certified\n";
             for (size_t i = 0; i < st.setup.eps.size(); ++i) {
               table << std::setw(16) << st.setup.eps[i];
               csv << st.setup.eps[i];
               for (const Model& m : st.models) { table << std::setw(16) << percent(m.robust[i]) + " %"; csv << "," << m.robust[i]; }
               table << percent(st.certified[i]) << " %\n";
               csv << "," << st.certified[i] << "\n";
             }
             for (const Model& m : st.models)
               table << m.name << ": clean test accuracy " << percent(m.clean) << " %, Lipschitz bound "
                     << m.lipschitz << ", training " << (m.loaded ? "loaded" : format_duration(m.train_seconds))
                     << ", attacks " << format_duration(m.attack_seconds) << "\n";
             std::cout << table.str();
             const std::string path = ctx.out_path("ch08_results.csv");
             {
               std::ofstream f(path + ".tmp");
               f << csv.str();
               SNN_CHECK(f.good(), "could not write ", path + ".tmp");
             }
             SNN_CHECK(std::rename((path + ".tmp").c_str(), path.c_str()) == 0, "could not rename ",
                       path + ".tmp", " to ", path);
             if (st.data.synthetic) std::cout << "\n(Synthetic data: " << st.data.note.substr(0, 60) << "...)\n";
           }},
      });
}
