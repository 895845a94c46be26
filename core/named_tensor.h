// core/named_tensor.h — a tensor with its name (chapter 3).
//
// What a Module's state() lists and what a safetensors file stores. It lives below both, so that a
// Module does not depend on the file format and the file format does not depend on Module.
#pragma once
#include <string>

#include "core/tensor.h"

namespace stablenn {

// Chapter 3: a tensor with its name, e.g. "block.0.weight".
struct NamedTensor {
  std::string name;
  Tensor tensor;
};

}  // namespace stablenn
