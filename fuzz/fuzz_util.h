// fuzz/fuzz_util.h — shared by the libFuzzer targets (issue 15): the input as a temporary file for
// the readers that take a path, and the model whose checkpoints the checkpoint target loads.
//
// A target may throw stablenn::Error (a clear message is the expected answer to a bad file);
// anything else escaping it (another exception, a crash, a sanitizer report, a leak) is a finding.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "core/error.h"
#include "layers/activations.h"
#include "layers/linear.h"

namespace stablenn_fuzz {

// Writes the input to one file per process and target (in /dev/shm when there is one, so no disk
// is touched) and returns its path. `suffix` matters only for messages.
inline std::string write_input(const uint8_t* data, size_t size, const std::string& tag) {
  static const std::string folder = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  const std::string path =
      folder + "/stablenn_fuzz_" + tag + "_" + std::to_string(static_cast<long long>(getpid()));
  std::FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, out) != size) std::abort();
  std::fclose(out);
  return path;
}

// The model of the checkpoint target and of its seeds: Linear(2, 4), Tanh, Linear(4, 2).
inline std::shared_ptr<stablenn::Sequential> fuzz_model() {
  stablenn::Generator g(1);
  return std::make_shared<stablenn::Sequential>(std::vector<std::shared_ptr<stablenn::Module>>{
      std::make_shared<stablenn::Linear>(2, 4, true, g), stablenn::Tanh(),
      std::make_shared<stablenn::Linear>(4, 2, true, g)});
}

}  // namespace stablenn_fuzz
