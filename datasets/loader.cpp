// datasets/loader.cpp — the batching loader and its prefetching reader (chapter 3).
#include "datasets/loader.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/random.h"

namespace stablenn {

DataLoader::DataLoader(Dataset data, LoaderOptions options)
    : data_(std::move(data)), options_(std::move(options)) {
  const std::string& name = data_.name;
  SNN_CHECK(data_.inputs.defined() && data_.labels.defined(), "DataLoader(", name,
            "): the dataset has no inputs or labels");
  SNN_CHECK(data_.inputs.dim() >= 2 && data_.inputs.size(0) == data_.labels.numel() &&
                data_.labels.dim() == 1,
            "DataLoader(", name, "): inputs ", shape_str(data_.inputs.shape()), " and labels ",
            shape_str(data_.labels.shape()), " do not match (expected [N, ...] and [N])");
  SNN_CHECK(data_.labels.dtype() == DType::Int64, "DataLoader(", name, "): labels must be Int64, got ",
            dtype_name(data_.labels.dtype()));
  SNN_CHECK(options_.batch_size > 0, "DataLoader(", name, "): batch_size must be > 0, got ",
            options_.batch_size);
  // Batches are gathered with memcpy: keep float32, contiguous inputs.
  data_.inputs = data_.inputs.to(DType::Float32).contiguous();
  data_.labels = data_.labels.contiguous();
  const Augmentation& aug = options_.augmentation;
  SNN_CHECK(!aug.any() || data_.inputs.dim() == 4, "DataLoader(", name,
            "): augmentation needs images [N, C, H, W], got inputs ",
            shape_str(data_.inputs.shape()));
  SNN_CHECK(aug.crop_padding >= 0, "DataLoader(", name, "): crop_padding must be >= 0, got ",
            aug.crop_padding);
  SNN_CHECK(aug.erasing_probability >= 0 && aug.erasing_probability <= 1 &&
                aug.erasing_min_area > 0 && aug.erasing_min_area <= aug.erasing_max_area &&
                aug.erasing_max_area <= 1 && aug.erasing_min_aspect > 0 &&
                aug.erasing_min_aspect <= 1,
            "DataLoader(", name, "): random erasing needs 0 <= probability <= 1, "
            "0 < min_area <= max_area <= 1 and 0 < min_aspect <= 1");
  const int64_t channels = data_.inputs.size(1);
  SNN_CHECK(options_.mean.size() == options_.std.size(), "DataLoader(", name, "): ",
            options_.mean.size(), " means but ", options_.std.size(), " standard deviations");
  if (!options_.mean.empty()) {
    SNN_CHECK(static_cast<int64_t>(options_.mean.size()) == channels, "DataLoader(", name,
              "): normalisation has ", options_.mean.size(), " channels but the inputs ",
              shape_str(data_.inputs.shape()), " have ", channels);
    for (int64_t c = 0; c < channels; ++c) {
      SNN_CHECK(options_.std[c] > 0 && std::isfinite(options_.std[c]) &&
                    std::isfinite(options_.mean[c]),
                "DataLoader(", name, "): std[", c, "] = ", options_.std[c],
                " must be positive and finite");
      scale_.push_back(static_cast<float>(1.0 / options_.std[c]));
      shift_.push_back(static_cast<float>(-options_.mean[c] / options_.std[c]));
    }
  }
}

int64_t DataLoader::num_batches() const {
  const int64_t n = data_.size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<int64_t> DataLoader::epoch_order(int64_t epoch) const {
  const int64_t n = data_.size();
  if (options_.shuffle) {
    Generator gen(mix_seed(options_.seed, static_cast<uint64_t>(epoch)));
    return gen.permutation(n);
  }
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  return order;
}

Batch DataLoader::batch(int64_t epoch, int64_t index) const {
  return make_batch(epoch_order(epoch), epoch, index);
}

Batch DataLoader::make_batch(const std::vector<int64_t>& order, int64_t epoch, int64_t index) const {
  // inputs [N, C, H, W] (or [N, D]) -> batch [B, C, H, W]: gather, crop+flip, erase, normalise.
  SNN_CHECK(index >= 0 && index < num_batches(), "DataLoader(", data_.name, "): batch ", index,
            " outside 0..", num_batches() - 1);
  const int64_t start = index * options_.batch_size;
  const int64_t count = std::min(options_.batch_size, data_.size() - start);
  const Shape& shape = data_.inputs.shape();
  const int64_t per_example = data_.inputs.numel() / std::max<int64_t>(1, data_.size());
  const int64_t channels = shape[1];
  const int64_t plane = per_example / channels;  // H*W for images, 1 for [N, D]

  Batch out;
  out.epoch = epoch;
  out.index = index;
  out.indices.assign(order.begin() + start, order.begin() + start + count);
  Shape batch_shape = shape;
  batch_shape[0] = count;
  out.inputs = Tensor::empty(batch_shape, DType::Float32);
  std::vector<int64_t> labels(count);
  const int64_t* all_labels = data_.labels.data<int64_t>();
  for (int64_t k = 0; k < count; ++k) labels[k] = all_labels[out.indices[k]];
  out.labels = Tensor::from_int64(labels, {count});

  // All random draws happen here, before the pixel work, in a fixed order.
  const Augmentation& aug = options_.augmentation;
  std::vector<CropFlip> crops;
  std::vector<EraseBox> boxes;
  if (aug.any()) {
    Generator gen(mix_seed(mix_seed(options_.seed, static_cast<uint64_t>(epoch)),
                           static_cast<uint64_t>(index)));
    crops = draw_crop_flip(count, aug.crop_padding, aug.horizontal_flip, gen);
    boxes = draw_erase_boxes(count, shape[2], shape[3], aug, gen);
  }
  const bool crop_or_flip = aug.crop_padding > 0 || aug.horizontal_flip;
  const float* src = data_.inputs.data<float>();
  float* dst = out.inputs.data<float>();
  for (int64_t k = 0; k < count; ++k) {
    const float* from = src + out.indices[k] * per_example;
    float* to = dst + k * per_example;
    const bool erase = !boxes.empty() && boxes[k].height > 0;
    if (crop_or_flip) {
      crop_flip_image(from, to, channels, shape[2], shape[3], aug.crop_padding, crops[k]);
    } else if (!scale_.empty() && !erase) {
      // The common case without augmentation: copy and normalise in one pass.
      for (int64_t c = 0; c < channels; ++c) {
        const float* p = from + c * plane;
        float* q = to + c * plane;
        const float a = scale_[c], b = shift_[c];
        for (int64_t j = 0; j < plane; ++j) q[j] = p[j] * a + b;
      }
      continue;
    } else {
      std::memcpy(to, from, sizeof(float) * per_example);
    }
    if (erase) erase_image(to, channels, shape[2], shape[3], boxes[k], aug.erasing_value);
    if (!scale_.empty()) {
      for (int64_t c = 0; c < channels; ++c) {
        float* p = to + c * plane;
        const float a = scale_[c], b = shift_[c];
        for (int64_t j = 0; j < plane; ++j) p[j] = p[j] * a + b;
      }
    }
  }
  return out;
}

EpochReader DataLoader::epoch(int64_t epoch) const { return EpochReader(*this, epoch); }

EpochReader::EpochReader(const DataLoader& loader, int64_t epoch)
    : loader_(loader), epoch_(epoch), order_(loader.epoch_order(epoch)) {
  if (loader_.options().prefetch && loader_.num_batches() > 0) {
    worker_ = std::thread([this] { worker_loop(); });
  }
}

EpochReader::~EpochReader() {
  if (worker_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    worker_.join();
  }
}

void EpochReader::worker_loop() {
  // Builds batches 0, 1, 2, ... into the one-slot queue, so one batch waits while the caller uses
  // the previous one and a third is being built.
  for (int64_t index = 0; index < loader_.num_batches(); ++index) {
    std::unique_ptr<Batch> built;
    try {
      built = std::make_unique<Batch>(loader_.make_batch(order_, epoch_, index));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
      changed_.notify_all();
      return;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return stop_ || ready_ == nullptr; });
    if (stop_) return;
    ready_ = std::move(built);
    ready_index_ = index;
    changed_.notify_all();
  }
}

bool EpochReader::next(Batch& batch) {
  if (next_index_ >= loader_.num_batches()) return false;
  if (!worker_.joinable()) {
    batch = loader_.make_batch(order_, epoch_, next_index_);
    ++next_index_;
    return true;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return ready_ != nullptr || error_ != nullptr; });
  if (ready_ == nullptr) std::rethrow_exception(error_);
  SNN_CHECK(ready_index_ == next_index_, "EpochReader: batch ", ready_index_, " arrived where ",
            next_index_, " was expected");
  batch = std::move(*ready_);
  ready_.reset();
  ++next_index_;
  changed_.notify_all();
  return true;
}

void channel_mean_std(const Tensor& inputs, std::vector<double>& mean, std::vector<double>& std) {
  // inputs [N, C, ...] -> mean[C], std[C]
  SNN_CHECK(inputs.defined() && inputs.dim() >= 2, "channel_mean_std: expected inputs [N, C, ...]");
  const Tensor x = inputs.to(DType::Float32).contiguous();
  const int64_t n = x.size(0), channels = x.size(1);
  const int64_t plane = n == 0 ? 0 : x.numel() / (n * channels);
  const float* p = x.data<float>();
  mean.assign(channels, 0.0);
  std.assign(channels, 0.0);
  const double count = double(n) * double(plane);
  SNN_CHECK(count > 0, "channel_mean_std: no values");
  for (int64_t c = 0; c < channels; ++c) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float* q = p + (i * channels + c) * plane;
      for (int64_t j = 0; j < plane; ++j) sum += q[j];
    }
    mean[c] = sum / count;
    double squares = 0;  // second pass: accurate even when the mean is large
    for (int64_t i = 0; i < n; ++i) {
      const float* q = p + (i * channels + c) * plane;
      for (int64_t j = 0; j < plane; ++j) squares += (q[j] - mean[c]) * (q[j] - mean[c]);
    }
    std[c] = std::sqrt(squares / count);
  }
}

}  // namespace stablenn
