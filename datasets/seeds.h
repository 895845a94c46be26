// datasets/seeds.h — deriving independent seeds from (seed, stream) pairs (chapter 3).
//
// The loader draws its shuffle for epoch e from Generator(mix_seed(seed, e)) and the augmentation of
// batch b from Generator(mix_seed(mix_seed(seed, e), b)). Each batch is then a pure function of
// (seed, epoch, batch index): the same whichever thread builds it and in whatever order.
#pragma once
#include <cstdint>

namespace stablenn {

// Chapter 3: a seed for stream `stream` of `seed` (splitmix64 finaliser of a combination of both).
inline uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace stablenn
