// datasets/image_folder.h — a dataset made of image files, one subfolder per class (chapter 3).
//
//   root/cat/001.png, root/cat/002.jpg, root/dog/a.bmp, ...
// Classes are the subfolders in alphabetical order (label 0 = first); files are taken in
// alphabetical order within each class. Files that are not .png/.jpg/.jpeg/.bmp/.gif/.tga/.ppm/.pgm
// are ignored; of these, only PNG and JPEG are read (load_image): the others are refused by name.
#pragma once
#include <string>

#include "datasets/dataset.h"

namespace stablenn {

// Chapter 3: loads every image under `root` into inputs [N, C, H, W] float32 in [0, 1].
// channels: 1, 3, or 0 (as the first image is stored). All images must have the same size; one
// that differs, cannot be decoded, or a root without class folders gives an error naming it.
Dataset load_image_folder(const std::string& root, int channels = 0,
                          const Subset& subset = Subset::all());

}  // namespace stablenn
