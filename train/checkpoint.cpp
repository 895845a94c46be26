// train/checkpoint.cpp — checkpoints of a model and its optimiser (chapter 3).
#include "train/checkpoint.h"

#include <charconv>
#include <cmath>
#include <sstream>

#include "io/safetensors.h"

namespace stablenn {

namespace {

constexpr const char* kFormat = "stablenn-checkpoint";

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// "optimizer.<i>.<buffer>" -> i, or -1 for the optimiser's scalar entries ("optimizer.steps").
// Throws naming the file and the entry when <i> is not a number.
int64_t optimizer_entry_index(const std::string& name, const std::string& path) {
  const std::string rest = name.substr(std::string(kOptimizerPrefix).size());
  const size_t dot = rest.find('.');
  if (dot == std::string::npos) return -1;
  const std::string digits = rest.substr(0, dot);
  SNN_CHECK(!digits.empty() && digits.size() < 10 && digits.find_first_not_of("0123456789") == std::string::npos,
            path, ": tensor '", name, "': expected optimizer.<parameter index>.<buffer>");
  return std::stoll(digits);
}

// The first non-finite value of a float tensor as "NaN at index 3", or "" when all are finite.
template <class T>
std::string first_non_finite(const T* values, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    if (!std::isfinite(values[i])) {
      std::ostringstream where;
      where << values[i] << " at element " << i;
      return where.str();
    }
  }
  return "";
}

// Refuses a checkpoint whose float tensors hold NaN or infinity: a diverged run's weights must not
// be loaded as if they were a model.
void check_finite(const SafetensorsContent& content, const std::string& path) {
  for (const NamedTensor& named : content.tensors) {
    const Tensor t = named.tensor.contiguous();
    std::string found;
    if (t.dtype() == DType::Float32) found = first_non_finite(t.data<float>(), t.numel());
    if (t.dtype() == DType::Float64) found = first_non_finite(t.data<double>(), t.numel());
    SNN_CHECK(found.empty(), path, ": tensor '", named.name, "' holds a non-finite value (", found,
              "): the checkpoint of a diverged run? It is not loaded");
  }
}

// Checks the optimiser part of a checkpoint against `optimizer` without changing anything; returns
// the entries to hand to Optimizer::load_state.
std::vector<NamedTensor> checked_optimizer_state(const SafetensorsContent& content, const Optimizer& optimizer,
                                                 const std::string& path) {
  const auto kind = content.metadata.find("optimizer");
  SNN_CHECK(content.find("optimizer.steps") != nullptr && kind != content.metadata.end(), path,
            ": holds no optimiser state (it was saved without an optimiser); load the model alone or "
            "start the optimiser afresh");
  SNN_CHECK(kind->second == optimizer.name(), path, ": holds the state of a ", kind->second,
            " optimiser, cannot load it into ", optimizer.name());
  const std::vector<Var>& params = optimizer.params();
  const auto count = content.metadata.find("optimizer_parameters");
  SNN_CHECK(count != content.metadata.end() && count->second == std::to_string(params.size()), path,
            ": the optimiser state is for ", count == content.metadata.end() ? "?" : count->second,
            " parameters, this ", optimizer.name(), " has ", params.size());
  std::vector<NamedTensor> state;
  std::vector<std::string> problems;
  for (const NamedTensor& entry : content.tensors) {
    if (!starts_with(entry.name, kOptimizerPrefix)) continue;
    state.push_back(entry);
    const int64_t i = optimizer_entry_index(entry.name, path);
    if (i < 0) {
      if (entry.tensor.numel() != 1)
        problems.push_back("tensor '" + entry.name + "': expected one value, file has shape " +
                           shape_str(entry.tensor.shape()));
      continue;
    }
    if (i >= static_cast<int64_t>(params.size())) {
      problems.push_back("tensor '" + entry.name + "': names parameter " + std::to_string(i) + " of " +
                         std::to_string(params.size()));
      continue;
    }
    const Tensor& p = params[static_cast<size_t>(i)].value();
    if (p.shape() != entry.tensor.shape())
      problems.push_back("tensor '" + entry.name + "': expected shape " + shape_str(p.shape()) +
                         " (parameter '" + params[static_cast<size_t>(i)].name() + "'), file has " +
                         shape_str(entry.tensor.shape()));
    else if (p.dtype() != entry.tensor.dtype())
      problems.push_back("tensor '" + entry.name + "': expected dtype " + safetensors_dtype_name(p.dtype()) +
                         ", file has " + safetensors_dtype_name(entry.tensor.dtype()));
  }
  if (!problems.empty()) {
    std::ostringstream message;
    message << path << ": optimiser state: " << problems.size() << (problems.size() == 1 ? " problem: " : " problems: ");
    for (size_t k = 0; k < problems.size(); ++k) message << (k ? "; " : "") << problems[k];
    throw Error(message.str());
  }
  return state;
}

}  // namespace

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer,
                     const CheckpointMetadata& metadata) {
  CheckpointMetadata all = {{"format", kFormat}, {"version", "1"}};
  for (const auto& [key, value] : metadata) {
    SNN_CHECK(!starts_with(key, "format") && !starts_with(key, "version") && !starts_with(key, "optimizer"),
              "save_checkpoint(", path, "): metadata key '", key, "' is reserved");
    all[key] = value;
  }
  std::vector<NamedTensor> tensors = model.state();
  for (const NamedTensor& t : tensors)
    SNN_CHECK(!starts_with(t.name, kOptimizerPrefix), "save_checkpoint(", path, "): the model's tensor '",
              t.name, "' clashes with the optimiser's prefix '", kOptimizerPrefix, "'");
  if (optimizer) {
    all["optimizer"] = optimizer->name();
    all["optimizer_parameters"] = std::to_string(optimizer->params().size());
    for (NamedTensor& t : optimizer->state()) tensors.push_back(std::move(t));
  }
  save_safetensors(path, tensors, all);
}

CheckpointMetadata load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer) {
  const SafetensorsContent content = load_safetensors(path);  // truncated or corrupt files throw here
  check_finite(content, path);
  // Everything is checked before anything is copied: first the optimiser's part, then the model's
  // (copy_safetensors_into checks all tensors before writing any).
  std::vector<NamedTensor> optimizer_state;
  if (optimizer) optimizer_state = checked_optimizer_state(content, *optimizer, path);
  SafetensorsContent model_part;
  for (const NamedTensor& t : content.tensors)
    if (!starts_with(t.name, kOptimizerPrefix)) model_part.tensors.push_back(t);
  copy_safetensors_into(model_part, model.state(), path);
  // The copies wrote through the parameters' storage; mark them changed, so a tape recorded before
  // the load refuses to reuse the old values.
  NoGrad no_grad;
  for (Var& p : model.parameters()) p.mutable_value();
  if (optimizer) optimizer->load_state(optimizer_state);
  return content.metadata;
}

int64_t checkpoint_integer(const CheckpointMetadata& metadata, const std::string& key,
                           const std::string& path, int64_t min, int64_t max) {
  const auto found = metadata.find(key);
  SNN_CHECK(found != metadata.end(), path, ": metadata has no '", key, "' entry");
  const std::string& text = found->second;
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  SNN_CHECK(!text.empty() && error != std::errc::invalid_argument && stop == end, path,
            ": metadata '", key, "' = \"", text, "\" is not a whole number");
  SNN_CHECK(error != std::errc::result_out_of_range && value >= min && value <= max, path,
            ": metadata '", key, "' = ", text, " is out of range (expected ", min, " to ", max, ")");
  return value;
}

}  // namespace stablenn
