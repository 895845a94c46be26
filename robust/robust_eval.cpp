// robust/robust_eval.cpp — the strong robustness evaluation and its verification (chapter 8).
#include "robust/robust_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <omp.h>

#include "core/parallel.h"
#include "io/safetensors.h"
#include "layers/losses.h"

namespace stablenn {

namespace {

DType dtype_of(const Module& m, DType fallback) {
  const std::vector<Var> p = m.parameters();
  return p.empty() ? fallback : p.front().dtype();
}

// The per-batch state of an evaluation: what is known about each image of the batch.
struct BatchState {
  Tensor x, y;                  // the batch
  std::vector<double> min_norm;
  Tensor adversarial;           // rows of verified examples (x where none)
  std::vector<int> found_by;    // per row: the attack (index into the report's names) behind min_norm
  int64_t rejected = 0;
};

// The rows the verifier classifies correctly as they are (the only ones worth attacking).
std::vector<int64_t> correct_rows(const BatchState& b) {
  std::vector<int64_t> rows;
  for (size_t i = 0; i < b.min_norm.size(); ++i)
    if (b.min_norm[i] > 0) rows.push_back(static_cast<int64_t>(i));
  return rows;
}

// Verifies candidates `x_adv` of the batch rows `rows` at `eps`, found by attack `attack`, and keeps
// those that pass where they are smaller than what is known. Returns which of `rows` were verified.
std::vector<bool> accept(Module& verifier, BatchState& b, const std::vector<int64_t>& rows,
                         const Tensor& x_adv, const std::vector<bool>& fooled, const RobustnessOptions& o,
                         double eps, int attack) {
  std::vector<bool> ok(rows.size(), false);
  std::vector<int64_t> idx;
  for (size_t i = 0; i < rows.size(); ++i)
    if (fooled[i]) idx.push_back(static_cast<int64_t>(i));
  if (idx.empty()) return ok;
  std::vector<int64_t> batch_rows;
  for (int64_t i : idx) batch_rows.push_back(rows[i]);
  const Tensor candidates = take_rows(x_adv, idx), images = take_rows(b.x, batch_rows);
  const std::vector<Verification> v =
      verify_adversarial(verifier, images, candidates, take_rows(b.y, batch_rows), o.norm, eps, o.lo, o.hi);
  const std::vector<double> norms =
      per_example_norms(sub(candidates.to(DType::Float64), images.to(DType::Float64)), o.norm);
  for (size_t j = 0; j < idx.size(); ++j) {
    if (!v[j].ok) { ++b.rejected; continue; }
    ok[idx[j]] = true;
    const int64_t row = batch_rows[j];
    if (norms[j] < b.min_norm[row]) {
      b.min_norm[row] = norms[j];
      b.found_by[row] = attack;
      Tensor d = b.adversarial.select(0, row);
      d.copy_(candidates.select(0, static_cast<int64_t>(j)));
    }
  }
  return ok;
}

// The attacks of each protocol, as RobustnessReport::found_by names them.
const std::vector<std::string> kStrongAttacks = {"FMN", "APGD-margin from FMN", "APGD-CE", "APGD-margin restarts"};
const std::vector<std::string> kChapterAttacks = {"CE-PGD"};

// The strong protocol on one batch: FMN, then APGD runs down the eps grid. At each eps, from the
// largest down, the rows attacked are those not yet known broken at eps (min_norm > eps) and not
// settled. A row that resists every run at eps is settled: it counts as robust at eps and at every
// smaller eps, since an example inside a smaller ball lies inside this one, within reach of the runs
// here. So each robust image costs one failed round of runs, not one per eps below its radius; an
// image broken at eps (cheap: early exit) is attacked again at the next smaller eps.
void strong_batch(Module& model, Module& verifier, BatchState& b, const RobustnessOptions& o,
                  Generator& gen, const std::function<void()>& stage_done) {
  const double slack = 1e-6;
  const std::vector<int64_t> correct = correct_rows(b);
  if (!correct.empty()) {
    MinNormOptions mo;
    mo.norm = o.norm;
    mo.steps = o.min_norm_steps;
    mo.step_init = std::max(o.eps.back(), 1e-3);
    mo.lo = o.lo;
    mo.hi = o.hi;
    const MinNormResult m = minimum_norm_attack(model, take_rows(b.x, correct), take_rows(b.y, correct), mo);
    std::vector<bool> found(correct.size());
    for (size_t i = 0; i < correct.size(); ++i) found[i] = std::isfinite(m.norm[i]);
    accept(verifier, b, correct, m.adversarial, found, o, INFINITY, 0);
  }
  stage_done();
  std::vector<bool> settled(b.min_norm.size(), false);
  for (auto e = o.eps.rbegin(); e != o.eps.rend(); ++e) {
    const double eps = *e;
    if (eps <= 0) continue;
    struct Run { AttackLoss loss; bool warm; int attack; };  // attack: index into kStrongAttacks
    std::vector<Run> runs = {{AttackLoss::Margin, true, 1}, {AttackLoss::CrossEntropy, false, 2}};
    for (int r = 0; r < o.restarts; ++r) runs.push_back({AttackLoss::Margin, false, 3});
    std::vector<int64_t> rows;  // attacked at eps
    for (const Run& run : runs) {
      rows.clear();
      for (int64_t i : correct)
        if (!settled[i] && b.min_norm[i] > eps + slack) rows.push_back(i);
      if (rows.empty()) break;
      const Tensor x = take_rows(b.x, rows), y = take_rows(b.y, rows);
      Tensor start = random_start(x, o.norm, eps, o.lo, o.hi, gen);
      if (run.warm) {  // the smallest example known (FMN's, or one found at a larger eps), pulled onto the ball
        std::vector<double> has(rows.size());
        for (size_t i = 0; i < rows.size(); ++i) has[i] = std::isfinite(b.min_norm[rows[i]]);
        const Tensor warm =
            clamp(add(x, project_to_ball(sub(take_rows(b.adversarial, rows), x), o.norm, eps)), o.lo, o.hi);
        Shape s(x.dim(), 1);
        s[0] = x.size(0);
        start = where(Tensor::from_vector(has, s, x.dtype()), warm, start);
      }
      ApgdOptions ao;
      ao.norm = o.norm;
      ao.eps = eps;
      ao.iterations = o.iterations;
      ao.loss = run.loss;
      ao.lo = o.lo;
      ao.hi = o.hi;
      const AttackResult res = apgd(model, x, y, ao, start);
      accept(verifier, b, rows, res.adversarial, res.fooled, o, eps, run.attack);
    }
    for (int64_t i : rows)  // the rows that resisted every run (rows of the last run, minus its successes)
      if (b.min_norm[i] > eps + slack) settled[i] = true;
    stage_done();
  }
}

// The chapter's protocol on one batch: CE-PGD at every eps on its own. Returns per eps index which
// rows were broken there.
std::vector<std::vector<bool>> chapter_batch(Module& model, Module& verifier, BatchState& b,
                                             const RobustnessOptions& o, uint64_t& seed,
                                             const std::function<void()>& stage_done) {
  const std::vector<int64_t> correct = correct_rows(b);
  std::vector<std::vector<bool>> broken;
  for (double eps : o.eps) {
    std::vector<bool> row_broken(b.min_norm.size());
    for (size_t i = 0; i < row_broken.size(); ++i) row_broken[i] = b.min_norm[i] == 0;
    if (eps > 0 && !correct.empty()) {
      PgdOptions p;
      p.norm = o.norm;
      p.eps = eps;
      p.iterations = o.iterations;
      p.lo = o.lo;
      p.hi = o.hi;
      p.seed = ++seed;
      const AttackResult res = pgd(model, take_rows(b.x, correct), take_rows(b.y, correct), p);
      const std::vector<bool> ok = accept(verifier, b, correct, res.adversarial, res.fooled, o, eps, 0);
      for (size_t i = 0; i < correct.size(); ++i) row_broken[correct[i]] = row_broken[correct[i]] || ok[i];
    }
    if (eps > 0) stage_done();
    broken.push_back(row_broken);
  }
  return broken;
}

}  // namespace

const char* attack_protocol_name(AttackProtocol protocol) {
  return protocol == AttackProtocol::kStrong ? "strong" : "chapter";
}

AttackProtocol parse_attack_protocol(const std::string& name) {
  if (name == "strong") return AttackProtocol::kStrong;
  if (name == "chapter") return AttackProtocol::kChapter;
  throw Error("unknown attack protocol '" + name + "' (known: strong, chapter)");
}

std::vector<bool> RobustnessReport::robust_at(size_t eps_index) const {
  std::vector<bool> r(broken_at.size());
  for (size_t i = 0; i < r.size(); ++i) r[i] = broken_at[i] > static_cast<int64_t>(eps_index);
  return r;
}

std::vector<Verification> verify_adversarial(Module& verifier, const Tensor& x, const Tensor& x_adv,
                                             const Tensor& labels, AttackNorm norm, double eps, double lo,
                                             double hi, double slack) {
  SNN_CHECK(x.defined() && x_adv.defined() && x.shape() == x_adv.shape() && x.dim() >= 2,
            "verify_adversarial: expected images and candidates of the same shape [N, ...], got ",
            x.defined() ? shape_str(x.shape()) : "undefined", " and ",
            x_adv.defined() ? shape_str(x_adv.shape()) : "undefined");
  SNN_CHECK(labels.defined() && labels.dim() == 1 && labels.size(0) == x.size(0),
            "verify_adversarial: expected labels [", x.size(0), "]");
  const int64_t n = x.size(0);
  const Tensor adv64 = x_adv.to(DType::Float64);
  const std::vector<double> norms = per_example_norms(sub(adv64, x.to(DType::Float64)), norm);
  const Tensor flat = adv64.reshape({n, -1}).contiguous();
  const int64_t d = flat.size(1);
  Tensor logits;
  {
    NoGrad no_grad;
    const bool was_training = verifier.training();
    verifier.eval();
    logits = verifier(Var(x_adv.to(dtype_of(verifier, x_adv.dtype())))).value();
    verifier.train(was_training);
  }
  const std::vector<int64_t> pred = argmax(logits, 1).to_int64(), y = labels.to_int64();
  std::vector<Verification> out(n);
  for (int64_t i = 0; i < n; ++i) {
    const double* p = flat.data<double>() + i * d;
    const auto bad = std::find_if(p, p + d, [&](double v) { return !(v >= lo && v <= hi); });
    if (!(norms[i] <= eps + slack)) {
      out[i].reason = "norm " + std::to_string(norms[i]) + " > eps " + std::to_string(eps);
    } else if (bad != p + d) {
      out[i].reason = "pixel " + std::to_string(bad - p) + " = " + std::to_string(*bad) + " outside [" +
                      std::to_string(lo) + ", " + std::to_string(hi) + "]";
    } else if (pred[i] == y[i]) {
      out[i].reason = "classified correctly (class " + std::to_string(y[i]) + ")";
    } else {
      out[i].ok = true;
    }
  }
  return out;
}

RobustnessReport evaluate_robustness(Module& model, Module& verifier, const Tensor& images,
                                     const Tensor& labels, const RobustnessOptions& o,
                                     const std::function<void(int64_t, int64_t)>& on_progress) {
  // images [N, ...], labels [N] -> the report
  SNN_CHECK(images.defined() && images.dim() >= 2 && images.size(0) >= 1,
            "evaluate_robustness: expected images [N, ...], got ",
            images.defined() ? shape_str(images.shape()) : "undefined");
  SNN_CHECK(labels.defined() && labels.dtype() == DType::Int64 && labels.dim() == 1 &&
                labels.size(0) == images.size(0),
            "evaluate_robustness: expected int64 labels [", images.size(0), "]");
  SNN_CHECK(!o.eps.empty() && o.batch_size > 0 && o.iterations >= 1 && o.restarts >= 0 && o.min_norm_steps >= 1,
            "evaluate_robustness: need a non-empty eps grid, batch_size > 0, iterations >= 1, ",
            "restarts >= 0 and min_norm_steps >= 1");
  for (size_t k = 0; k < o.eps.size(); ++k)
    SNN_CHECK(o.eps[k] >= 0 && std::isfinite(o.eps[k]) && (k == 0 || o.eps[k] > o.eps[k - 1]),
              "evaluate_robustness: the eps grid must be finite, >= 0 and ascending; eps[", k, "] = ", o.eps[k]);
  model.eval();
  verifier.eval();
  const int64_t n = images.size(0), batches = (n + o.batch_size - 1) / o.batch_size;
  int64_t positive = 0;
  for (double e : o.eps) positive += e > 0;
  const int64_t total = batches * (1 + positive);
  int64_t done = 0;
  auto stage_done = [&]() { if (on_progress) on_progress(++done, total); };

  RobustnessReport report;
  report.eps = o.eps;
  report.adversarial = images.clone();
  report.min_norm.assign(n, INFINITY);
  report.broken_at.assign(n, static_cast<int64_t>(o.eps.size()));
  report.found_by_names = o.protocol == AttackProtocol::kStrong ? kStrongAttacks : kChapterAttacks;
  report.found_by.assign(report.found_by_names.size(), 0);
  std::vector<int64_t> robust(o.eps.size(), 0);

  // Each batch, with what the clean verification found and the seed its chapter-protocol attacks
  // start from (each eps with images to attack takes the next one, in batch order).
  std::vector<BatchState> state(static_cast<size_t>(batches));
  std::vector<uint64_t> first_seed(state.size());
  uint64_t seed = o.seed;
  for (int64_t j = 0; j < batches; ++j) {
    const int64_t at = j * o.batch_size, len = std::min(o.batch_size, n - at);
    BatchState& b = state[j];
    b.x = images.narrow(0, at, len);
    b.y = labels.narrow(0, at, len);
    b.adversarial = b.x.clone();
    b.min_norm.assign(len, INFINITY);
    b.found_by.assign(len, 0);
    {  // an image the verifier gets wrong as it is is broken at every eps, with norm 0
      const std::vector<Verification> clean = verify_adversarial(verifier, b.x, b.x, b.y, o.norm, 0, o.lo, o.hi);
      for (int64_t i = 0; i < len; ++i)
        if (clean[i].ok) b.min_norm[i] = 0;
    }
    first_seed[j] = seed;
    if (!correct_rows(b).empty()) seed += static_cast<uint64_t>(positive);
  }

  // The batches are independent: the strong protocol draws batch j's random starts from
  // Generator(mix_seed(seed, j)), the chapter's from the seeds above. So with several threads whole
  // batches run on different threads, each on one core (a 250 x 256 by 256 x 256 product split over
  // two threads, OpenBLAS's way, loses much of the second core to hand-offs), and the results are
  // those of running the batches in order, bit for bit, at any thread count.
  const int threads = static_cast<int>(std::min<int64_t>(num_threads(), batches));
  const bool by_batch = threads > 1 && !omp_in_parallel() && model.data_parallel_safe() &&
                        verifier.data_parallel_safe();
  std::mutex progress;
  auto stage_done_locked = [&]() {
    std::lock_guard<std::mutex> lock(progress);
    stage_done();
  };
  std::vector<std::vector<std::vector<bool>>> broken(state.size());  // [batch][eps][row]
  parallel_tasks(batches, by_batch ? threads : 1, [&](int64_t j) {
    BatchState& b = state[j];
    if (o.protocol == AttackProtocol::kStrong) {
      Generator gen(mix_seed(o.seed, static_cast<uint64_t>(j)));
      strong_batch(model, verifier, b, o, gen, stage_done_locked);
      for (double eps : o.eps) {  // broken at eps: a verified example within eps (+ slack for eps > 0)
        std::vector<bool> r(b.min_norm.size());
        for (size_t i = 0; i < r.size(); ++i) r[i] = b.min_norm[i] == 0 || (eps > 0 && b.min_norm[i] <= eps + 1e-6);
        broken[j].push_back(r);
      }
    } else {
      stage_done_locked();
      uint64_t batch_seed = first_seed[j];
      broken[j] = chapter_batch(model, verifier, b, o, batch_seed, stage_done_locked);
    }
  });

  for (int64_t j = 0; j < batches; ++j) {
    const BatchState& b = state[j];
    const int64_t at = j * o.batch_size, len = b.x.size(0);
    for (int64_t i = 0; i < len; ++i) {
      report.min_norm[at + i] = b.min_norm[i];
      Tensor d = report.adversarial.select(0, at + i);
      d.copy_(b.adversarial.select(0, i));
      for (size_t k = 0; k < o.eps.size(); ++k) {
        if (broken[j][k][i]) report.broken_at[at + i] = std::min<int64_t>(report.broken_at[at + i], k);
        else ++robust[k];
      }
      // broken by an attack inside the grid (not misclassified as it is)
      if (b.min_norm[i] > 0 && report.broken_at[at + i] < static_cast<int64_t>(o.eps.size()))
        ++report.found_by[b.found_by[i]];
    }
    report.rejected += b.rejected;
  }
  for (int64_t r : robust) report.accuracy.push_back(double(r) / double(n));
  return report;
}

void copy_state_converting(const Module& from, Module& to) {
  const std::vector<NamedTensor> src = from.state(), dst = to.state();
  SNN_CHECK(src.size() == dst.size(), "copy_state_converting: the modules hold ", src.size(), " and ",
            dst.size(), " tensors");
  for (size_t i = 0; i < src.size(); ++i) {
    SNN_CHECK(src[i].name == dst[i].name && src[i].tensor.shape() == dst[i].tensor.shape(),
              "copy_state_converting: tensor ", i, " is '", src[i].name, "' ", shape_str(src[i].tensor.shape()),
              " in the source but '", dst[i].name, "' ", shape_str(dst[i].tensor.shape()), " in the copy");
    Tensor t = dst[i].tensor;
    t.copy_(src[i].tensor);
  }
}

std::shared_ptr<Module> float64_copy(const Module& model,
                                     const std::function<std::shared_ptr<Module>(DType)>& build) {
  std::shared_ptr<Module> copy = build(DType::Float64);
  SNN_CHECK(copy != nullptr, "float64_copy: the builder returned no module");
  copy_state_converting(model, *copy);
  copy->eval();
  return copy;
}

void save_adversarial(const std::string& path, const RobustnessReport& report, const Tensor& images,
                      const Tensor& labels, const RobustnessOptions& options) {
  const int64_t n = images.size(0), k = static_cast<int64_t>(report.eps.size());
  save_safetensors(path,
                   {{"images", images.contiguous()},
                    {"adversarial", report.adversarial.contiguous()},
                    {"labels", labels.contiguous()},
                    {"eps", Tensor::from_vector(report.eps, {k}, DType::Float64)},
                    {"accuracy", Tensor::from_vector(report.accuracy, {k}, DType::Float64)},
                    {"min_norm", Tensor::from_vector(report.min_norm, {n}, DType::Float64)}},
                   {{"norm", options.norm == AttackNorm::L2 ? "l2" : "linf"},
                    {"protocol", attack_protocol_name(options.protocol)}});
}

}  // namespace stablenn
