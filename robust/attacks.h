// robust/attacks.h — adversarial attacks: FGSM and PGD in l-infinity and l2, robust accuracy over an
// epsilon grid (chapter 8).
//
// Attacks work on batches: x [N, ...] with pixel values in [lo, hi], labels [N] (Int64). Gradients of
// the loss with respect to the input come from autodiff's grad(), so nothing is accumulated into the
// model's parameters. The model is used as given (call model.eval() first).
#pragma once
#include <functional>
#include <vector>

#include "layers/module.h"

namespace stablenn {

// Chapter 8: the norm that measures perturbations.
enum class AttackNorm { Linf, L2 };
// Chapter 8: what the attack maximises. CrossEntropy: the usual loss; Margin: max_{j != y} z_j - z_y
// (the quantity a certificate bounds; does not saturate).
enum class AttackLoss { CrossEntropy, Margin };

// Chapter 8: PGD settings. step_size <= 0 means 2.5 * eps / iterations (Madry et al.).
struct PgdOptions {
  AttackNorm norm = AttackNorm::L2;
  double eps = 0.5;
  double step_size = 0.0;
  int iterations = 100;
  int restarts = 1;
  bool random_start = true;
  AttackLoss loss = AttackLoss::CrossEntropy;
  double lo = 0.0, hi = 1.0;   // pixel range the adversarial images are clipped to
  uint64_t seed = 0;           // for the random starts
};

// Chapter 8: the result of attacking one batch.
struct AttackResult {
  Tensor adversarial;          // [N, ...], within the eps-ball around x and the pixel range
  std::vector<bool> fooled;    // per example: a misclassification (untargeted) or the target hit
  int64_t fooled_count() const;
};

// Chapter 8: fast gradient sign method (one step of size eps; l2: along the normalised gradient).
AttackResult fgsm(Module& model, const Tensor& x, const Tensor& labels, AttackNorm norm, double eps,
                  double lo = 0.0, double hi = 1.0);
// Chapter 8: projected gradient ascent on the loss within the eps-ball, with random starts and
// restarts. An example counts as fooled if any iterate of any restart fools the model; that
// iterate is the one returned. With `targets` (Int64 [N]) the attack is targeted: it descends the
// loss towards the target classes and "fooled" means the target was reached.
AttackResult pgd(Module& model, const Tensor& x, const Tensor& labels, const PgdOptions& options,
                 const Tensor& targets = Tensor());

// Chapter 8: projections used by PGD, exposed for tests. delta [N, ...]: each example's slice is
// projected onto the eps-ball of the norm.
Tensor project_to_ball(const Tensor& delta, AttackNorm norm, double eps);
// Per-example l2 norms of [N, ...] -> [N].
Tensor per_example_norm(const Tensor& x);

// Chapter 8: accuracy of `model` under PGD at each eps of `eps_grid` (eps = 0: clean accuracy),
// evaluated in batches; `on_batch(done, total)` reports progress.
std::vector<double> robust_accuracy_curve(
    Module& model, const Tensor& images, const Tensor& labels, const std::vector<double>& eps_grid,
    PgdOptions options, int64_t batch_size = 250,
    const std::function<void(int64_t, int64_t)>& on_batch = nullptr);

// Chapter 8: predictions of `model` on `images`, in batches, without recording a tape. -> [N, K]
Tensor predict_logits(Module& model, const Tensor& images, int64_t batch_size = 500);

// Chapter 8: rows `index` of t [N, ...] -> [index.size(), ...] (a copy).
Tensor take_rows(const Tensor& t, const std::vector<int64_t>& index);

// Chapter 8: the attack loss of each row of logits [N, K] (float64 on the host): cross-entropy, or
// the margin max_{j != y} z_j - z_y (> 0 exactly when the example is misclassified).
std::vector<double> per_example_attack_loss(const Tensor& logits, const Tensor& labels, AttackLoss kind);

// Chapter 8: APGD settings (Croce & Hein 2020, "Reliable evaluation of adversarial robustness").
struct ApgdOptions {
  AttackNorm norm = AttackNorm::L2;
  double eps = 0.5;
  int iterations = 100;
  AttackLoss loss = AttackLoss::Margin;
  double momentum = 0.75;   // weight of the new step against the previous one (their alpha)
  double rho = 0.75;        // halve the step when fewer than rho of the last steps raised the loss
  double lo = 0.0, hi = 1.0;
};

// Chapter 8: Auto-PGD. Starts at `start` ([N, ...] inside the eps-ball and the pixel range), takes
// normalised ascent steps of size eta (2·eps at first) with momentum, and at checkpoints (22 %, then
// shrinking intervals of the budget) halves eta and jumps back to the best iterate when the loss
// oscillates or stopped improving. An example counts as fooled when ANY iterate misclassifies it
// (that iterate is returned), and it is dropped from the batch from then on (early exit).
AttackResult apgd(Module& model, const Tensor& x, const Tensor& labels, const ApgdOptions& options,
                  const Tensor& start);
// Chapter 8: a random start for apgd: uniform in the l-inf ball, on the l2 sphere; clipped to the range.
Tensor random_start(const Tensor& x, AttackNorm norm, double eps, double lo, double hi, Generator& gen);

// Chapter 8: minimum-norm attack settings (FMN: Pintor et al. 2021, "Fast minimum-norm adversarial
// attacks through adaptive norm constraints").
struct MinNormOptions {
  AttackNorm norm = AttackNorm::L2;
  int steps = 100;
  double step_init = 1.0;         // alpha: cosine-annealed from step_init to step_init / 100
  double gamma_init = 0.05;       // the radius moves by the factor (1 +- gamma), gamma annealed
  double gamma_final = 0.001;     //   from gamma_init to gamma_final
  double lo = 0.0, hi = 1.0;
};

// Chapter 8: the result of a minimum-norm attack.
struct MinNormResult {
  Tensor adversarial;         // [N, ...]: the smallest misclassified iterate found (x where none)
  std::vector<double> norm;   // its distance to x in the attack's norm; +infinity where none found
};

// Chapter 8: FMN. Steps along the normalised gradient of the margin inside a ball of radius r that
// shrinks by (1 - gamma) while the iterate is adversarial and grows by (1 + gamma) (or jumps just past
// the linear estimate of the distance to the boundary, before the first success) while it is not.
MinNormResult minimum_norm_attack(Module& model, const Tensor& x, const Tensor& labels,
                                  const MinNormOptions& options);

// Chapter 8: the norm of each example of [N, ...] in `norm` (float64 on the host).
std::vector<double> per_example_norms(const Tensor& x, AttackNorm norm);

}  // namespace stablenn
