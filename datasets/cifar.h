// datasets/cifar.h — CIFAR-10 and CIFAR-100, binary version (chapter 3).
//
// A file is a sequence of records with no header: the label byte(s), then 1024 red, 1024 green and
// 1024 blue bytes of a 32x32 image, row-major. CIFAR-10 records have one label byte (3073 bytes),
// CIFAR-100 records two, coarse then fine (3074 bytes). Official names, raw or .gz:
// CIFAR-10 data_batch_1.bin .. data_batch_5.bin and test_batch.bin in <data root>/cifar-10/
// (or cifar-10-batches-bin/, as the official archive unpacks); CIFAR-100 train.bin and test.bin in
// <data root>/cifar-100/ (or cifar-100-binary/).
#pragma once
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace stablenn {

// Chapter 3: the two record layouts.
enum class CifarFormat { Cifar10, Cifar100 };

// Chapter 3: "airplane", "automobile", ..., "truck".
const std::vector<std::string>& cifar10_class_names();
// Chapter 3: CIFAR-100's 100 fine classes ("apple" .. "worm") and 20 superclasses.
const std::vector<std::string>& cifar100_fine_class_names();
const std::vector<std::string>& cifar100_coarse_class_names();
// Chapter 3: the official file names of a split, without ".gz".
std::vector<std::string> cifar_file_names(CifarFormat format, Split split);

// Chapter 3: reads CIFAR binary files (raw or .gz), concatenated in the order given, into inputs
// [N, 3, 32, 32] float32 in [0, 1] and labels [N] Int64 (CIFAR-100: fine labels, coarse ones in
// coarse_labels). Throws naming the file when its size is not a whole number of records, it is
// empty, or a label is out of range. `name` is used in messages.
Dataset read_cifar_files(const std::vector<std::string>& paths, CifarFormat format,
                         const std::string& name, const Subset& subset = Subset::all());

// Chapter 3: CIFAR-10 / CIFAR-100 from the data folders (see datasets/data_dir.h). The label names
// come from batches.meta.txt / fine_label_names.txt / coarse_label_names.txt when present.
Dataset load_cifar10(Split split, const std::string& data_dir = "",
                     const Subset& subset = Subset::all());
Dataset load_cifar100(Split split, const std::string& data_dir = "",
                      const Subset& subset = Subset::all());

}  // namespace stablenn
