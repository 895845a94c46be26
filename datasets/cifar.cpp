// datasets/cifar.cpp — CIFAR-10/100 binary records (chapter 3).
#include "datasets/cifar.h"

#include <sstream>

#include "core/error.h"
#include "datasets/data_dir.h"
#include "io/file_bytes.h"

namespace stablenn {

namespace {
constexpr int64_t kCifarSide = 32;
constexpr int64_t kCifarPixels = 3 * kCifarSide * kCifarSide;  // 3072
// The largest file of either dataset (CIFAR-100's train.bin) holds 50,000 records: no CIFAR file
// may inflate to more, plus a margin so a few stray bytes get the "whole records" message.
constexpr int64_t kCifarMaxRecords = 50000;
constexpr uint64_t kCifarSizeMargin = 4096;
constexpr uint64_t kMaxNamesFileBytes = 1 << 20;  // a class-name list is a few kilobytes
}  // namespace

const std::vector<std::string>& cifar10_class_names() {
  static const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",
                                                 "deer",     "dog",        "frog",  "horse",
                                                 "ship",     "truck"};
  return names;
}

const std::vector<std::string>& cifar100_fine_class_names() {
  static const std::vector<std::string> names = {
      "apple",        "aquarium_fish", "baby",        "bear",        "beaver",     "bed",
      "bee",          "beetle",        "bicycle",     "bottle",      "bowl",       "boy",
      "bridge",       "bus",           "butterfly",   "camel",       "can",        "castle",
      "caterpillar",  "cattle",        "chair",       "chimpanzee",  "clock",      "cloud",
      "cockroach",    "couch",         "crab",        "crocodile",   "cup",        "dinosaur",
      "dolphin",      "elephant",      "flatfish",    "forest",      "fox",        "girl",
      "hamster",      "house",         "kangaroo",    "keyboard",    "lamp",       "lawn_mower",
      "leopard",      "lion",          "lizard",      "lobster",     "man",        "maple_tree",
      "motorcycle",   "mountain",      "mouse",       "mushroom",    "oak_tree",   "orange",
      "orchid",       "otter",         "palm_tree",   "pear",        "pickup_truck", "pine_tree",
      "plain",        "plate",         "poppy",       "porcupine",   "possum",     "rabbit",
      "raccoon",      "ray",           "road",        "rocket",      "rose",       "sea",
      "seal",         "shark",         "shrew",       "skunk",       "skyscraper", "snail",
      "snake",        "spider",        "squirrel",    "streetcar",   "sunflower",  "sweet_pepper",
      "table",        "tank",          "telephone",   "television",  "tiger",      "tractor",
      "train",        "trout",         "tulip",       "turtle",      "wardrobe",   "whale",
      "willow_tree",  "wolf",          "woman",       "worm"};
  return names;
}

const std::vector<std::string>& cifar100_coarse_class_names() {
  static const std::vector<std::string> names = {
      "aquatic_mammals",         "fish",
      "flowers",                 "food_containers",
      "fruit_and_vegetables",    "household_electrical_devices",
      "household_furniture",     "insects",
      "large_carnivores",        "large_man-made_outdoor_things",
      "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
      "medium_mammals",          "non-insect_invertebrates",
      "people",                  "reptiles",
      "small_mammals",           "trees",
      "vehicles_1",              "vehicles_2"};
  return names;
}

std::vector<std::string> cifar_file_names(CifarFormat format, Split split) {
  if (format == CifarFormat::Cifar100) return {split == Split::Train ? "train.bin" : "test.bin"};
  if (split == Split::Test) return {"test_batch.bin"};
  std::vector<std::string> names;
  for (int b = 1; b <= 5; ++b) names.push_back("data_batch_" + std::to_string(b) + ".bin");
  return names;
}

Dataset read_cifar_files(const std::vector<std::string>& paths, CifarFormat format,
                         const std::string& name, const Subset& subset) {
  const bool is100 = format == CifarFormat::Cifar100;
  const int64_t label_bytes = is100 ? 2 : 1;
  const int64_t record_size = label_bytes + kCifarPixels;
  const std::vector<std::string>& fine_names =
      is100 ? cifar100_fine_class_names() : cifar10_class_names();
  const int64_t num_fine = static_cast<int64_t>(fine_names.size());
  const int64_t num_coarse = static_cast<int64_t>(cifar100_coarse_class_names().size());
  // The first N examples only need the first files: stop reading once there are enough.
  const bool only_first =
      subset.mode == Subset::Mode::First && !subset.stratified && subset.count >= 0;

  std::vector<std::vector<uint8_t>> contents;
  contents.reserve(paths.size());  // records point into these buffers
  std::vector<const uint8_t*> all_records;
  std::vector<int64_t> fine_labels, coarse_labels;
  for (const std::string& path : paths) {
    if (only_first && static_cast<int64_t>(all_records.size()) >= subset.count) break;
    contents.push_back(read_file_bytes(path, kCifarMaxRecords * record_size + kCifarSizeMargin));
    const std::vector<uint8_t>& bytes = contents.back();
    const int64_t size = static_cast<int64_t>(bytes.size());
    SNN_CHECK(size > 0, path, ": empty file where CIFAR records were expected");
    SNN_CHECK(size % record_size == 0, path, ": ", size, " bytes is not a whole number of ",
              record_size, "-byte records (", label_bytes, " label byte", is100 ? "s" : "",
              " + 3x32x32 pixels): truncated file, or not ", is100 ? "CIFAR-100" : "CIFAR-10",
              " binary format (", size / record_size, " whole records and ", size % record_size,
              " bytes left over)");
    for (int64_t r = 0; r < size / record_size; ++r) {
      const uint8_t* record = bytes.data() + r * record_size;
      const int64_t fine = record[label_bytes - 1];
      SNN_CHECK(fine < num_fine, path, ": record ", r, " has label ", fine, " outside 0..",
                num_fine - 1, is100 ? "" : " (a CIFAR-100 file read as CIFAR-10?)");
      if (is100) {
        SNN_CHECK(record[0] < num_coarse, path, ": record ", r, " has coarse label ",
                  int(record[0]), " outside 0..", num_coarse - 1);
        coarse_labels.push_back(record[0]);
      }
      fine_labels.push_back(fine);
      all_records.push_back(record + label_bytes);
    }
  }
  const std::vector<int64_t> kept = subset_indices(fine_labels, num_fine, subset, name);
  std::vector<const uint8_t*> records;
  std::vector<int64_t> kept_fine, kept_coarse;
  for (int64_t i : kept) {
    records.push_back(all_records[i]);
    kept_fine.push_back(fine_labels[i]);
    if (is100) kept_coarse.push_back(coarse_labels[i]);
  }
  const int64_t n = static_cast<int64_t>(kept.size());
  Dataset out;
  out.name = name;
  out.inputs = images_from_bytes(records, 3, kCifarSide, kCifarSide);
  out.labels = Tensor::from_int64(kept_fine, {n});
  out.class_names = fine_names;
  if (is100) {
    out.coarse_labels = Tensor::from_int64(kept_coarse, {n});
    out.coarse_class_names = cifar100_coarse_class_names();
  }
  return out;
}

namespace {

// Names from a text file with one name per line (blank lines ignored); `fallback` when the file is
// absent. A file that is present but has the wrong number of names is an error.
std::vector<std::string> read_names_or(const std::string& folder, const std::string& file,
                                       const std::vector<std::string>& fallback) {
  const std::string path = find_raw_or_gz(folder, file);
  if (path.empty()) return fallback;
  const std::vector<uint8_t> bytes = read_file_bytes(path, kMaxNamesFileBytes);
  std::istringstream text(std::string(bytes.begin(), bytes.end()));
  std::vector<std::string> names;
  for (std::string line; std::getline(text, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  SNN_CHECK(names.size() == fallback.size(), path, ": holds ", names.size(),
            " class names, expected ", fallback.size());
  return names;
}

Dataset load_cifar(CifarFormat format, Split split, const std::string& data_dir,
                   const Subset& subset) {
  const bool is100 = format == CifarFormat::Cifar100;
  const std::string dataset = is100 ? "cifar-100" : "cifar-10";
  const std::vector<std::string> files = cifar_file_names(format, split);
  const std::string folder = find_dataset_folder(
      dataset, {dataset, is100 ? "cifar-100-binary" : "cifar-10-batches-bin"}, files, data_dir);
  std::vector<std::string> paths;
  for (const std::string& file : files) paths.push_back(find_raw_or_gz(folder, file));
  Dataset out = read_cifar_files(paths, format, dataset + "/" + split_name(split), subset);
  if (is100) {
    out.class_names = read_names_or(folder, "fine_label_names.txt", out.class_names);
    out.coarse_class_names = read_names_or(folder, "coarse_label_names.txt", out.coarse_class_names);
  } else {
    out.class_names = read_names_or(folder, "batches.meta.txt", out.class_names);
  }
  return out;
}

}  // namespace

Dataset load_cifar10(Split split, const std::string& data_dir, const Subset& subset) {
  return load_cifar(CifarFormat::Cifar10, split, data_dir, subset);
}

Dataset load_cifar100(Split split, const std::string& data_dir, const Subset& subset) {
  return load_cifar(CifarFormat::Cifar100, split, data_dir, subset);
}

}  // namespace stablenn
