// datasets/image_folder.cpp — the image-folder dataset (chapter 3).
#include "datasets/image_folder.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "io/image_io.h"

namespace stablenn {

namespace {

bool is_image_file(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* known : {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".ppm", ".pgm"}) {
    if (ext == known) return true;
  }
  return false;
}

}  // namespace

Dataset load_image_folder(const std::string& root, int channels, const Subset& subset) {
  namespace fs = std::filesystem;
  std::error_code error;
  SNN_CHECK(fs::is_directory(root, error), "load_image_folder: ", root, " is not a folder");
  std::vector<std::string> class_names;
  for (const fs::directory_entry& entry : fs::directory_iterator(root, error)) {
    if (entry.is_directory()) class_names.push_back(entry.path().filename().string());
  }
  std::sort(class_names.begin(), class_names.end());
  SNN_CHECK(!class_names.empty(), "load_image_folder: ", root,
            " holds no class subfolders (expected root/<class>/<image files>)");

  std::vector<std::string> files;
  std::vector<int64_t> labels;
  for (size_t c = 0; c < class_names.size(); ++c) {
    std::vector<std::string> class_files;
    for (const fs::directory_entry& entry : fs::directory_iterator(fs::path(root) / class_names[c])) {
      if (entry.is_regular_file() && is_image_file(entry.path())) {
        class_files.push_back(entry.path().string());
      }
    }
    std::sort(class_files.begin(), class_files.end());
    for (const std::string& file : class_files) {
      files.push_back(file);
      labels.push_back(static_cast<int64_t>(c));
    }
  }
  SNN_CHECK(!files.empty(), "load_image_folder: no image files under ", root);

  const std::vector<int64_t> kept =
      subset_indices(labels, static_cast<int64_t>(class_names.size()), subset, root);
  std::vector<Tensor> images;
  std::vector<int64_t> kept_labels;
  for (int64_t i : kept) {
    Tensor image = load_image(files[i], channels);
    if (channels == 0) channels = static_cast<int>(image.size(0));  // the first image decides
    if (!images.empty()) {
      SNN_CHECK(image.shape() == images.front().shape(), "load_image_folder: ", files[i],
                " has shape ", shape_str(image.shape()), " but ", files[kept.front()], " has ",
                shape_str(images.front().shape()), "; all images must have the same size");
    }
    images.push_back(image);
    kept_labels.push_back(labels[i]);
  }
  const int64_t n = static_cast<int64_t>(images.size());
  SNN_CHECK(n > 0, "load_image_folder: the subset of ", root, " is empty");
  const Shape& image_shape = images.front().shape();
  Dataset out;
  out.name = root;
  out.inputs = Tensor::empty({n, image_shape[0], image_shape[1], image_shape[2]}, DType::Float32);
  const int64_t per_image = images.front().numel();
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(out.inputs.data<float>() + i * per_image, images[i].data<float>(),
                sizeof(float) * per_image);
  }
  out.labels = Tensor::from_int64(kept_labels, {n});
  out.class_names = class_names;
  return out;
}

}  // namespace stablenn
