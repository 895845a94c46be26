// datasets/mnist.h — MNIST and Fashion-MNIST (chapter 3).
//
// Files (official names, raw or .gz): train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, in <data root>/mnist/ and
// <data root>/fashion-mnist/. 60,000 training and 10,000 test images of 28x28 grey levels.
#pragma once
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace stablenn {

// Chapter 3: "0" .. "9".
const std::vector<std::string>& mnist_class_names();
// Chapter 3: "T-shirt/top", "Trouser", ..., "Ankle boot".
const std::vector<std::string>& fashion_mnist_class_names();
// Chapter 3: the official file names of a split: {images file, labels file}, without ".gz".
std::vector<std::string> idx_file_names(Split split);

// Chapter 3: reads a pair of IDX files (raw or .gz) into inputs [N, 1, H, W] float32 in [0, 1] and
// labels [N] Int64. Throws naming the files when either is malformed, when their counts differ or
// when a label is not below class_names.size(). `name` is used in messages.
Dataset read_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         const std::string& name, const std::vector<std::string>& class_names,
                         const Subset& subset = Subset::all());

// Chapter 3: MNIST / Fashion-MNIST from the data folders (see datasets/data_dir.h); `data_dir` is
// the --data-dir value, empty when none was given.
Dataset load_mnist(Split split, const std::string& data_dir = "",
                   const Subset& subset = Subset::all());
Dataset load_fashion_mnist(Split split, const std::string& data_dir = "",
                           const Subset& subset = Subset::all());

}  // namespace stablenn
