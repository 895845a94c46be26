// notebooks_cpp/ch03_training.cpp — chapter 3, "Training a network": an MLP (784-256-256-10, ReLU)
// on Fashion-MNIST with Adam and a cosine learning-rate decay: the training loop written out, then
// the Trainer (the same loop with a progress bar, CSV log and checkpoints), loss and accuracy curves,
// the misclassified test images, reloading a checkpoint, and what a diverging run looks like.
// Without the data it runs on the synthetic shapes.
// Read along in book/03-training.md. Run: build/notebooks_cpp/ch03_training [--step] [--smoke]
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

#include "io/safetensors.h"
#include "datasets/datasets.h"
#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/losses.h"
#include "plot/image_grid_plot.h"
#include "plot/plot.h"
#include "train/checkpoint.h"
#include "train/trainer.h"
#include "notebooks_cpp/harness.h"

using namespace stablenn;
using stablenn::notebook::Cell;
using stablenn::notebook::Context;

namespace {

// What the cells share: the data, the model, the training history.
struct Chapter {
  bool have_data = false, real_data = false;
  Dataset train, test;
  double loop_accuracy = 0;  // the hand-written loop's model (cell 3)
  std::vector<double> mean, std;
  std::shared_ptr<Sequential> model;
  bool trained = false;
  TrainResult result;
  EvalResult test_eval;
  int64_t epochs = 0;
  double train_seconds = 0;
};
Chapter state;

// The trained MLP's checkpoint (after the data is loaded): its name changes with everything that
// changes the weights, so a --smoke run's file is never reused by a full run.
std::string checkpoint_path(const Context& ctx) {
  std::ostringstream config;
  config << state.train.name << " " << state.train.size() << (state.real_data ? "" : " synthetic") << " epochs "
         << ctx.int_flag("epochs", ctx.pick(10, 2)) << " batch " << ctx.int_flag("batch", 128) << " lr "
         << ctx.double_flag("lr", 1e-3) << " seed " << ctx.seed;
  return notebook::checkpoint_for(ctx, "ch03_mlp", config.str());
}

// ---- cell 1: the data ----
void ensure_data(Context& ctx) {
  if (state.have_data) return;
  const TrainTestData data = notebook::real_or_synthetic(
      "Fashion-MNIST",
      [&] {
        TrainTestData real;
        real.train = load_fashion_mnist(Split::Train, ctx.data_dir,
                                        ctx.smoke ? Subset::first(2000, true) : Subset::all());
        real.test = load_fashion_mnist(Split::Test, ctx.data_dir,
                                       ctx.smoke ? Subset::first(500, true) : Subset::all());
        return real;
      },
      [&] {
        TrainTestData synthetic;
        Generator g(ctx.seed + 1);
        synthetic.train = make_shapes(ctx.pick(20000, 2000), g);
        synthetic.test = make_shapes(ctx.pick(4000, 500), g);
        synthetic.train.name = "shapes/train";
        synthetic.test.name = "shapes/test";
        return synthetic;
      });
  state.train = data.train;
  state.test = data.test;
  state.real_data = !data.synthetic;
  channel_mean_std(state.train.inputs, state.mean, state.std);
  state.have_data = true;
}

void the_data(Context& ctx) {
  ensure_data(ctx);
  const Dataset& train = state.train;
  std::cout << "  " << train.name << ": " << train.size() << " images " << shape_str(train.inputs.shape())
            << ", " << state.test.name << ": " << state.test.size() << " images\n";
  const std::vector<int64_t> counts = class_counts(train);
  for (int64_t k = 0; k < train.num_classes(); ++k)
    std::cout << "    " << k << " " << std::left << std::setw(16) << train.class_names[static_cast<size_t>(k)]
              << std::right << std::setw(6) << counts[static_cast<size_t>(k)] << " training images\n";
  std::cout << std::setprecision(4) << "  pixel mean " << state.mean[0] << ", std " << state.std[0]
            << ": the loader subtracts and divides by them, so the inputs are centred with unit variance\n";
  // Four examples of every class.
  std::vector<int64_t> picks;
  const std::vector<int64_t> labels = train.labels.to_int64();
  for (int64_t k = 0; k < train.num_classes(); ++k) {
    int64_t found = 0;
    for (size_t i = 0; i < labels.size() && found < 4; ++i)
      if (labels[i] == k) picks.push_back(static_cast<int64_t>(i)), ++found;
  }
  CaptionedImageGrid grid;
  const Dataset examples = select_examples(train, picks);
  grid.images = examples.inputs;
  for (int64_t label : examples.labels.to_int64()) grid.captions.push_back(train.class_names[static_cast<size_t>(label)]);
  grid.columns = 8;
  grid.title = "training examples";
  const std::string path = ctx.out_path("ch03_examples.png");
  grid.save(path);
  std::cout << "  wrote " << path << "\n";
}

// ---- cell 2: the model ----
std::shared_ptr<Sequential> make_mlp(Generator& g) {
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Flatten>(), std::make_shared<Linear>(784, 256, true, g), ReLU(),
      std::make_shared<Linear>(256, 256, true, g), ReLU(), std::make_shared<Linear>(256, 10, true, g)});
}

void the_model(Context& ctx) {
  Generator g(ctx.seed);
  state.model = make_mlp(g);
  state.trained = false;
  std::cout << state.model->summary({1, 1, 28, 28});
  std::cout << "  Linear(784 -> 256) holds 784*256 weights + 256 biases = 200,960 parameters; the weights\n"
               "  start uniform in +-1/sqrt(784) (PyTorch's default), so each layer roughly keeps the scale\n"
               "  of its input.\n";
}

// ---- cell 3: training ----
LoaderOptions loader_options(const Context& ctx, int64_t batch, bool shuffle) {
  LoaderOptions options;
  options.batch_size = batch;
  options.shuffle = shuffle;
  options.seed = ctx.seed;
  options.mean = state.mean;
  options.std = state.std;
  return options;
}

// ---- cell 3: the training loop, written out ----
void training_loop(Context& ctx) {
  ensure_data(ctx);
  Generator g(ctx.seed);
  const std::shared_ptr<Sequential> model = make_mlp(g);  // the same start as cell 2's model
  const DataLoader train(state.train, loader_options(ctx, 128, true));
  Adam adam(model->parameters(), 1e-3);
  EpochReader batches = train.epoch(0);  // one epoch: every training image once, shuffled
  Batch batch;
  for (int64_t step = 1; batches.next(batch); ++step) {
    adam.zero_grad();                                      // forget the last step's gradients
    const Var logits = (*model)(Var(batch.inputs));        // forward: [128, 10] scores
    const Var loss = cross_entropy(logits, batch.labels);  // one number: how wrong
    SNN_CHECK(std::isfinite(loss.item()), "step ", step, ": the loss is ", loss.item(),
              "; stopping before it reaches the weights");  // finite check
    backward(loss);                                        // d loss / d every parameter
    adam.step();                                           // move each parameter downhill
    if (step % 100 == 0 || step == train.num_batches())
      std::cout << "  step " << std::setw(4) << step << "  loss " << std::setprecision(4) << loss.item() << "\n";
  }
  state.loop_accuracy = evaluate(*model, DataLoader(state.test, loader_options(ctx, 1000, false)), nullptr).accuracy;
  std::cout << "  after one epoch: test accuracy " << std::setprecision(4) << 100 * state.loop_accuracy << " %\n";
}

// ---- cell 4: the Trainer ----
void train_model(Context& ctx) {
  ensure_data(ctx);
  if (!state.model) the_model(ctx);
  state.epochs = ctx.int_flag("epochs", ctx.pick(10, 2));
  const int64_t batch = ctx.int_flag("batch", 128);
  const double lr = ctx.double_flag("lr", 1e-3);
  const DataLoader train(state.train, loader_options(ctx, batch, true));
  const DataLoader test(state.test, loader_options(ctx, 1000, false));
  Adam adam(state.model->parameters(), lr);
  // Cosine decay from lr to 0 over all steps: large steps early, fine ones at the end.
  adam.set_schedule(cosine_schedule(lr, state.epochs * train.num_batches()));
  Trainer trainer(*state.model, adam);
  trainer.options.epochs = state.epochs;
  trainer.options.checkpoint_path = checkpoint_path(ctx);
  trainer.options.csv_path = checkpoint_path(ctx) + ".csv";
  std::cout << "  Adam, lr " << lr << " with cosine decay, batch " << batch << ", " << state.epochs
            << " epochs of " << train.num_batches() << " batches\n";
  const auto start = std::chrono::steady_clock::now();
  // Reuses the checkpoint of an earlier run (or resumes one stopped by Ctrl-C) unless --retrain.
  state.result = notebook::fit_or_resume(ctx, trainer, train, &test);
  state.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  SNN_CHECK(!state.result.diverged, "training diverged: ", state.result.message);
  // Epochs an earlier run trained count with the time they took then (the CSV log keeps it).
  state.train_seconds = std::max(state.train_seconds, logged_training_seconds(state.result));
  state.test_eval = evaluate(*state.model, test, nullptr);
  state.trained = true;
  std::cout << "  wrote " << trainer.options.csv_path << " and " << trainer.options.checkpoint_path << "\n";
}

// For cells run on their own (--cell N): the trained model of this run, or of an earlier run's
// checkpoint when it fits, or a fresh training.
void ensure_trained(Context& ctx) {
  if (state.trained) return;
  ensure_data(ctx);
  notebook::load_or_train(
      checkpoint_path(ctx),
      [&] {
        Generator g(ctx.seed);
        state.model = make_mlp(g);
        load_checkpoint(checkpoint_path(ctx), *state.model);
        state.test_eval = evaluate(*state.model, DataLoader(state.test, loader_options(ctx, 1000, false)), nullptr);
        state.trained = true;
      },
      [&] { train_model(ctx); });
}

// ---- cell 5: curves ----
void curves(Context& ctx) {
  ensure_trained(ctx);
  const auto& history = state.result.history;
  if (history.empty()) {
    std::cout << "  (no training history in this run: run the training cell to draw the curves)\n";
    return;
  }
  std::vector<double> train_loss, test_loss, train_acc, test_acc;
  for (const auto& row : history) {
    train_loss.push_back(row.train_loss), test_loss.push_back(row.test_loss);
    train_acc.push_back(100 * row.train_accuracy), test_acc.push_back(100 * row.test_accuracy);
  }
  LinePlot loss;
  loss.title = "cross-entropy";
  loss.x_label = "epoch";
  loss.y_label = "loss";
  loss.add("train", train_loss, Marker::Circle).add("test", test_loss, Marker::Square);
  LinePlot acc;
  acc.title = "accuracy";
  acc.x_label = "epoch";
  acc.y_label = "% correct";
  acc.add("train", train_acc, Marker::Circle).add("test", test_acc, Marker::Square);
  Canvas canvas(2 * loss.width, loss.height);
  loss.draw(canvas, 0, 0, loss.width, loss.height);
  acc.draw(canvas, loss.width, 0, acc.width, acc.height);
  const std::string path = ctx.out_path("ch03_curves.png");
  canvas.save_png(path);
  std::cout << "  epoch   train loss  test loss   train acc  test acc   seconds\n";
  for (const auto& row : history)
    std::printf("  %5lld   %9.4f   %9.4f   %8.2f%%  %7.2f%%   %7.1f\n", static_cast<long long>(row.epoch),
                row.train_loss, row.test_loss, 100 * row.train_accuracy, 100 * row.test_accuracy, row.seconds);
  std::cout << "  wrote " << path << "\n";
  std::ostringstream table;
  table << "| epoch | train loss | test loss | train accuracy | test accuracy |\n|---|---|---|---|---|\n"
        << std::fixed;
  for (const auto& row : history)
    table << "| " << row.epoch << " | " << std::setprecision(3) << row.train_loss << " | " << row.test_loss
          << " | " << std::setprecision(1) << 100 * row.train_accuracy << " % | " << 100 * row.test_accuracy
          << " % |\n";
  ctx.result_table("epochs", table.str());
  ctx.result("train_accuracy.final", 100 * history.back().train_accuracy, "%.0f");
  const double gap = history.back().train_accuracy - history.back().test_accuracy;
  std::cout << std::setprecision(3) << "  train - test accuracy gap: " << 100 * gap << " points"
            << (gap > 0 ? ": the network fits its training set better than it generalises.\n"
                        : ": no gap yet (the training numbers average over the epoch's improving network).\n");
}

// ---- cell 6: mistakes ----
void mistakes(Context& ctx) {
  ensure_trained(ctx);
  const Dataset& test = state.test;
  const std::vector<int64_t> labels = test.labels.to_int64();
  const std::vector<int64_t>& predicted = state.test_eval.predictions;
  const int64_t k = test.num_classes();
  std::vector<int64_t> confusion(static_cast<size_t>(k * k), 0), wrong;
  for (size_t i = 0; i < labels.size(); ++i) {
    ++confusion[static_cast<size_t>(labels[i] * k + predicted[i])];
    if (predicted[i] != labels[i]) wrong.push_back(static_cast<int64_t>(i));
  }
  std::cout << "  " << wrong.size() << " of " << labels.size() << " test images are misclassified ("
            << std::setprecision(4) << 100.0 * double(wrong.size()) / double(labels.size()) << " %)\n";
  std::cout << "  confusion matrix (rows: true class, columns: predicted):\n       ";
  for (int64_t j = 0; j < k; ++j) std::cout << std::setw(6) << j;
  std::cout << "\n";
  for (int64_t i = 0; i < k; ++i) {
    std::cout << "    " << std::setw(2) << i << " ";
    for (int64_t j = 0; j < k; ++j) std::cout << std::setw(6) << confusion[static_cast<size_t>(i * k + j)];
    std::cout << "   " << test.class_names[static_cast<size_t>(i)] << "\n";
  }
  ctx.result_text("wrong", stablenn::notebook::thousands(static_cast<int64_t>(wrong.size())));
  ctx.result_text("test_size", stablenn::notebook::thousands(static_cast<int64_t>(labels.size())));
  // The hardest class: the lowest share of its images right, and what it is taken for most.
  int64_t hardest = 0, confused_with = 0;
  auto row_total = [&](int64_t i) {
    int64_t n = 0;
    for (int64_t j = 0; j < k; ++j) n += confusion[static_cast<size_t>(i * k + j)];
    return std::max<int64_t>(n, 1);
  };
  auto right = [&](int64_t i) { return double(confusion[static_cast<size_t>(i * k + i)]) / double(row_total(i)); };
  for (int64_t i = 1; i < k; ++i)
    if (right(i) < right(hardest)) hardest = i;
  for (int64_t j = 0; j < k; ++j)
    if (j != hardest && (confused_with == hardest ||
                         confusion[static_cast<size_t>(hardest * k + j)] >
                             confusion[static_cast<size_t>(hardest * k + confused_with)]))
      confused_with = j;
  ctx.result_text("hardest_class", test.class_names[static_cast<size_t>(hardest)]);
  ctx.result("hardest_class.accuracy", 100 * right(hardest), "%.0f");
  ctx.result_text("hardest_class.confused_with", test.class_names[static_cast<size_t>(confused_with)]);
  if (wrong.empty()) return;
  wrong.resize(std::min<size_t>(wrong.size(), 32));
  CaptionedImageGrid grid;
  grid.images = select_examples(test, wrong).inputs;
  for (int64_t i : wrong) {
    grid.captions.push_back(test.class_names[static_cast<size_t>(labels[static_cast<size_t>(i)])] + " ->\n" +
                            test.class_names[static_cast<size_t>(predicted[static_cast<size_t>(i)])]);
    grid.caption_colors.push_back(colors::kRed);
  }
  grid.columns = 8;
  grid.title = "misclassified test images: true -> predicted";
  const std::string path = ctx.out_path("ch03_mistakes.png");
  grid.save(path);
  std::cout << "  wrote " << path << "\n";
}

// ---- cell 7: checkpoints ----
void checkpoints(Context& ctx) {
  ensure_trained(ctx);
  const std::string path = checkpoint_path(ctx);
  const SafetensorsContent content = load_safetensors(path);
  std::cout << "  " << path << " holds " << content.tensors.size() << " tensors:\n";
  for (const auto& t : content.tensors)
    std::cout << "    " << std::left << std::setw(24) << t.name << std::right << std::setw(4)
              << safetensors_dtype_name(t.tensor.dtype()) << " " << shape_str(t.tensor.shape()) << "\n";
  std::cout << "  metadata:";
  for (const auto& [key, value] : content.metadata) std::cout << " " << key << "=" << value;
  std::cout << "\n";
  // A fresh network with other random weights, then the checkpoint: the same predictions.
  Generator g(ctx.seed + 99);
  auto copy = make_mlp(g);
  load_checkpoint(path, *copy);
  const DataLoader test(state.test, loader_options(ctx, 1000, false));
  const EvalResult again = evaluate(*copy, test, nullptr);
  std::cout << std::setprecision(6) << "  reloaded into a fresh network: test accuracy " << 100 * again.accuracy
            << " % (before saving: " << 100 * state.test_eval.accuracy << " %), predictions "
            << (again.predictions == state.test_eval.predictions ? "identical" : "DIFFERENT") << "\n";
  // A network of another shape is refused with a message naming the tensors.
  Generator g2(1);
  Sequential wrong({std::make_shared<Flatten>(), std::make_shared<Linear>(784, 128, true, g2), ReLU(),
                    std::make_shared<Linear>(128, 10, true, g2)});
  try {
    load_checkpoint(path, wrong);
  } catch (const Error& e) {
    std::cout << "  loading it into a 784-128-10 network fails:\n    " << e.what() << "\n";
  }
}

// ---- cell 8: divergence ----
void divergence(Context& ctx) {
  ensure_data(ctx);
  Generator g(ctx.seed + 7);
  auto model = make_mlp(g);
  const Dataset small = take_subset(state.train, Subset::first(std::min<int64_t>(2000, state.train.size())));
  const DataLoader train(small, loader_options(ctx, 128, true));
  SGD sgd(model->parameters(), 20.0, 0.9);  // a learning rate far too large
  Trainer trainer(*model, sgd);
  trainer.options.epochs = 3;
  trainer.options.checkpoint_path = ctx.out_path("ch03_diverging.safetensors");
  trainer.options.label = "lr 20";
  const TrainResult result = trainer.fit(train);
  // The book shows the message of a run with the default --out, whatever folder this run wrote to.
  std::string message = result.diverged ? result.message : "(no divergence)";
  const std::string path = trainer.options.checkpoint_path;
  if (const size_t at = message.find(path); at != std::string::npos)
    message.replace(at, path.size(), "out/ch03_diverging.safetensors");
  ctx.result_table("divergence_message", "```\n" + message + "\n```");
  ctx.result("diverged.batch", static_cast<double>(result.diverged_batch), "%.0f");
  ctx.result("diverged.epoch", static_cast<double>(result.diverged_epoch), "%.0f");
  if (!result.diverged) {
    std::cout << "  (this run did not diverge; try a larger learning rate)\n";
    return;
  }
  bool finite = true;
  for (const auto& t : model->state()) finite = finite && all_finite(t.tensor);
  std::cout << "  after the stop the model's weights are " << (finite ? "all finite" : "NOT finite")
            << ": the bad loss was caught before backward() and step() could spread it.\n";
}

// ---- cell 9: results ----
void results(Context& ctx) {
  ensure_trained(ctx);
  const bool trained_here = !state.result.history.empty();
  std::cout << "  dataset          " << state.test.name << (state.real_data ? "" : " (synthetic stand-in)") << "\n"
            << "  model            MLP 784-256-256-10, ReLU, " << state.model->num_parameters() << " parameters\n";
  if (trained_here)
    std::cout << "  training         Adam + cosine decay, " << state.epochs << " epochs, " << std::setprecision(3)
              << state.train_seconds << " s (" << std::fixed << std::setprecision(0)
              << double(state.epochs * state.train.size()) / state.train_seconds << " samples/s including evaluation)\n"
              << std::defaultfloat;
  if (trained_here) {
    ctx.result("train_seconds", state.train_seconds, "%.0f");
    ctx.result_text("samples_per_second",
                    stablenn::notebook::thousands(std::llround(double(state.epochs * state.train.size()) / state.train_seconds)));
    ctx.result("epochs", static_cast<double>(state.epochs), "%.0f");
  }
  ctx.result("test_accuracy", 100 * state.test_eval.accuracy, "%.1f");
  ctx.result("test_loss", state.test_eval.loss, "%.3f");
  std::cout << std::setprecision(4) << "  test accuracy    " << 100 * state.test_eval.accuracy << " %\n"
            << "  test loss        " << state.test_eval.loss << "\n";
  if (state.real_data && !ctx.smoke)
    std::cout << "  target           >= 88 % on Fashion-MNIST: "
              << (state.test_eval.accuracy >= 0.88 ? "reached" : "NOT reached") << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<Cell> cells = {
      {"The data",
       "Fashion-MNIST: 60,000 training and 10,000 test images of clothes, 28x28 grey levels, 10\n"
       "classes. The loader shuffles every epoch (seeded) and normalises with the training mean and std.",
       the_data},
      {"The model",
       "A multilayer perceptron: flatten the image to 784 numbers, two hidden layers of 256 ReLU units,\n"
       "10 logits. Module::summary runs one forward pass to list the output shapes.",
       the_model},
      {"The training loop",
       "Every training loop is this one: for each batch, forward, loss, check that the loss is finite,\n"
       "backward, optimiser step. One epoch of it, written out, on a fresh copy of the model.",
       training_loop},
      {"The Trainer",
       "The same loop (its step is train_step in train/trainer.cpp) plus what a long run needs: epochs\n"
       "with a cosine decay, a progress bar, a CSV log, test evaluation after each epoch and checkpoints.",
       train_model},
      {"Loss and accuracy curves",
       "The CSV log drawn as two line plots; the distance between the train and test curves is the\n"
       "generalisation gap.",
       curves},
      {"What the network gets wrong",
       "The confusion matrix and a grid of misclassified test images with 'true -> predicted' captions:\n"
       "most mistakes are between classes that look alike (shirt, T-shirt, pullover, coat).",
       mistakes},
      {"Checkpoints",
       "The weights (and the optimiser state) are one safetensors file: readable by PyTorch, written\n"
       "atomically, and checked tensor by tensor when loaded.",
       checkpoints},
      {"When training diverges",
       "SGD with a learning rate of 20: the loss explodes to infinity or NaN within a few steps. The\n"
       "Trainer stops, says where, and restores the last good checkpoint.",
       divergence},
      {"Results", "The numbers of this run in one table.", results},
  };
  return stablenn::notebook::run_chapter(
      argc, argv,
      {3, "Training a network", "book/03-training.md",
       {{"epochs", true, "training epochs (default 10; 2 with --smoke)", args::whole_number(1, 100000)},
        {"batch", true, "batch size (default 128)", args::whole_number(1, 1 << 20)},
        {"lr", true, "Adam learning rate (default 1e-3)", args::number(0, 1e6)},
        {"retrain", false, "train again even when an earlier run's checkpoint exists"}}},
      cells);
}
