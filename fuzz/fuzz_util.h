// fuzz/fuzz_util.h — shared by the libFuzzer targets (issue 15): the input as a temporary file for
// the readers that take a path.
//
// A target may throw stablenn::Error (a clear message is the expected answer to a bad file);
// anything else escaping it (another exception, a crash, a sanitizer report, a leak) is a finding.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace stablenn_fuzz {

// Writes the input to one file per process and target (in /dev/shm when there is one, so no disk
// is touched) and returns its path; `tag` names the target.
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

}  // namespace stablenn_fuzz
