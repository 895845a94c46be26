// core/random.h — a seeded random generator whose results do not depend on the thread count
// (chapter 1).
//
// Counter-based: element i of a draw is a hash of (seed, counter + i), so a draw can be filled by any
// number of threads in any order and still give the same tensor. Each draw advances the counter.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace stablenn {

// Chapter 3: a seed for stream `stream` of `seed` (splitmix64 finaliser of a combination of both).
// The loader draws epoch e's shuffle from Generator(mix_seed(seed, e)) and batch b's augmentation
// from Generator(mix_seed(mix_seed(seed, e), b)); chapter 8's strong attacks draw batch j's random
// starts from Generator(mix_seed(seed, j)). Each is then the same whichever thread runs it, in
// whatever order.
inline uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Chapter 1: the random generator.
class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  void manual_seed(uint64_t seed) { seed_ = seed; counter_ = 0; }

  Tensor uniform(const Shape& shape, double lo = 0.0, double hi = 1.0, DType dtype = DType::Float32);
  Tensor normal(const Shape& shape, double mean = 0.0, double stddev = 1.0,
                DType dtype = DType::Float32);
  Tensor bernoulli(const Shape& shape, double p, DType dtype = DType::Float32);  // 1 with prob. p
  std::vector<int64_t> permutation(int64_t n);  // a uniformly random ordering of 0..n-1
  int64_t randint(int64_t lo, int64_t hi);      // one integer in [lo, hi)
  double uniform_scalar();                      // one double in [0, 1)
  double normal_scalar();

 private:
  uint64_t take(uint64_t n) { uint64_t c = counter_; counter_ += n; return c; }
  uint64_t seed_;
  uint64_t counter_ = 0;
};

// The process-wide generator used when a function is not given one; seeded by --seed.
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace stablenn
