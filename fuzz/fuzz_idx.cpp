// fuzz/fuzz_idx.cpp — IDX files, raw or gzip, through read_idx (issue 15): the bounded inflate,
// the header checks and the size checks.
#include "datasets/idx.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = stablenn_fuzz::write_input(data, size, "idx");
  for (int ndims : {1, 3}) {
    try {
      const stablenn::IdxArray array = stablenn::read_idx(path, ndims);
      // A file that passed holds exactly what its header promises.
      size_t payload = 1;
      for (int64_t d : array.dims) payload *= static_cast<size_t>(d);
      if (array.bytes.size() != array.data_offset + payload) __builtin_trap();
    } catch (const stablenn::Error&) {
    }
  }
  return 0;
}
