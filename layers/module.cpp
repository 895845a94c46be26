// layers/module.cpp — Module bookkeeping, summaries, Sequential (chapter 3).
#include "layers/module.h"

#include <atomic>
#include <iomanip>
#include <map>
#include <sstream>

namespace stablenn {

namespace {
// While summary() runs: the modules called, in call order, with their output shapes.
std::vector<std::pair<const Module*, Shape>>* g_summary_calls = nullptr;
std::atomic<uint64_t> g_step_counter{0};  // numbers handed out so far
std::atomic<uint64_t> g_shared_step{0};   // the one running now, 0 for none
}  // namespace

uint64_t shared_step_number() { return g_shared_step.load(std::memory_order_acquire); }

std::mutex& training_state_mutex() {
  static std::mutex mutex;
  return mutex;
}

SharedStepScope::SharedStepScope() {
  SNN_CHECK(shared_step_number() == 0, "SharedStepScope: data-parallel steps do not nest");
  g_shared_step.store(g_step_counter.fetch_add(1) + 1, std::memory_order_release);
}
SharedStepScope::~SharedStepScope() { g_shared_step.store(0, std::memory_order_release); }

bool Module::data_parallel_safe() const {
  if (!own_forward_shards_safely()) return false;
  for (const auto& child : children_)
    if (!child.second->data_parallel_safe()) return false;
  return true;
}

Var Module::operator()(const Var& x) {
  Var y = forward(x);
  if (g_summary_calls) g_summary_calls->emplace_back(this, y.shape());
  return y;
}

Var Module::register_parameter(const std::string& name, const Tensor& init) {
  for (const auto& p : params_)
    SNN_CHECK(p.first != name, describe(), ": parameter '", name, "' registered twice");
  Var v(init, true);
  v.set_name(name);
  params_.emplace_back(name, v);
  return v;
}

Tensor Module::register_buffer(const std::string& name, const Tensor& init) {
  buffers_.emplace_back(name, init);
  return init;
}

std::vector<std::pair<std::string, Var>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Var>> out = params_;
  for (const auto& [child_name, child] : children_)
    for (auto& [name, v] : child->named_parameters()) out.emplace_back(child_name + "." + name, v);
  return out;
}

std::vector<Var> Module::parameters() const {
  std::vector<Var> out;
  for (auto& p : named_parameters()) out.push_back(p.second);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out = buffers_;
  for (const auto& [child_name, child] : children_)
    for (auto& [name, t] : child->named_buffers()) out.emplace_back(child_name + "." + name, t);
  return out;
}

std::vector<NamedTensor> Module::state() const {
  std::vector<NamedTensor> out;
  for (auto& [name, v] : named_parameters()) out.push_back({name, v.value()});
  for (auto& [name, t] : named_buffers()) out.push_back({name, t});
  return out;
}

int64_t Module::own_parameter_count() const {
  int64_t n = 0;
  for (const auto& p : params_) n += p.second.numel();
  return n;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : named_parameters()) n += p.second.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  on_mode_change();
  for (auto& c : children_) c.second->train(on);
}

void Module::zero_grad() {
  for (auto& p : named_parameters()) p.second.zero_grad();
}

std::string Module::summary(const Shape& input_shape, DType dtype) {
  // qualified names of every module below this one
  std::map<const Module*, std::string> names;
  std::vector<const Module*> stack = {this};
  names[this] = "(model)";
  while (!stack.empty()) {
    const Module* m = stack.back();
    stack.pop_back();
    for (const auto& [child_name, child] : m->children()) {
      names[child.get()] = m == this ? child_name : names[m] + "." + child_name;
      stack.push_back(child.get());
    }
  }
  std::vector<std::pair<const Module*, Shape>> calls;
  const bool was_training = training_;
  eval();
  {
    NoGrad no_grad;
    g_summary_calls = &calls;
    try {
      (*this)(Var(Tensor::zeros(input_shape, dtype)));
    } catch (...) {
      g_summary_calls = nullptr;
      train(was_training);
      throw;
    }
    g_summary_calls = nullptr;
  }
  train(was_training);
  // Children finish before their parents: list the leaves (modules with parameters or no children)
  // in call order, then the total.
  std::ostringstream os;
  os << std::left << std::setw(22) << "layer" << std::setw(40) << "type" << std::setw(20)
     << "output shape" << std::right << std::setw(12) << "parameters" << "\n";
  os << std::string(94, '-') << "\n";
  os << std::left << std::setw(22) << "input" << std::setw(40) << "" << std::setw(20)
     << shape_str(input_shape) << "\n";
  for (const auto& [m, shape] : calls) {
    if (m == this && !children_.empty()) continue;
    if (!m->children().empty() && m->own_parameter_count() == 0) continue;
    std::string desc = m->describe();
    if (desc.size() > 38) desc = desc.substr(0, 35) + "...";
    os << std::left << std::setw(22) << names[m] << std::setw(40) << desc << std::setw(20)
       << shape_str(shape) << std::right << std::setw(12) << m->own_parameter_count() << "\n";
  }
  os << std::string(94, '-') << "\n";
  os << "total parameters: " << num_parameters() << "\n";
  return os.str();
}

// ---- Sequential ----
Sequential::Sequential(std::vector<std::shared_ptr<Module>> layers) {
  for (auto& l : layers) add(std::move(l));
}

void Sequential::add(std::shared_ptr<Module> layer) {
  SNN_CHECK(layer != nullptr, "Sequential::add: null layer");
  register_module(std::to_string(children().size()), std::move(layer));
}

Var Sequential::forward(const Var& x) {
  Var h = x;
  for (const auto& c : children()) h = (*c.second)(h);
  return h;
}

}  // namespace stablenn
