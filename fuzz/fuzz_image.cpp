// fuzz/fuzz_image.cpp — image bytes through decode_image (libpng, libjpeg-turbo, the format and
// size checks) (issue 15). The first byte picks the channels asked for; the limits are smaller
// than the defaults so one input cannot take more than libFuzzer's memory limit.
#include "fuzz/fuzz_util.h"
#include "io/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int channels = data[0] % 3 == 0 ? 0 : (data[0] % 3 == 1 ? 1 : 3);
  stablenn::ImageLimits limits;
  limits.max_side = 4096;
  limits.max_bytes = 64 << 20;
  try {
    const stablenn::Tensor image = stablenn::decode_image(data + 1, size - 1, "fuzz", channels, limits);
    if (image.dim() != 3 || (channels != 0 && image.size(0) != channels)) __builtin_trap();
  } catch (const stablenn::Error&) {
  }
  return 0;
}
