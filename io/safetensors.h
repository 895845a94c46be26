// io/safetensors.h — reading and writing named tensors in the safetensors format (chapter 3).
//
// The format (https://github.com/huggingface/safetensors), so PyTorch users can read our weights:
//   8 bytes     N, the header length, unsigned little-endian
//   N bytes     a JSON object: {"__metadata__": {"key": "value", ...},
//                               "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
//                               ...}
//               padded with spaces to a multiple of 8 bytes (as the reference writer does)
//   the rest    the tensors' raw little-endian bytes; data_offsets are [begin, end) within this
//   part,
//               which the tensors must cover exactly, without gaps or overlaps
// stablenn reads and writes the dtypes F32, F64 and I64.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/named_tensor.h"
#include "core/tensor.h"

namespace stablenn {

// Chapter 3: what a safetensors file holds.
struct SafetensorsContent {
  std::vector<NamedTensor> tensors;  // in the order of their data in the file
  std::map<std::string, std::string> metadata;
  // The tensor called `name`, or nullptr.
  const Tensor* find(const std::string& name) const;
};

// Chapter 3: the bytes of a safetensors file holding `tensors` (data in the given order, any
// layout or view is fine) and `metadata`. Throws on empty or duplicate names, the reserved name
// "__metadata__", or an undefined tensor.
std::vector<uint8_t> encode_safetensors(const std::vector<NamedTensor>& tensors,
                                        const std::map<std::string, std::string>& metadata = {});

// Chapter 3: parses and validates the bytes of a safetensors file. Every problem throws
// stablenn::Error starting with `source` (the file name) and saying what is wrong: a truncated
// file, a header length beyond the file, malformed JSON, an unknown or unsupported dtype, a bad
// shape, data offsets out of range, overlapping or leaving gaps, a shape that does not match its
// byte count.
SafetensorsContent decode_safetensors(const uint8_t* bytes, size_t size, const std::string& source);

// Chapter 3: writes the file atomically (temporary file, then rename), so a crash never leaves a
// half-written checkpoint behind.
void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Chapter 3: reads and validates a file (see decode_safetensors); errors name the file.
SafetensorsContent load_safetensors(const std::string& path);

// Chapter 3: copies tensors of `content` into `destinations` (e.g. a model's parameters; the copy
// writes through their views), matching by name. Everything is checked before anything is
// written, and all problems are reported together, e.g.
//   model.safetensors: 2 problems: tensor 'fc1.weight': expected shape [256, 784], file has
//   [128, 784]; tensor 'fc2.bias': missing from the file
// Tensors in the file that no destination asks for are a problem too, unless allow_unexpected
// (e.g. when a checkpoint also holds the optimiser state).
void copy_safetensors_into(const SafetensorsContent& content,
                           const std::vector<NamedTensor>& destinations, const std::string& source,
                           bool allow_unexpected = false);

// Chapter 3: the safetensors name of a dtype: "F32", "F64", "I64".
const char* safetensors_dtype_name(DType dtype);

}  // namespace stablenn
