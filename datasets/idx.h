// datasets/idx.h — the IDX file format of MNIST and Fashion-MNIST (chapter 3).
//
// Header: 4 magic bytes {0, 0, type, ndims}, then ndims big-endian int32 sizes, then the data,
// row-major. Only type 0x08 (unsigned byte) occurs in these datasets and only it is read.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace stablenn {

// Chapter 3: the content of one IDX file.
struct IdxArray {
  std::vector<int64_t> dims;   // e.g. {60000, 28, 28} for images, {60000} for labels
  std::vector<uint8_t> bytes;  // the whole file, header included
  size_t data_offset = 0;      // where the data starts in `bytes`
  const uint8_t* data() const { return bytes.data() + data_offset; }
};

// Chapter 3: how many bytes beyond what its header promises read_idx reads before it stops: a
// file with more is refused without decompressing the rest.
constexpr size_t kIdxSizeMargin = 4096;

// Chapter 3: reads `path` (raw or .gz) and checks the magic number, the element type, that it has
// `expected_ndims` dimensions and exactly as many data bytes as the sizes promise. Throws
// stablenn::Error naming the file and what was wrong.
IdxArray read_idx(const std::string& path, int expected_ndims);

// Chapter 3: parses IDX content already in memory; `path` is only used in messages.
IdxArray parse_idx(std::vector<uint8_t> bytes, const std::string& path, int expected_ndims);

}  // namespace stablenn
