// datasets/dataset.h — a labelled dataset in memory, splits and subsets (chapter 3).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace stablenn {

// Chapter 3: a labelled dataset held in memory.
struct Dataset {
  std::string name;                      // e.g. "mnist/train"; used in messages
  Tensor inputs;                         // images: [N, C, H, W] float32 in [0, 1]; toy sets: [N, 2]
  Tensor labels;                         // [N] Int64 in 0 .. num_classes()-1
  std::vector<std::string> class_names;  // label -> name
  // CIFAR-100 only: the 20 superclasses ([N] Int64 and their names); undefined / empty otherwise.
  Tensor coarse_labels;
  std::vector<std::string> coarse_class_names;

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
};

// Chapter 3: which part of a dataset to read.
enum class Split { Train, Test };
// Chapter 3: "train" / "test", for names and messages.
const char* split_name(Split split);

// Chapter 3: which examples to keep when reading. All; the first `count`; or `count` drawn at random
// with `seed`. With `stratified`, every class gets count / num_classes examples (the first classes
// one more when it does not divide), taken in file order (First) or at random (Random). The kept
// examples stay in file order.
struct Subset {
  enum class Mode { All, First, Random };
  Mode mode = Mode::All;
  int64_t count = 0;
  uint64_t seed = 0;
  bool stratified = false;

  static Subset all() { return {}; }
  static Subset first(int64_t n, bool stratified = false) { return {Mode::First, n, 0, stratified}; }
  static Subset random(int64_t n, uint64_t seed, bool stratified = false) {
    return {Mode::Random, n, seed, stratified};
  }
};

// Chapter 3: the indices (ascending) a subset keeps out of `labels` (values in 0..num_classes-1).
// Throws naming `what` when `count` is larger than the dataset or than a class holds.
std::vector<int64_t> subset_indices(const std::vector<int64_t>& labels, int64_t num_classes,
                                    const Subset& subset, const std::string& what);

// Chapter 3: the examples at `indices`, in that order (copies; the result owns its data).
Dataset select_examples(const Dataset& data, const std::vector<int64_t>& indices);
// Chapter 3: select_examples(data, subset_indices(...)).
Dataset take_subset(const Dataset& data, const Subset& subset);
// Chapter 3: how many examples each class has (length num_classes()).
std::vector<int64_t> class_counts(const Dataset& data);

// Chapter 3: builds [n, C, H, W] float32 in [0, 1] from n records of C*H*W bytes each;
// record i starts at records[i]. Used by the MNIST, CIFAR and image readers.
Tensor images_from_bytes(const std::vector<const uint8_t*>& records, int64_t channels,
                         int64_t height, int64_t width);

}  // namespace stablenn
