// train/checkpoint.h — a model and, optionally, its optimiser saved in one safetensors file
// (chapter 3).
//
// Layout of the file (see io/safetensors.h for the format itself):
//   "0.weight", "0.bias", ...        the model's parameters and buffers under their module names,
//                                    the names PyTorch's state_dict gives the same nn.Sequential,
//                                    so `safetensors.torch.load_file` + `load_state_dict` work
//   "optimizer.steps", "optimizer.lr", "optimizer.<i>.<buffer>"
//                                    the optimiser's state (step count, learning rate, per-parameter
//                                    buffers such as Adam's exp_avg), present only when saved with one
//   metadata                         {"format": "stablenn-checkpoint", "version": "1",
//                                     "optimizer": "Adam", "optimizer_parameters": "6", ...yours}
// The file is written atomically (temporary file, then rename): a crash during a save leaves the
// previous checkpoint intact. Loading checks everything before it changes anything.
#pragma once
#include <map>
#include <string>

#include "layers/module.h"
#include "train/optim.h"

namespace stablenn {

// Chapter 3: string key-value pairs stored with a checkpoint (e.g. {"epoch", "3"}).
using CheckpointMetadata = std::map<std::string, std::string>;

// Chapter 3: the prefix of the optimiser's entries; the model's tensor names must not start with it.
constexpr const char* kOptimizerPrefix = "optimizer.";

// Chapter 3: writes the model's parameters and buffers, and the optimiser's state when `optimizer`
// is given, to `path` atomically. Keys of `metadata` starting with "format", "version" or
// "optimizer" are reserved and rejected.
void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer = nullptr,
                     const CheckpointMetadata& metadata = {});

// Chapter 3: loads a checkpoint written by save_checkpoint (or any safetensors file holding the
// model's tensors) into `model`, and into `optimizer` when given. Returns the file's metadata.
// Throws stablenn::Error naming the file when it is truncated or corrupt, when it belongs to another
// model (tensors missing or unexpected: all of them listed), when a tensor's shape or dtype differs
// (naming the tensor and both shapes), when a tensor holds NaN or infinity (naming it), or when an
// optimiser is asked for and the file holds none or another kind's. On any error neither the
// model nor the optimiser is changed.
CheckpointMetadata load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer = nullptr);

// Chapter 3: the metadata entry `key` of the checkpoint `path` read as a whole number in
// [min, max]. Throws naming the file and the entry when it is missing, is not a number from its
// first character to its last ("abc", "1xyz", " 1"), or is out of range.
int64_t checkpoint_integer(const CheckpointMetadata& metadata, const std::string& key,
                           const std::string& path, int64_t min, int64_t max);

}  // namespace stablenn
