// bench/bench_robust_eval.cpp — chapter 8's strong robustness evaluation (robust/robust_eval.h:
// FMN, then APGD-margin / APGD-CE / APGD-margin restarts down the eps grid, every
// candidate verified by a float64 copy), timed on the chapter's two models. Twin:
// bench_robust_eval.py, which evaluates the SAME models on the SAME images: this program writes
// them into a work folder first.
//
// The models: --checkpoints DIR loads DIR/ch08_resnet_<tag>.safetensors and
// DIR/ch08_nonexpansive_<tag>.safetensors as the chapter program names them (tag
// fmnist_<train>_w<width>_e<epochs>_s0 of this run's Setup: fmnist_30000_w256_e30_s0, or
// fmnist_5000_w256_e2_s0 with --quick); without it both are trained here with ch08::train_model.
// The work folder (--work DIR, default a fresh temporary folder, printed) receives:
//   resnet.safetensors, nonexpansive.safetensors   the models (save_checkpoint: parameters and
//                                                   buffers, "<i>.eval_norm" included)
//   data.safetensors    "images" [N, 1, 28, 28] f32, "labels" [N] i64, "logits_<model>" (f32, our
//                       evaluation-mode forward) and "logits64_<model>" (the float64 verifier's);
//                       metadata: the evaluation's settings (eps grid, iterations, ...)
//   result_<model>.safetensors   our report (save_adversarial: accuracy, min_norm per image, ...),
//                       written after the timing
// Prints "BENCH robust_eval_<model> stablenn <seconds>" (one ch08::evaluate_model call, strong
// protocol, float64 copy included) and "# curve <model> <accuracy % at each eps>".
// Usage: build/bench/bench_robust_eval [--quick] [--threads N] [--data-dir DIR] [--checkpoints DIR]
//                                      [--work DIR] [--apgd-iterations N] [--restarts N] [--min-norm-steps N]
// The last three change the strong protocol's budget (default: the chapter's, Setup in ch08_models.h).
// --quick: 5,000 training images and 2 epochs (when training), 200 attacked images (the twin reads
// the count from the work folder). The attack's settings are the chapter's in both modes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "datasets/fallback.h"
#include "io/safetensors.h"
#include "train/checkpoint.h"
#include "bench/bench_util.h"
#include "notebooks_cpp/ch08_models.h"

using namespace stablenn;
using namespace stablenn::bench;
using namespace stablenn::ch08;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

const char* kUsage =
    "[--quick] [--threads N] [--data-dir DIR] [--checkpoints DIR] [--work DIR] [--apgd-iterations N] "
    "[--restarts N] [--min-norm-steps N]";

std::string join(const std::vector<double>& v) {
  std::ostringstream os;
  os.precision(17);
  for (size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
  return os.str();
}

}  // namespace

int main(int argc, char** argv) {
  // --checkpoints, --work and the attack's settings are this benchmark's own flags.
  const auto args = parse_bench_args(argc, argv, kUsage, {},
                                     {{"checkpoints", true}, {"work", true}, {"apgd-iterations", true},
                                      {"restarts", true}, {"min-norm-steps", true}});
  const auto given = [&](const std::string& name) {
    const auto it = args.extra.find(name);
    return it == args.extra.end() ? std::string() : it->second;
  };
  std::string checkpoints = given("checkpoints"), work = given("work");
  Setup s;
  try {
    for (const auto& [name, target] : std::vector<std::pair<std::string, int64_t*>>{
             {"apgd-iterations", &s.apgd_iterations}, {"restarts", &s.restarts}, {"min-norm-steps", &s.min_norm_steps}})
      if (args.extra.count(name)) *target = stablenn::args::parse_int("--" + name, given(name), 0, 100000);
  } catch (const stablenn::args::UsageError& e) {
    std::fprintf(stderr, "%s: %s\nusage: %s %s\n", argv[0], e.what(), argv[0], kUsage);
    return 2;
  }
  if (args.quick) {
    s.train_count = 5000; s.epochs = 2; s.attack_count = 200;
  }
  if (work.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "stablenn_robust_eval_XXXXXX").string();
    SNN_CHECK(mkdtemp(pattern.data()) != nullptr, "bench_robust_eval: cannot create a temporary folder");
    work = pattern;
  }
  std::filesystem::create_directories(work);
  std::printf("# work folder: %s\n", work.c_str());
  std::fflush(stdout);  // the lines before the BENCH ones come minutes apart

  TrainTestData data;
  try {
    data = fashion_mnist_or_shapes(args.data_dir, s.train_count, 0, 0);
  } catch (const Error& broken) {  // present but unreadable; absent files give the shapes set
    exit_on_broken_data(broken);
  }
  if (data.synthetic) std::cerr << "# " << data.note.substr(0, data.note.find('\n')) << "\n";
  const int64_t n = std::min<int64_t>(s.attack_count, data.test.size());
  const Tensor x = data.test.inputs.narrow(0, 0, n).contiguous();
  const Tensor y = data.test.labels.narrow(0, 0, n).contiguous();
  const std::string tag = std::string(data.synthetic ? "shapes" : "fmnist") + "_" + std::to_string(s.train_count) +
                          "_w" + std::to_string(s.width) + "_e" + std::to_string(s.epochs) + "_s0";

  struct Run {
    const char* name;
    Kind kind;
    std::shared_ptr<Sequential> net;
    LossFunction loss;
  };
  Generator g(1);  // the chapter program's seed is --seed + 1; the weights come from training or the file
  std::vector<Run> runs = {{"resnet", Kind::kResNet, make_resnet(s, g), nullptr},
                           {"nonexpansive", Kind::kNonexpansive, make_nonexpansive(s, g),
                            temperature_cross_entropy(s.temperature)}};
  std::vector<NamedTensor> data_file = {{"images", x}, {"labels", y}};
  for (Run& r : runs) {
    if (!checkpoints.empty()) {
      const std::string path = checkpoints + "/ch08_" + r.name + "_" + tag + ".safetensors";
      load_checkpoint(path, *r.net);
      std::printf("# %s: loaded %s\n", r.name, path.c_str());
    } else {
      TrainerOptions to;
      to.out = nullptr;  // silent
      const auto start = std::chrono::steady_clock::now();
      const TrainResult result = train_model(*r.net, r.loss, data.train, data.test, s, 0, to);
      SNN_CHECK(!result.diverged, r.name, ": ", result.message);
      std::printf("# %s: trained on %lld images for %lld epochs in %.1f s\n", r.name,
                  static_cast<long long>(s.train_count), static_cast<long long>(s.epochs), seconds_since(start));
    }
    r.net->eval();
    const Tensor logits = predict_logits(*r.net, x);  // also fills the eval_norm buffers before the save
    const std::shared_ptr<Module> verifier = float64_copy(*r.net, builder(r.kind, s));
    const Tensor logits64 = predict_logits(*verifier, x.to(DType::Float64));
    std::printf("# %s: clean accuracy on the %lld attacked images %.1f %%\n", r.name, static_cast<long long>(n),
                100 * accuracy(logits, y));
    if (r.kind == Kind::kNonexpansive) {
      std::printf("# %s: Euler sub-steps per block in evaluation:", r.name);
      for (int64_t k : ch07::substeps_per_block(*r.net)) std::printf(" %lld", static_cast<long long>(k));
      std::printf("\n");
    }
    save_checkpoint(work + "/" + r.name + ".safetensors", *r.net);
    std::fflush(stdout);
    data_file.push_back({std::string("logits_") + r.name, logits});
    data_file.push_back({std::string("logits64_") + r.name, logits64});
  }
  save_safetensors(work + "/data.safetensors", data_file,
                   {{"eps", join(s.eps)},
                    {"apgd_iterations", std::to_string(s.apgd_iterations)},
                    {"restarts", std::to_string(s.restarts)},
                    {"min_norm_steps", std::to_string(s.min_norm_steps)},
                    {"batch_size", "250"},
                    {"width", std::to_string(s.width)},
                    {"blocks", std::to_string(s.blocks)},
                    {"tag", tag}});
  std::fflush(stdout);

  for (Run& r : runs) {
    const auto start = std::chrono::steady_clock::now();
    const RobustnessReport report = evaluate_model(*r.net, r.kind, x, y, s, AttackProtocol::kStrong);
    std::printf("BENCH robust_eval_%s stablenn %.3f\n", r.name, seconds_since(start));
    std::printf("# curve %s", r.name);
    for (double a : report.accuracy) std::printf(" %.1f", 100 * a);
    std::printf("\n# %s: %lld candidate(s) rejected by the float64 verifier; broken first by:", r.name,
                static_cast<long long>(report.rejected));
    for (size_t a = 0; a < report.found_by.size(); ++a)
      std::printf(" %s %lld;", report.found_by_names[a].c_str(), static_cast<long long>(report.found_by[a]));
    std::printf("\n");
    RobustnessOptions o;
    o.protocol = AttackProtocol::kStrong;
    save_adversarial(work + "/result_" + r.name + ".safetensors", report, x, y, o);
    std::fflush(stdout);
  }
  return 0;
}
