// train/control_checkpoint.cpp — a chapter 11 run's trained networks in one safetensors file.
#include "train/control_checkpoint.h"

#include <cmath>

#include "core/error.h"
#include "io/safetensors.h"
#include "train/checkpoint.h"

namespace stablenn {

namespace {

constexpr const char* kFormat = "stablenn-control-run";

const char* activation_name(FieldActivation a) { return a == FieldActivation::kTanh ? "tanh" : "identity"; }

Tensor doubles(const std::vector<double>& v) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}, DType::Float64);
}

Tensor whole_numbers(const std::vector<int64_t>& v) {
  return Tensor::from_int64(v, {static_cast<int64_t>(v.size())});
}

// Entry `name` of the file as doubles: F64, one dimension, `size` elements (any size when size < 0),
// every one finite.
std::vector<double> read_doubles(const SafetensorsContent& content, const std::string& name, int64_t size,
                                 const std::string& path) {
  const Tensor* t = content.find(name);
  SNN_CHECK(t != nullptr, path, ": tensor '", name, "' is missing");
  SNN_CHECK(t->dtype() == DType::Float64 && t->dim() == 1, path, ": tensor '", name,
            "' must be a one-dimensional F64 tensor");
  SNN_CHECK(size < 0 || t->numel() == size, path, ": tensor '", name, "' has ", t->numel(),
            " elements, expected ", size);
  std::vector<double> v = t->to_vector();
  for (double x : v) SNN_CHECK(std::isfinite(x), path, ": tensor '", name, "' holds NaN or infinity");
  return v;
}

std::vector<int64_t> read_whole_numbers(const SafetensorsContent& content, const std::string& name, int64_t size,
                                        const std::string& path) {
  const Tensor* t = content.find(name);
  SNN_CHECK(t != nullptr, path, ": tensor '", name, "' is missing");
  SNN_CHECK(t->dtype() == DType::Int64 && t->dim() == 1, path, ": tensor '", name,
            "' must be a one-dimensional I64 tensor");
  SNN_CHECK(size < 0 || t->numel() == size, path, ": tensor '", name, "' has ", t->numel(),
            " elements, expected ", size);
  const Tensor c = t->contiguous();
  return std::vector<int64_t>(c.data<int64_t>(), c.data<int64_t>() + c.numel());
}

// The network's tensors "<prefix>tau", "<prefix>controls", "<prefix>head", checked against `first`
// (the file's one dim, outputs and activation).
void add_network(std::vector<NamedTensor>& tensors, const std::string& prefix, const ControlledOde& m,
                 const ControlledOde& first, const std::string& path) {
  SNN_CHECK(m.dim == first.dim && m.outputs == first.outputs && m.activation == first.activation,
            "save_control_run(", path, "): network '", prefix, "' differs in dim, outputs or activation from the first");
  SNN_CHECK(static_cast<int64_t>(m.controls.size()) == m.layers() * m.control_size() &&
                static_cast<int64_t>(m.head.size()) == m.outputs * m.dim + m.outputs,
            "save_control_run(", path, "): network '", prefix, "' has controls or head of the wrong size");
  tensors.push_back({prefix + "tau", doubles(m.tau)});
  tensors.push_back({prefix + "controls", doubles(m.controls)});
  tensors.push_back({prefix + "head", doubles(m.head)});
}

void read_network(const SafetensorsContent& content, const std::string& prefix, ControlledOde& m,
                  const std::string& path) {
  m.tau = read_doubles(content, prefix + "tau", -1, path);
  for (double t : m.tau) SNN_CHECK(t > 0, path, ": tensor '", prefix, "tau' holds a step that is not positive");
  m.controls = read_doubles(content, prefix + "controls", m.layers() * m.control_size(), path);
  m.head = read_doubles(content, prefix + "head", m.outputs * m.dim + m.outputs, path);
}

}  // namespace

void save_control_run(const std::string& path, const std::vector<ControlSnapshot>& snapshots,
                      const std::map<std::string, std::string>& metadata, const ControlTraining* unfinished) {
  std::map<std::string, std::string> meta = metadata;
  for (const char* reserved : {"format", "version", "entries", "unfinished", "dim", "outputs", "activation"})
    SNN_CHECK(meta.count(reserved) == 0, "save_control_run(", path, "): metadata key '", reserved, "' is reserved");
  meta["format"] = kFormat;
  meta["version"] = "1";
  meta["entries"] = std::to_string(snapshots.size());
  meta["unfinished"] = unfinished ? "1" : "0";
  const ControlledOde* first = !snapshots.empty() ? &snapshots.front().model : unfinished ? &unfinished->model : nullptr;
  if (first) {
    meta["dim"] = std::to_string(first->dim);
    meta["outputs"] = std::to_string(first->outputs);
    meta["activation"] = activation_name(first->activation);
  }
  std::vector<NamedTensor> tensors;
  for (size_t i = 0; i < snapshots.size(); ++i) {
    const ControlledOde& m = snapshots[i].model;
    const AdaptiveCycle& c = snapshots[i].cycle;
    const std::string p = std::to_string(i) + ".";
    add_network(tensors, p, m, *first, path);
    tensors.push_back({p + "mesh", doubles(c.mesh)});
    tensors.push_back({p + "indicators", doubles(c.indicators)});
    tensors.push_back({p + "marked", whole_numbers(c.marked)});
    tensors.push_back({p + "goal", doubles({c.goal.loss, c.goal.regulariser, c.estimate, c.effectivity.estimate,
                                            c.effectivity.actual})});
    tensors.push_back({p + "counts", whole_numbers({c.layers, c.layer_passes, c.total_layer_passes})});
  }
  if (unfinished) {
    const DescentState& st = unfinished->state;
    add_network(tensors, "unfinished.", unfinished->model, *first, path);
    SNN_CHECK(st.m.size() == st.v.size(), "save_control_run(", path, "): Adam's moments differ in size");
    std::vector<double> moments = st.m;
    moments.insert(moments.end(), st.v.begin(), st.v.end());
    tensors.push_back({"unfinished.moments", doubles(moments)});
    tensors.push_back({"unfinished.step", doubles({st.step})});
    tensors.push_back({"unfinished.counts", whole_numbers({st.t, unfinished->iterations_done, unfinished->layer_passes})});
  }
  save_safetensors(path, tensors, meta);
}

std::vector<ControlSnapshot> load_control_run(const std::string& path, std::map<std::string, std::string>* metadata,
                                              std::optional<ControlTraining>* unfinished) {
  const SafetensorsContent content = load_safetensors(path);
  const auto& meta = content.metadata;
  const auto format = meta.find("format");
  SNN_CHECK(format != meta.end() && format->second == kFormat, path, ": not a chapter 11 run (metadata 'format' is not '",
            kFormat, "')");
  checkpoint_integer(meta, "version", path, 1, 1);
  const int64_t entries = checkpoint_integer(meta, "entries", path, 0, 1 << 20);
  const bool has_unfinished = checkpoint_integer(meta, "unfinished", path, 0, 1) == 1;
  const int64_t expected = 8 * entries + (has_unfinished ? 6 : 0);
  SNN_CHECK(static_cast<int64_t>(content.tensors.size()) == expected, path, ": holds ", content.tensors.size(),
            " tensors, expected ", expected, " (8 per entry for ", entries, " entries",
            has_unfinished ? ", 6 for the unfinished training)" : ")");
  std::vector<ControlSnapshot> snapshots(static_cast<size_t>(entries));
  if (unfinished) unfinished->reset();
  if (entries > 0 || has_unfinished) {
    const int64_t dim = checkpoint_integer(meta, "dim", path, 1, 1 << 20);
    const int64_t outputs = checkpoint_integer(meta, "outputs", path, 1, 1 << 20);
    const auto activation = meta.find("activation");
    SNN_CHECK(activation != meta.end() && (activation->second == "tanh" || activation->second == "identity"), path,
              ": metadata 'activation' must be tanh or identity");
    for (int64_t i = 0; i < entries; ++i) {
      ControlSnapshot& s = snapshots[static_cast<size_t>(i)];
      ControlledOde& m = s.model;
      AdaptiveCycle& c = s.cycle;
      const std::string p = std::to_string(i) + ".";
      m.dim = dim, m.outputs = outputs;
      m.activation = activation->second == "tanh" ? FieldActivation::kTanh : FieldActivation::kIdentity;
      read_network(content, p, m, path);
      c.mesh = read_doubles(content, p + "mesh", -1, path);
      c.indicators = read_doubles(content, p + "indicators", -1, path);
      c.marked = read_whole_numbers(content, p + "marked", -1, path);
      const std::vector<double> goal = read_doubles(content, p + "goal", 5, path);
      c.goal.loss = goal[0], c.goal.regulariser = goal[1], c.estimate = goal[2];
      c.effectivity.estimate = goal[3], c.effectivity.actual = goal[4];
      const std::vector<int64_t> counts = read_whole_numbers(content, p + "counts", 3, path);
      c.layers = counts[0], c.layer_passes = counts[1], c.total_layer_passes = counts[2];
    }
    if (has_unfinished && unfinished) {
      ControlTraining t;
      t.model.dim = dim, t.model.outputs = outputs;
      t.model.activation = activation->second == "tanh" ? FieldActivation::kTanh : FieldActivation::kIdentity;
      read_network(content, "unfinished.", t.model, path);
      const std::vector<double> moments = read_doubles(content, "unfinished.moments", -1, path);
      const size_t half = moments.size() / 2;
      SNN_CHECK(moments.empty() || half == static_cast<size_t>(t.model.parameter_count()), path,
                ": tensor 'unfinished.moments' has ", moments.size(), " elements, expected 0 or twice the network's ",
                t.model.parameter_count(), " parameters");
      t.state.m.assign(moments.begin(), moments.begin() + static_cast<std::ptrdiff_t>(half));
      t.state.v.assign(moments.begin() + static_cast<std::ptrdiff_t>(half), moments.end());
      t.state.step = read_doubles(content, "unfinished.step", 1, path)[0];
      const std::vector<int64_t> counts = read_whole_numbers(content, "unfinished.counts", 3, path);
      t.state.t = counts[0], t.iterations_done = counts[1], t.layer_passes = counts[2];
      *unfinished = std::move(t);
    }
  }
  if (metadata) *metadata = meta;
  return snapshots;
}

}  // namespace stablenn
