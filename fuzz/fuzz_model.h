// fuzz/fuzz_model.h — the model whose checkpoints fuzz_checkpoint loads and make_seeds writes.
#pragma once
#include <memory>
#include <vector>

#include "layers/activations.h"
#include "layers/linear.h"

namespace stablenn_fuzz {

// The model of the checkpoint target and of its seeds: Linear(2, 4), Tanh, Linear(4, 2).
inline std::shared_ptr<stablenn::Sequential> fuzz_model() {
  stablenn::Generator g(1);
  return std::make_shared<stablenn::Sequential>(std::vector<std::shared_ptr<stablenn::Module>>{
      std::make_shared<stablenn::Linear>(2, 4, true, g), stablenn::Tanh(),
      std::make_shared<stablenn::Linear>(4, 2, true, g)});
}

}  // namespace stablenn_fuzz
