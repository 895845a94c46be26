// datasets/mnist.cpp — MNIST and Fashion-MNIST from IDX files (chapter 3).
#include "datasets/mnist.h"

#include "core/error.h"
#include "datasets/data_dir.h"
#include "datasets/idx.h"

namespace stablenn {

const std::vector<std::string>& mnist_class_names() {
  static const std::vector<std::string> names = {"0", "1", "2", "3", "4",
                                                 "5", "6", "7", "8", "9"};
  return names;
}

const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                                 "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};
  return names;
}

std::vector<std::string> idx_file_names(Split split) {
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  return {prefix + "-images-idx3-ubyte", prefix + "-labels-idx1-ubyte"};
}

Dataset read_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         const std::string& name, const std::vector<std::string>& class_names,
                         const Subset& subset) {
  const IdxArray images = read_idx(images_path, 3);
  const IdxArray labels = read_idx(labels_path, 1);
  const int64_t n = images.dims[0], height = images.dims[1], width = images.dims[2];
  SNN_CHECK(labels.dims[0] == n, name, ": image and label counts differ: ", images_path, " holds ",
            n, " images but ", labels_path, " holds ", labels.dims[0], " labels");
  SNN_CHECK(height > 0 && width > 0, images_path, ": images of size ", height, "x", width);
  const int64_t num_classes = static_cast<int64_t>(class_names.size());
  std::vector<int64_t> all_labels(n);
  for (int64_t i = 0; i < n; ++i) {
    all_labels[i] = labels.data()[i];
    SNN_CHECK(all_labels[i] < num_classes, labels_path, ": label ", all_labels[i], " of example ",
              i, " is outside 0..", num_classes - 1);
  }
  const std::vector<int64_t> kept = subset_indices(all_labels, num_classes, subset, name);
  std::vector<const uint8_t*> records;
  std::vector<int64_t> kept_labels;
  records.reserve(kept.size());
  for (int64_t i : kept) {
    records.push_back(images.data() + i * height * width);
    kept_labels.push_back(all_labels[i]);
  }
  Dataset out;
  out.name = name;
  out.inputs = images_from_bytes(records, 1, height, width);
  out.labels = Tensor::from_int64(kept_labels, {static_cast<int64_t>(kept_labels.size())});
  out.class_names = class_names;
  return out;
}

namespace {

Dataset load_idx_dataset(const std::string& dataset, const std::vector<std::string>& subfolders,
                         const std::vector<std::string>& class_names, Split split,
                         const std::string& data_dir, const Subset& subset) {
  const std::vector<std::string> files = idx_file_names(split);
  const std::string folder = find_dataset_folder(dataset, subfolders, files, data_dir);
  return read_idx_dataset(find_raw_or_gz(folder, files[0]), find_raw_or_gz(folder, files[1]),
                          dataset + "/" + split_name(split), class_names, subset);
}

}  // namespace

Dataset load_mnist(Split split, const std::string& data_dir, const Subset& subset) {
  // "MNIST/raw" is where torchvision keeps the same files.
  return load_idx_dataset("mnist", {"mnist", "MNIST/raw"}, mnist_class_names(), split, data_dir,
                          subset);
}

Dataset load_fashion_mnist(Split split, const std::string& data_dir, const Subset& subset) {
  return load_idx_dataset("fashion-mnist", {"fashion-mnist", "FashionMNIST/raw"},
                          fashion_mnist_class_names(), split, data_dir, subset);
}

}  // namespace stablenn
