// tests/ch01_test_util.h — helpers for the chapter 1 property tests: random shapes, random
// non-contiguous views, and an index walker for naive reference loops.
#pragma once
#include <functional>

#include "core/stablenn_core.h"

namespace stablenn::testing {

// Calls fn(index) for every multi-index of `shape` in row-major order.
inline void for_each_index(const Shape& shape, const std::function<void(const Shape&)>& fn) {
  if (shape_numel(shape) == 0) return;
  Shape idx(shape.size(), 0);
  while (true) {
    fn(idx);
    int64_t d = static_cast<int64_t>(shape.size()) - 1;
    while (d >= 0 && ++idx[d] == shape[d]) idx[d--] = 0;
    if (d < 0) return;
  }
}

// The index into a tensor of shape `from` that broadcasting maps output index `idx` to.
inline Shape broadcast_index(const Shape& idx, const Shape& from) {
  Shape out(from.size());
  const size_t lead = idx.size() - from.size();
  for (size_t d = 0; d < from.size(); ++d) out[d] = from[d] == 1 ? 0 : idx[lead + d];
  return out;
}

// A tensor of the given shape with random values whose memory layout is randomly non-contiguous:
// a strided slice of a bigger buffer, or a permuted one, or plain contiguous.
inline Tensor random_layout(Generator& g, const Shape& shape, DType dtype) {
  const int kind = static_cast<int>(g.randint(0, 3));
  if (kind == 0 || shape.empty()) return g.normal(shape, 0, 1, dtype);
  if (kind == 1) {  // every other element along each axis
    Shape big;
    for (int64_t s : shape) big.push_back(2 * s + 1);
    Tensor t = g.normal(big, 0, 1, dtype);
    for (size_t d = 0; d < shape.size(); ++d) t = t.slice(d, 1, 1 + 2 * shape[d], 2);
    return t;
  }
  // stored reversed-axis-order, viewed back through a permutation
  Shape order, stored;
  for (size_t d = shape.size(); d-- > 0;) { order.push_back(d); stored.push_back(shape[d]); }
  return g.normal(stored, 0, 1, dtype).permute(order);
}

// A random shape of 0..4 axes with sizes 0..4 (size 0 rare).
inline Shape random_shape(Generator& g, int max_dim = 4) {
  Shape s(g.randint(0, max_dim + 1));
  for (auto& v : s) v = g.uniform_scalar() < 0.05 ? 0 : g.randint(1, 5);
  return s;
}

// A shape that broadcasts against `s`: some leading axes dropped, some sizes set to 1.
inline Shape broadcastable_to(Generator& g, const Shape& s) {
  Shape out(s.begin() + g.randint(0, static_cast<int64_t>(s.size()) + 1), s.end());
  for (auto& v : out)
    if (g.uniform_scalar() < 0.3) v = 1;
  return out;
}

// Runs fn and returns the message of the stablenn::Error it throws ("" if it throws none).
inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace stablenn::testing
