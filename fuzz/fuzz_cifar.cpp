// fuzz/fuzz_cifar.cpp — CIFAR-10 and CIFAR-100 binary files, raw or gzip (issue 15).
#include "datasets/cifar.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = stablenn_fuzz::write_input(data, size, "cifar");
  for (stablenn::CifarFormat format : {stablenn::CifarFormat::Cifar10, stablenn::CifarFormat::Cifar100}) {
    try {
      const stablenn::Dataset set = stablenn::read_cifar_files({path}, format, "fuzz");
      if (set.inputs.size(0) != set.labels.size(0)) __builtin_trap();
    } catch (const stablenn::Error&) {
    }
  }
  return 0;
}
