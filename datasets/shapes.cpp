// datasets/shapes.cpp — rendering the synthetic shapes with signed distance functions (chapter 3).
//
// Every shape is a signed distance function (negative inside) in a unit frame; a pixel's coverage
// is clamp(0.5 - distance_in_pixels, 0, 1), which anti-aliases edges over about one pixel.
// Outlines use |distance| - thickness / 2.
#include "datasets/shapes.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/parallel.h"

namespace stablenn {

namespace {

constexpr double kPi = 3.14159265358979323846;

struct Point {
  double x, y;
};

double length(Point p) { return std::sqrt(p.x * p.x + p.y * p.y); }

// Distance from p to the segment a-b.
double segment_distance(Point p, Point a, Point b) {
  const Point ab{b.x - a.x, b.y - a.y}, ap{p.x - a.x, p.y - a.y};
  const double t = std::clamp((ap.x * ab.x + ap.y * ab.y) / (ab.x * ab.x + ab.y * ab.y), 0.0, 1.0);
  return length({ap.x - t * ab.x, ap.y - t * ab.y});
}

// Signed distance to an axis-aligned box of half-size h.
double box_distance(Point p, double h) {
  const double dx = std::abs(p.x) - h, dy = std::abs(p.y) - h;
  return length({std::max(dx, 0.0), std::max(dy, 0.0)}) + std::min(std::max(dx, dy), 0.0);
}

// Signed distance to an equilateral triangle with circumradius 1, apex up (y grows downwards in
// images, so "up" is negative y): the max over its three edge half-planes (exact inside, a close
// bound outside, enough for rendering).
double triangle_distance(Point p) {
  double d = -std::numeric_limits<double>::infinity();
  for (int k = 0; k < 3; ++k) {
    const double angle = kPi / 2 + 2 * kPi * k / 3;  // outward normals at 90, 210, 330 degrees
    d = std::max(d, p.x * std::cos(angle) + p.y * std::sin(angle) - 0.5);
  }
  return d;
}

// Distance (in unit-frame units) to the shape of `label`; `outline` says whether it is drawn as a
// stroke (the caller subtracts half the thickness) or filled (negative inside).
double shape_distance(int64_t label, Point p, bool& outline) {
  outline = true;
  switch (label) {
    case 0: return std::abs(length(p) - 1.0);                     // ring
    case 1: outline = false; return length(p) - 1.0;              // disk
    case 2: return std::abs(box_distance(p, 0.8));                // square
    case 3: outline = false; return box_distance(p, 0.8);         // filled square
    case 4: return std::abs(triangle_distance(p));                // triangle
    case 5: outline = false; return triangle_distance(p);         // filled triangle
    case 6:                                                       // plus
      return std::min(segment_distance(p, {-1, 0}, {1, 0}), segment_distance(p, {0, -1}, {0, 1}));
    case 7:                                                       // cross
      return std::min(segment_distance(p, {-0.75, -0.75}, {0.75, 0.75}),
                      segment_distance(p, {-0.75, 0.75}, {0.75, -0.75}));
    case 8:                                                       // equals sign
      return std::min(segment_distance(p, {-1, -0.4}, {1, -0.4}),
                      segment_distance(p, {-1, 0.4}, {1, 0.4}));
    default:                                                      // corner (an L)
      return std::min(segment_distance(p, {-0.6, -0.9}, {-0.6, 0.9}),
                      segment_distance(p, {-0.6, 0.9}, {0.7, 0.9}));
  }
}

double uniform(Generator& gen, double lo, double hi) { return lo + (hi - lo) * gen.uniform_scalar(); }

// Renders one image of class `label` into out[size*size], using only `gen`.
void render_shape(int64_t label, const ShapesOptions& o, Generator& gen, float* out) {
  const int64_t size = o.image_size;
  const double radius = uniform(gen, o.min_radius, o.max_radius);
  const double aspect = uniform(gen, 0.85, 1.15);  // x radius / y radius
  const double rx = radius * aspect, ry = radius / aspect;
  const double thickness = uniform(gen, o.min_thickness, o.max_thickness);
  const double angle = uniform(gen, -1, 1) * o.max_rotation_degrees * kPi / 180;
  const double margin = std::max(rx, ry) + thickness / 2;
  const double cx = uniform(gen, std::min(margin, size / 2.0), std::max(size - margin, size / 2.0));
  const double cy = uniform(gen, std::min(margin, size / 2.0), std::max(size - margin, size / 2.0));
  const double background = uniform(gen, 0.0, 0.25);
  const double foreground = uniform(gen, 0.55, 1.0);
  const double noise = uniform(gen, 0.0, o.max_noise);
  const double cos_a = std::cos(angle), sin_a = std::sin(angle);

  for (int64_t row = 0; row < size; ++row) {
    for (int64_t col = 0; col < size; ++col) {
      // Pixel centre -> unit frame: translate, rotate back, scale per axis.
      const double dx = col + 0.5 - cx, dy = row + 0.5 - cy;
      const Point p{(cos_a * dx + sin_a * dy) / rx, (-sin_a * dx + cos_a * dy) / ry};
      bool outline = false;
      const double d_unit = shape_distance(label, p, outline);
      const double d_pixels = d_unit * std::min(rx, ry) - (outline ? thickness / 2 : 0.0);
      const double coverage = std::clamp(0.5 - d_pixels, 0.0, 1.0);
      out[row * size + col] = static_cast<float>(background + (foreground - background) * coverage);
    }
  }
  // Clutter: short strokes anywhere, sometimes touching the shape.
  const int64_t distractors = gen.randint(0, o.max_distractors + 1);
  for (int64_t k = 0; k < distractors; ++k) {
    const Point a{uniform(gen, 0, double(size)), uniform(gen, 0, double(size))};
    const double stroke_angle = uniform(gen, 0, 2 * kPi), stroke_length = uniform(gen, 2, 7);
    const Point b{a.x + stroke_length * std::cos(stroke_angle),
                  a.y + stroke_length * std::sin(stroke_angle)};
    const double width = uniform(gen, 0.8, 1.8), level = uniform(gen, 0.3, 0.8);
    for (int64_t row = 0; row < size; ++row) {
      for (int64_t col = 0; col < size; ++col) {
        const double d = segment_distance({col + 0.5, row + 0.5}, a, b) - width / 2;
        const double coverage = std::clamp(0.5 - d, 0.0, 1.0);
        float& pixel = out[row * size + col];
        pixel = std::max(pixel, static_cast<float>(coverage * level));
      }
    }
  }
  // Pixel noise, then clip to [0, 1].
  for (int64_t k = 0; k < size * size; ++k) {
    const double v = out[k] + noise * gen.normal_scalar();
    out[k] = static_cast<float>(std::clamp(v, 0.0, 1.0));
  }
}

}  // namespace

const std::vector<std::string>& shapes_class_names() {
  static const std::vector<std::string> names = {"ring",   "disk",  "square",          "filled square",
                                                 "triangle", "filled triangle", "plus", "cross",
                                                 "equals", "corner"};
  return names;
}

Dataset make_shapes(int64_t n, Generator& gen, const ShapesOptions& options) {
  // -> inputs [n, 1, S, S], labels [n]
  SNN_CHECK(n >= 0, "make_shapes: number of images must be >= 0, got ", n);
  SNN_CHECK(options.image_size >= 8, "make_shapes: image_size must be >= 8, got ",
            options.image_size);
  SNN_CHECK(0 < options.min_radius && options.min_radius <= options.max_radius &&
                0 < options.min_thickness && options.min_thickness <= options.max_thickness &&
                options.max_noise >= 0 && options.max_distractors >= 0,
            "make_shapes: inconsistent options (radius, thickness, noise or distractors)");
  const int64_t size = options.image_size;
  // Balanced labels in a seeded random order.
  std::vector<int64_t> labels(n);
  const std::vector<int64_t> order = gen.permutation(n);
  for (int64_t i = 0; i < n; ++i) labels[order[i]] = i % 10;
  const uint64_t base_seed = static_cast<uint64_t>(gen.randint(0, std::numeric_limits<int64_t>::max()));

  Dataset out;
  out.name = "shapes";
  out.inputs = Tensor::empty({n, 1, size, size}, DType::Float32);
  float* pixels = out.inputs.data<float>();
  // Each image has its own generator, so images can be drawn by any number of threads.
  parallel_for(0, n, 8, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      Generator image_gen(mix_seed(base_seed, static_cast<uint64_t>(i)));
      render_shape(labels[i], options, image_gen, pixels + i * size * size);
    }
  });
  out.labels = Tensor::from_int64(labels, {n});
  out.class_names = shapes_class_names();
  return out;
}

}  // namespace stablenn
