// datasets/toy2d.cpp — two moons, circles, spirals, checkerboard (chapter 5).
#include "datasets/toy2d.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "core/error.h"

namespace stablenn {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Draws point i of class i % 2 with `point(label, gen, x, y)`, then adds the Gaussian jitter.
Dataset make_toy(const char* name, int64_t n, double noise, Generator& gen,
                 const std::function<void(int64_t, Generator&, double&, double&)>& point) {
  SNN_CHECK(n >= 0, name, ": number of points must be >= 0, got ", n);
  SNN_CHECK(noise >= 0, name, ": noise must be >= 0, got ", noise);
  std::vector<float> xy(static_cast<size_t>(2 * n));
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double x = 0, y = 0;
    labels[i] = i % 2;
    point(labels[i], gen, x, y);
    xy[2 * i] = static_cast<float>(x);
    xy[2 * i + 1] = static_cast<float>(y);
  }
  if (noise > 0 && n > 0) {
    const std::vector<float> jitter = gen.normal({n, 2}, 0.0, noise).to_floats();
    for (int64_t k = 0; k < 2 * n; ++k) xy[k] += jitter[k];
  }
  Dataset out;
  out.name = name;
  out.inputs = Tensor::from_floats(xy, {n, 2});
  out.labels = Tensor::from_int64(labels, {n});
  out.class_names = {"0", "1"};
  return out;
}

}  // namespace

Dataset make_moons(int64_t n, double noise, Generator& gen) {
  return make_toy("make_moons", n, noise, gen, [](int64_t label, Generator& g, double& x, double& y) {
    const double t = kPi * g.uniform_scalar();
    if (label == 0) {
      x = std::cos(t);
      y = std::sin(t);
    } else {
      x = 1.0 - std::cos(t);
      y = 0.5 - std::sin(t);
    }
  });
}

Dataset make_circles(int64_t n, double noise, Generator& gen, double factor) {
  SNN_CHECK(factor > 0 && factor < 1, "make_circles: factor must be in (0, 1), got ", factor);
  return make_toy("make_circles", n, noise, gen,
                  [factor](int64_t label, Generator& g, double& x, double& y) {
                    const double t = 2 * kPi * g.uniform_scalar();
                    const double r = label == 0 ? 1.0 : factor;
                    x = r * std::cos(t);
                    y = r * std::sin(t);
                  });
}

Dataset make_spirals(int64_t n, double noise, Generator& gen, double turns) {
  SNN_CHECK(turns > 0, "make_spirals: turns must be > 0, got ", turns);
  return make_toy("make_spirals", n, noise, gen,
                  [turns](int64_t label, Generator& g, double& x, double& y) {
                    const double t = 0.05 + 0.95 * g.uniform_scalar();
                    const double angle = 2 * kPi * turns * t + (label == 0 ? 0.0 : kPi);
                    x = t * std::cos(angle);
                    y = t * std::sin(angle);
                  });
}

Dataset make_checkerboard(int64_t n, double noise, Generator& gen, int64_t cells) {
  SNN_CHECK(cells >= 2, "make_checkerboard: cells must be >= 2 (one cell has one colour), got ",
            cells);
  // The label is the board colour, not i % 2, so draw the point first and pick it by rejection:
  // keep drawing until the colour matches the class this example should have.
  return make_toy("make_checkerboard", n, noise, gen,
                  [cells](int64_t label, Generator& g, double& x, double& y) {
                    for (;;) {
                      x = 2 * g.uniform_scalar() - 1;
                      y = 2 * g.uniform_scalar() - 1;
                      const int64_t cx = std::min<int64_t>(cells - 1, int64_t((x + 1) / 2 * cells));
                      const int64_t cy = std::min<int64_t>(cells - 1, int64_t((y + 1) / 2 * cells));
                      if ((cx + cy) % 2 == label) return;
                    }
                  });
}

}  // namespace stablenn
