// core/random.cpp — counter-based random numbers (chapter 1).
#include "core/random.h"

#include <cmath>

#include "core/dispatch.h"

namespace stablenn {

namespace {
// SplitMix64's finaliser: a bijective 64-bit mix with good avalanche.
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
// The random 64 bits of element `counter` of the stream `seed`.
uint64_t bits(uint64_t seed, uint64_t counter) {
  return mix(mix(seed + 0x9e3779b97f4a7c15ULL) ^ (counter * 0xd1b54a32d192ed03ULL + 1));
}
double unit(uint64_t seed, uint64_t counter) {  // in [0, 1)
  return static_cast<double>(bits(seed, counter) >> 11) * 0x1.0p-53;
}
double unit_open(uint64_t seed, uint64_t counter) {  // in (0, 1], safe for log
  return static_cast<double>((bits(seed, counter) >> 11) + 1) * 0x1.0p-53;
}
double gaussian(uint64_t seed, uint64_t counter) {  // Box-Muller from two uniforms
  constexpr double two_pi = 6.283185307179586476925286766559;
  return std::sqrt(-2.0 * std::log(unit_open(seed, 2 * counter))) *
         std::cos(two_pi * unit(seed, 2 * counter + 1));
}

// Fills a new tensor with value(i) for element i, in parallel; the values depend only on i.
template <class F>
Tensor fill_elementwise(const Shape& shape, DType dtype, const char* op, const F& value) {
  Tensor t = Tensor::empty(shape, dtype);
  detail::dispatch_float(dtype, op, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    parallel_for(0, t.numel(), kDefaultGrain / 8, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) p[i] = static_cast<T>(value(static_cast<uint64_t>(i)));
    });
  });
  return t;
}
}  // namespace

Tensor Generator::uniform(const Shape& shape, double lo, double hi, DType dtype) {
  const uint64_t base = take(shape_numel(shape)), s = seed_;
  return fill_elementwise(shape, dtype, "uniform",
                          [&](uint64_t i) { return lo + (hi - lo) * unit(s, base + i); });
}

Tensor Generator::normal(const Shape& shape, double mean, double stddev, DType dtype) {
  SNN_CHECK(stddev >= 0, "normal: stddev must be >= 0, got ", stddev);
  const uint64_t base = take(shape_numel(shape)), s = seed_;
  return fill_elementwise(shape, dtype, "normal",
                          [&](uint64_t i) { return mean + stddev * gaussian(s, base + i); });
}

Tensor Generator::bernoulli(const Shape& shape, double p, DType dtype) {
  SNN_CHECK(p >= 0 && p <= 1, "bernoulli: p must be in [0, 1], got ", p);
  const uint64_t base = take(shape_numel(shape)), s = seed_;
  return fill_elementwise(shape, dtype, "bernoulli",
                          [&](uint64_t i) { return unit(s, base + i) < p ? 1.0 : 0.0; });
}

std::vector<int64_t> Generator::permutation(int64_t n) {
  SNN_CHECK(n >= 0, "permutation: n must be >= 0, got ", n);
  std::vector<int64_t> p(n);
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  const uint64_t base = take(n);
  for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates
    const int64_t j = static_cast<int64_t>(unit(seed_, base + i) * static_cast<double>(i + 1));
    std::swap(p[i], p[std::min(j, i)]);
  }
  return p;
}

int64_t Generator::randint(int64_t lo, int64_t hi) {
  SNN_CHECK(lo < hi, "randint: empty range [", lo, ", ", hi, ")");
  const int64_t r = lo + static_cast<int64_t>(uniform_scalar() * static_cast<double>(hi - lo));
  return std::min(r, hi - 1);
}

double Generator::uniform_scalar() { return unit(seed_, take(1)); }
double Generator::normal_scalar() { return gaussian(seed_, take(1)); }

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace stablenn
