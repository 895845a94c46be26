// robust/robust_eval.h — the robustness evaluation behind every robust-accuracy number the project
// prints (chapter 8).
//
// Robust accuracy at ε is the fraction of images for which NO perturbation of norm <= ε changes the
// prediction. An attack only finds perturbations, so the number it gives is an upper estimate, and a
// weak attack overstates robustness. The strong protocol therefore combines attacks that fail
// differently and keeps every success:
//   1. a minimum-norm attack (FMN) on every correctly classified image: its smallest adversarial
//      example breaks the image at every ε >= its norm;
//   2. for each ε from the largest down, on the images not known broken at ε: APGD with the margin
//      loss started from the smallest example known projected onto the ε-ball, APGD with
//      cross-entropy from a random start, and `restarts` more margin runs from random starts
//      (each run only on the images the runs before it left unbroken).
// The curve comes from each image's smallest verified example: an image broken at ε is broken at
// every larger ε, so it is monotone by construction. An image that resists every run at ε counts as
// robust there and at every smaller ε without being attacked again (any example inside a smaller
// ball lies inside the ε-ball too); an image broken at ε is attacked again at the next smaller ε.
// So a robust image costs one failed round of runs, not one round per ε of the grid.
// Nothing counts unverified: a candidate counts only when ‖δ‖ <= ε (+ 1e-6), its pixels lie in
// [lo, hi], and a fresh forward pass of the VERIFIER (the same network in float64) misclassifies it.
// The chapter's protocol (CE-PGD, 100 iterations, step 2.5ε/100, one random start, each ε on its
// own) stays available to show by how much it overstates.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "robust/attacks.h"

namespace stablenn {

// Chapter 8: which attacks the evaluation runs.
enum class AttackProtocol {
  kStrong,   // FMN, then APGD-margin and APGD-CE with restarts down the eps grid (see above)
  kChapter,  // CE-PGD, random start, step 2.5ε/iterations, every ε separately
};
// Chapter 8: "strong" / "chapter", and back (throws on anything else, listing the choices).
const char* attack_protocol_name(AttackProtocol protocol);
AttackProtocol parse_attack_protocol(const std::string& name);

// Chapter 8: settings of the evaluation.
struct RobustnessOptions {
  AttackProtocol protocol = AttackProtocol::kStrong;
  AttackNorm norm = AttackNorm::L2;
  std::vector<double> eps = {0, 0.25, 0.5, 1.0};  // ascending; 0 gives the clean accuracy
  int iterations = 100;      // per APGD run (strong) or PGD iterations (chapter)
  int restarts = 1;          // strong: extra APGD-margin runs from random starts
  int min_norm_steps = 100;  // strong: FMN steps
  double lo = 0.0, hi = 1.0;  // pixel range
  int64_t batch_size = 250;
  uint64_t seed = 0;  // the strong protocol's batch j draws from Generator(mix_seed(seed, j)), so any
                      // thread count gives the same report
};

// Chapter 8: what the evaluation found.
struct RobustnessReport {
  std::vector<double> eps;             // the grid
  std::vector<double> accuracy;        // robust accuracy at each eps, in [0, 1]
  std::vector<double> min_norm;        // per image: the smallest verified adversarial perturbation
                                       // found (0: misclassified as it is; +inf: none found)
  std::vector<int64_t> broken_at;      // per image: the first eps index at which it is broken
                                       // (eps.size(): never)
  Tensor adversarial;                  // [N, ...]: the verified example of norm min_norm (the image
                                       // itself where none was found)
  int64_t rejected = 0;                // candidates that failed verification (float32 vs float64)
  // Strong protocol: which attack broke each image at its broken_at eps, as counts per attack
  // (names in found_by_names: FMN, the warm APGD-margin run, APGD-CE, the random margin restarts).
  // The chapter's protocol: one entry, "CE-PGD". Says which attacks earn their time.
  std::vector<std::string> found_by_names;
  std::vector<int64_t> found_by;
  std::vector<bool> robust_at(size_t eps_index) const;  // per image: unbroken at eps[eps_index]
};

// Chapter 8: the outcome of checking one candidate adversarial example.
struct Verification {
  bool ok = false;
  std::string reason;  // why not: "‖δ‖ = ... > ε = ...", "pixel ... outside [lo, hi]", "classified correctly"
};

// Chapter 8: checks candidates x_adv [N, ...] against images x and labels [N]: ‖x_adv − x‖ <= eps + slack
// in float64 (eps = +inf: any norm), every pixel in [lo, hi], and `verifier` (evaluation mode, its own
// dtype, no tape) misclassifies x_adv.
std::vector<Verification> verify_adversarial(Module& verifier, const Tensor& x, const Tensor& x_adv,
                                             const Tensor& labels, AttackNorm norm, double eps, double lo,
                                             double hi, double slack = 1e-6);

// Chapter 8: runs the protocol of `options` against `model` (attacked, evaluation mode) on images
// [N, ...] with labels [N], verifying with `verifier` (use float64_copy; may be `model` itself).
// `on_progress(done, total)` is called after each stage of each batch.
RobustnessReport evaluate_robustness(Module& model, Module& verifier, const Tensor& images,
                                     const Tensor& labels, const RobustnessOptions& options,
                                     const std::function<void(int64_t, int64_t)>& on_progress = nullptr);

// Chapter 8: copies the parameters and buffers of `from` into `to` (same names and shapes), converting
// to `to`'s dtypes.
void copy_state_converting(const Module& from, Module& to);
// Chapter 8: a float64 copy of `model` for verification: `build(DType::Float64)` makes the same
// architecture, then the state is copied; the copy is in evaluation mode.
std::shared_ptr<Module> float64_copy(const Module& model,
                                     const std::function<std::shared_ptr<Module>(DType)>& build);

// Chapter 8: writes the report for an outside check, atomically, as safetensors: "images" (the
// attacked images), "adversarial", "labels", "eps", "accuracy", "min_norm" (float64, +inf where no
// example was found); metadata: norm, protocol.
void save_adversarial(const std::string& path, const RobustnessReport& report, const Tensor& images,
                      const Tensor& labels, const RobustnessOptions& options);

}  // namespace stablenn
