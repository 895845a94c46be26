// fuzz/fuzz_checkpoint.cpp — safetensors bytes (decode_safetensors), then, when they decode, the
// same file as a checkpoint of a small model with its Adam state (load_checkpoint) and its
// "epoch" metadata (checkpoint_integer) (issue 15).
#include "fuzz/fuzz_model.h"
#include "fuzz/fuzz_util.h"
#include "io/safetensors.h"
#include "train/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    stablenn::decode_safetensors(data, size, "fuzz.safetensors");
  } catch (const stablenn::Error&) {
    return 0;
  }
  static const auto model = stablenn_fuzz::fuzz_model();
  static stablenn::Adam adam(model->parameters(), 0.01);
  const std::string path = stablenn_fuzz::write_input(data, size, "checkpoint");
  try {
    const stablenn::CheckpointMetadata meta = stablenn::load_checkpoint(path, *model, &adam);
    stablenn::checkpoint_integer(meta, "epoch", path, 0, 1'000'000'000);
  } catch (const stablenn::Error&) {
  }
  return 0;
}
