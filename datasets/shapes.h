// datasets/shapes.h — a synthetic 10-class image set for running without downloaded data
// (chapter 3).
//
// 28x28 grey images of simple shapes (ring, disk, square, filled square, triangle, filled
// triangle, plus, cross, equals sign, corner) with random position, size, stroke thickness,
// rotation, contrast and aspect, on a noisy background with distractor strokes. Thick outlines of
// small shapes look filled and clutter can touch the shape, so even a good network does not reach
// 100 %: the set is a stand-in for MNIST, not a trivial one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/random.h"
#include "datasets/dataset.h"

namespace stablenn {

// Chapter 3: how hard the synthetic shapes are.
struct ShapesOptions {
  int64_t image_size = 28;
  double min_radius = 4.5, max_radius = 11.0;        // shape size in pixels
  double min_thickness = 1.0, max_thickness = 3.5;   // stroke width in pixels
  double max_rotation_degrees = 15.0;                // keeps "plus" and "cross" apart
  double max_noise = 0.15;                           // background noise std, uniform in [0, max]
  int64_t max_distractors = 3;                       // clutter strokes, uniform in 0..max
};

// Chapter 3: the class names, label order.
const std::vector<std::string>& shapes_class_names();

// Chapter 3: n images [n, 1, S, S] float32 in [0, 1] (S = image_size), labels i % 10 shuffled by
// `gen` so every class has n/10 examples. Image i depends only on (a seed drawn from gen, i), so
// the result does not depend on the thread count.
Dataset make_shapes(int64_t n, Generator& gen, const ShapesOptions& options = {});

}  // namespace stablenn
