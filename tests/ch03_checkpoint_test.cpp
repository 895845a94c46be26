// tests/ch03_checkpoint_test.cpp — checkpoints: bit-exact round trips of a model and its optimiser,
// resuming training, the safetensors layout, and the errors for truncated, corrupt and mismatched
// files (chapter 3).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "io/file_bytes.h"
#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/losses.h"
#include "layers/normalization.h"
#include "train/checkpoint.h"
#include "tests/ch03_datasets_util.h"

namespace stablenn {
namespace {

using datasets_test::TempDir;

// Linear(4 -> hidden), BatchNorm, ReLU, Linear(hidden -> 3): parameters and buffers.
std::shared_ptr<Sequential> make_model(uint64_t seed, int64_t hidden = 8, DType dtype = DType::Float32) {
  Generator g(seed);
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Linear>(4, hidden, true, g, dtype), std::make_shared<BatchNorm>(hidden, 0.1, 1e-5, dtype),
      ReLU(), std::make_shared<Linear>(hidden, 3, true, g, dtype)});
}

// `steps` Adam/SGD steps on seeded random batches (batch k of a run depends only on k).
void train_steps(Module& model, Optimizer& optimizer, int64_t first, int64_t steps) {
  for (int64_t k = first; k < first + steps; ++k) {
    Generator g(100 + static_cast<uint64_t>(k));
    const Tensor x = g.normal({16, 4}, 0, 1, model.parameters()[0].dtype());
    std::vector<int64_t> y(16);
    for (auto& label : y) label = g.randint(0, 3);
    optimizer.zero_grad();
    const Var loss = cross_entropy(model(Var(x)), Tensor::from_int64(y, {16}));
    backward(loss);
    optimizer.step();
  }
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.raw_data(), cb.raw_data(), static_cast<size_t>(a.numel()) * dtype_size(a.dtype())) == 0;
}

void expect_same_state(const std::vector<NamedTensor>& a, const std::vector<NamedTensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_TRUE(same_bytes(a[i].tensor, b[i].tensor)) << a[i].name;
  }
}

// The message of the Error that fn throws ("" and a test failure when it throws none).
template <class F>
std::string error_of(F fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a stablenn::Error";
  return "";
}

void expect_contains(const std::string& text, const std::string& piece) {
  EXPECT_NE(text.find(piece), std::string::npos) << "'" << piece << "' not in: " << text;
}

TEST(Ch03Checkpoint, ModelAndOptimiserRoundTripBitExact) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  auto model = make_model(1);
  Adam adam(model->parameters(), 0.01);
  train_steps(*model, adam, 0, 3);
  save_checkpoint(path, *model, &adam, {{"epoch", "3"}, {"note", "round trip"}});

  auto loaded = make_model(2);  // different initial weights
  Adam loaded_adam(loaded->parameters(), 0.5);
  const CheckpointMetadata meta = load_checkpoint(path, *loaded, &loaded_adam);
  expect_same_state(model->state(), loaded->state());
  expect_same_state(adam.state(), loaded_adam.state());
  EXPECT_EQ(loaded_adam.steps(), 3);
  EXPECT_EQ(loaded_adam.lr(), 0.01);
  EXPECT_EQ(meta.at("epoch"), "3");
  EXPECT_EQ(meta.at("note"), "round trip");
  EXPECT_EQ(meta.at("format"), "stablenn-checkpoint");
  EXPECT_EQ(meta.at("optimizer"), "Adam");
  // Only the checkpoint is left in the folder: the temporary file was renamed.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "model.safetensors");
  }
  EXPECT_EQ(files, 1);
}

TEST(Ch03Checkpoint, ResumedTrainingEqualsUninterruptedTraining) {
  TempDir dir;
  const std::string path = dir.file("resume.safetensors");
  for (bool adam : {true, false}) {
    SCOPED_TRACE(adam ? "Adam" : "SGD with Nesterov momentum");
    auto make_optimizer = [adam](std::vector<Var> p) -> std::unique_ptr<Optimizer> {
      if (adam) return std::make_unique<Adam>(std::move(p), 0.01);
      return std::make_unique<SGD>(std::move(p), 0.05, 0.9, true, 1e-3);
    };
    auto model = make_model(3);
    auto optimizer = make_optimizer(model->parameters());
    train_steps(*model, *optimizer, 0, 4);
    save_checkpoint(path, *model, optimizer.get());
    train_steps(*model, *optimizer, 4, 4);

    auto resumed = make_model(4);
    auto resumed_optimizer = make_optimizer(resumed->parameters());
    load_checkpoint(path, *resumed, resumed_optimizer.get());
    train_steps(*resumed, *resumed_optimizer, 4, 4);
    expect_same_state(model->state(), resumed->state());
  }
}

TEST(Ch03Checkpoint, FileIsPlainSafetensorsWithPyTorchNames) {
  TempDir dir;
  const std::string path = dir.file("plain.safetensors");
  auto model = make_model(5);
  save_checkpoint(path, *model);
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  uint64_t header_size = 0;
  for (int b = 0; b < 8; ++b) header_size |= uint64_t(bytes[static_cast<size_t>(b)]) << (8 * b);
  const std::string header(reinterpret_cast<const char*>(bytes.data()) + 8, header_size);
  expect_contains(header, "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[8,4]");
  expect_contains(header, "\"1.running_var\"");
  EXPECT_EQ(header.find("optimizer."), std::string::npos);  // saved without one
  // The first tensor's bytes follow the header unchanged (little-endian float32).
  const Tensor w = model->named_parameters()[0].second.value();
  EXPECT_EQ(std::memcmp(bytes.data() + 8 + header_size, w.raw_data(), 32 * sizeof(float)), 0);
  // A model-only load ignores nothing and needs no optimiser.
  auto other = make_model(6);
  load_checkpoint(path, *other);
  expect_same_state(model->state(), other->state());
}

TEST(Ch03Checkpoint, TruncatedFilesAreRejectedWithoutChangingTheModel) {
  TempDir dir;
  const std::string path = dir.file("full.safetensors");
  auto model = make_model(7);
  Adam adam(model->parameters());
  save_checkpoint(path, *model, &adam);
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  auto target = make_model(8);
  const std::vector<NamedTensor> before = target->state();
  std::vector<NamedTensor> before_copy;
  for (const auto& t : before) before_copy.push_back({t.name, t.tensor.clone()});
  for (size_t keep : {size_t(0), size_t(5), size_t(40), bytes.size() - 7}) {
    SCOPED_TRACE(keep);
    const std::string cut = dir.file("cut.safetensors");
    datasets_test::write_raw(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(keep)));
    const std::string message = error_of([&] { load_checkpoint(cut, *target); });
    expect_contains(message, cut);
    if (keep == bytes.size() - 7) {
      // The header is whole: the message names the tensor whose data is cut off.
      expect_contains(message, "out of range");
      expect_contains(message, "tensor '");
    } else {
      expect_contains(message, "truncated");
    }
  }
  expect_same_state(before_copy, target->state());
}

TEST(Ch03Checkpoint, CorruptHeadersAreRejected) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  auto model = make_model(9);
  save_checkpoint(path, *model);
  std::vector<uint8_t> bytes = read_file_bytes(path);
  std::vector<uint8_t> broken_json = bytes;
  broken_json[20] = '}';  // inside the first name or entry
  datasets_test::write_raw(path, broken_json);
  expect_contains(error_of([&] { load_checkpoint(path, *model); }), path);
  datasets_test::write_raw(path, std::vector<uint8_t>(64, 0x41));  // not a safetensors file at all
  expect_contains(error_of([&] { load_checkpoint(path, *model); }), path);
  expect_contains(error_of([&] { load_checkpoint(dir.file("missing.safetensors"), *model); }), "missing.safetensors");
}

TEST(Ch03Checkpoint, AnotherModelsFileNamesTheTensorsAndShapes) {
  TempDir dir;
  const std::string path = dir.file("wide.safetensors");
  auto wide = make_model(10, 8);
  save_checkpoint(path, *wide);
  auto narrow = make_model(11, 6);
  const Tensor weight_before = narrow->named_parameters()[0].second.value().clone();
  const std::string message = error_of([&] { load_checkpoint(path, *narrow); });
  expect_contains(message, path);
  expect_contains(message, "tensor '0.weight': expected shape [6, 4], file has [8, 4]");
  expect_contains(message, "tensor '3.weight': expected shape [3, 6], file has [3, 8]");
  EXPECT_TRUE(same_bytes(weight_before, narrow->named_parameters()[0].second.value()));

  // A different layout: missing and unexpected tensors are all listed.
  Generator g(12);
  Sequential mlp({std::make_shared<Linear>(4, 8, true, g), ReLU(), std::make_shared<Linear>(8, 3, true, g)});
  const std::string layout = error_of([&] { load_checkpoint(path, mlp); });
  expect_contains(layout, "tensor '2.weight': missing from the file");
  expect_contains(layout, "tensor '1.running_mean': unexpected (not in the model)");

  // Same shapes, other dtype.
  auto doubles = make_model(13, 8, DType::Float64);
  expect_contains(error_of([&] { load_checkpoint(path, *doubles); }), "expected dtype F64, file has F32");
}

TEST(Ch03Checkpoint, OptimiserStateMustMatch) {
  TempDir dir;
  const std::string with_adam = dir.file("adam.safetensors"), model_only = dir.file("model.safetensors");
  auto model = make_model(14);
  Adam adam(model->parameters());
  train_steps(*model, adam, 0, 1);
  save_checkpoint(with_adam, *model, &adam);
  save_checkpoint(model_only, *model);

  auto target = make_model(15);
  SGD sgd(target->parameters(), 0.1, 0.9);
  expect_contains(error_of([&] { load_checkpoint(with_adam, *target, &sgd); }),
                  "holds the state of a Adam optimiser, cannot load it into SGD");
  Adam fresh(target->parameters());
  expect_contains(error_of([&] { load_checkpoint(model_only, *target, &fresh); }), "holds no optimiser state");
  EXPECT_EQ(fresh.steps(), 0);
  // An optimiser over a different parameter list.
  Adam partial({target->parameters()[0]});
  expect_contains(error_of([&] { load_checkpoint(with_adam, *target, &partial); }), "for 6 parameters");
  // The model alone loads from a file that also holds an optimiser state.
  load_checkpoint(with_adam, *target);
  expect_same_state(model->state(), target->state());
}

TEST(Ch03Checkpoint, SaveErrorsNameTheFile) {
  TempDir dir;
  auto model = make_model(16);
  const std::string nowhere = dir.file("no/such/folder/model.safetensors");
  expect_contains(error_of([&] { save_checkpoint(nowhere, *model); }), nowhere);
  expect_contains(error_of([&] { save_checkpoint(dir.file("m.safetensors"), *model, nullptr, {{"format", "x"}}); }),
                  "metadata key 'format' is reserved");
}

}  // namespace
}  // namespace stablenn
