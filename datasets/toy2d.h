// datasets/toy2d.h — the classic 2-D classification sets (chapter 5).
//
// Each returns inputs [n, 2] float32 and labels [n] Int64 (two classes, example i has class i % 2,
// so the classes are balanced and interleaved). `noise` is the standard deviation of Gaussian
// jitter added to every point; all randomness comes from `gen`.
#pragma once
#include <cstdint>

#include "core/random.h"
#include "datasets/dataset.h"

namespace stablenn {

// Chapter 5: two interleaving half circles: class 0 on (cos t, sin t), class 1 on
// (1 - cos t, 0.5 - sin t), t uniform in [0, pi].
Dataset make_moons(int64_t n, double noise, Generator& gen);
// Chapter 5: two concentric circles: class 0 of radius 1, class 1 of radius `factor` (< 1).
Dataset make_circles(int64_t n, double noise, Generator& gen, double factor = 0.5);
// Chapter 5: two interleaved spirals of `turns` turns: radius t, angle 2*pi*turns*t (+ pi for
// class 1), t uniform in [0.05, 1].
Dataset make_spirals(int64_t n, double noise, Generator& gen, double turns = 1.5);
// Chapter 5: points uniform in [-1, 1]^2, labelled by the colour of a `cells` x `cells`
// checkerboard; the jitter is added after labelling, so it blurs the boundaries.
Dataset make_checkerboard(int64_t n, double noise, Generator& gen, int64_t cells = 4);  // cells >= 2

}  // namespace stablenn
