// datasets/dataset.cpp — subsets and the byte -> float image conversion (chapter 3).
#include "datasets/dataset.h"

#include <algorithm>
#include <cstring>

#include "core/parallel.h"
#include "core/random.h"

namespace stablenn {

const char* split_name(Split split) { return split == Split::Train ? "train" : "test"; }

namespace {

// How many examples class c gets when `count` is split evenly over `num_classes`.
int64_t stratified_share(int64_t count, int64_t num_classes, int64_t c) {
  return count / num_classes + (c < count % num_classes ? 1 : 0);
}

}  // namespace

std::vector<int64_t> subset_indices(const std::vector<int64_t>& labels, int64_t num_classes,
                                    const Subset& subset, const std::string& what) {
  const int64_t n = static_cast<int64_t>(labels.size());
  std::vector<int64_t> kept;
  if (subset.mode == Subset::Mode::All) {
    kept.resize(n);
    for (int64_t i = 0; i < n; ++i) kept[i] = i;
    return kept;
  }
  SNN_CHECK(subset.count >= 0 && subset.count <= n, what, ": subset of ", subset.count,
            " examples asked for, but the data holds ", n);
  // Candidate order: file order (First) or a seeded permutation (Random).
  std::vector<int64_t> order;
  if (subset.mode == Subset::Mode::First) {
    order.resize(n);
    for (int64_t i = 0; i < n; ++i) order[i] = i;
  } else {
    Generator gen(subset.seed);
    order = gen.permutation(n);
  }
  if (!subset.stratified) {
    kept.assign(order.begin(), order.begin() + subset.count);
  } else {
    SNN_CHECK(num_classes > 0, what, ": a stratified subset needs the number of classes");
    std::vector<int64_t> taken(num_classes, 0), available(num_classes, 0);
    for (int64_t label : labels) {
      SNN_CHECK(label >= 0 && label < num_classes, what, ": label ", label, " outside 0..",
                num_classes - 1);
      ++available[label];
    }
    for (int64_t c = 0; c < num_classes; ++c) {
      SNN_CHECK(stratified_share(subset.count, num_classes, c) <= available[c], what,
                ": stratified subset of ", subset.count, " needs ",
                stratified_share(subset.count, num_classes, c), " examples of class ", c,
                " but the data holds only ", available[c]);
    }
    for (int64_t i : order) {
      const int64_t c = labels[i];
      if (taken[c] < stratified_share(subset.count, num_classes, c)) {
        ++taken[c];
        kept.push_back(i);
      }
    }
  }
  std::sort(kept.begin(), kept.end());
  return kept;
}

Dataset select_examples(const Dataset& data, const std::vector<int64_t>& indices) {
  // inputs: [N, ...] -> [n, ...]; labels: [N] -> [n]
  const int64_t n_total = data.size();
  const int64_t n = static_cast<int64_t>(indices.size());
  for (int64_t i : indices) {
    SNN_CHECK(i >= 0 && i < n_total, data.name, ": example index ", i, " outside 0..", n_total - 1);
  }
  Dataset out;
  out.name = data.name;
  out.class_names = data.class_names;
  out.coarse_class_names = data.coarse_class_names;
  const auto gather_rows = [&](const Tensor& source) {
    if (!source.defined()) return Tensor();
    const Tensor src = source.contiguous();
    Shape shape = src.shape();
    shape[0] = n;
    Tensor dst = Tensor::empty(shape, src.dtype());
    const size_t row_bytes =
        dtype_size(src.dtype()) * static_cast<size_t>(n_total == 0 ? 0 : src.numel() / n_total);
    const auto* from = static_cast<const uint8_t*>(src.raw_data());
    auto* to = static_cast<uint8_t*>(dst.raw_data());
    for (int64_t k = 0; k < n; ++k) {
      std::memcpy(to + k * row_bytes, from + indices[k] * row_bytes, row_bytes);
    }
    return dst;
  };
  out.inputs = gather_rows(data.inputs);
  out.labels = gather_rows(data.labels);
  out.coarse_labels = gather_rows(data.coarse_labels);
  return out;
}

Dataset take_subset(const Dataset& data, const Subset& subset) {
  return select_examples(data, subset_indices(data.labels.to_int64(), data.num_classes(), subset,
                                              data.name));
}

std::vector<int64_t> class_counts(const Dataset& data) {
  std::vector<int64_t> counts(data.num_classes(), 0);
  for (int64_t label : data.labels.to_int64()) {
    SNN_CHECK(label >= 0 && label < data.num_classes(), data.name, ": label ", label,
              " outside 0..", data.num_classes() - 1);
    ++counts[label];
  }
  return counts;
}

Tensor images_from_bytes(const std::vector<const uint8_t*>& records, int64_t channels,
                         int64_t height, int64_t width) {
  // records[i]: C*H*W bytes -> out[i]: [C, H, W] floats = byte / 255
  const int64_t n = static_cast<int64_t>(records.size());
  const int64_t per_image = channels * height * width;
  Tensor out = Tensor::empty({n, channels, height, width}, DType::Float32);
  float* dst = out.data<float>();
  float table[256];  // one division per byte value, not per pixel
  for (int v = 0; v < 256; ++v) table[v] = static_cast<float>(v) / 255.0f;
  parallel_for(0, n, std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(1, per_image)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t i = lo; i < hi; ++i) {
                   const uint8_t* src = records[i];
                   float* row = dst + i * per_image;
                   for (int64_t k = 0; k < per_image; ++k) row[k] = table[src[k]];
                 }
               });
  return out;
}

}  // namespace stablenn
