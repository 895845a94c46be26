// datasets/idx.cpp — IDX parsing with a check for every way a file can be wrong (chapter 3).
#include "datasets/idx.h"

#include <cstdint>
#include <cstdio>

#include "core/error.h"
#include "io/file_bytes.h"

namespace stablenn {

namespace {

uint32_t read_big_endian(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

std::string hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08X", value);
  return text;
}

}  // namespace

IdxArray parse_idx(std::vector<uint8_t> bytes, const std::string& path, int expected_ndims) {
  const uint32_t expected_magic = 0x00000800u | static_cast<uint32_t>(expected_ndims);
  const char* kind = expected_ndims == 1 ? "labels" : "images";
  SNN_CHECK(bytes.size() >= 4, path, ": truncated IDX file: ", bytes.size(),
            " bytes, shorter than the 4-byte magic number");
  const uint32_t magic = read_big_endian(bytes.data());
  SNN_CHECK(bytes[0] == 0 && bytes[1] == 0, path, ": wrong magic number ", hex32(magic),
            " (an IDX ", kind, " file starts with ", hex32(expected_magic), "); not an IDX file");
  SNN_CHECK(bytes[2] == 0x08, path, ": wrong magic number ", hex32(magic), ": element type ",
            "0x" + hex32(bytes[2]).substr(8), " is not unsigned byte (0x08, expected magic ",
            hex32(expected_magic), ")");
  SNN_CHECK(bytes[3] == expected_ndims, path, ": wrong magic number ", hex32(magic), ": ",
            int(bytes[3]), " dimensions where an IDX ", kind, " file has ", expected_ndims,
            " (expected magic ", hex32(expected_magic), "; images and labels files swapped?)");
  const size_t header = 4 + 4 * static_cast<size_t>(expected_ndims);
  SNN_CHECK(bytes.size() >= header, path, ": truncated IDX file: ", bytes.size(),
            " bytes, shorter than its ", header, "-byte header");
  IdxArray out;
  size_t payload = 1;
  for (int d = 0; d < expected_ndims; ++d) {
    const uint32_t size = read_big_endian(bytes.data() + 4 + 4 * d);
    SNN_CHECK(size <= 0x7FFFFFFFu && (size == 0 || payload <= SIZE_MAX / size), path, ": size ",
              size, " of dimension ", d, " is not plausible (corrupt header?)");
    out.dims.push_back(size);
    payload *= size;
  }
  const size_t available = bytes.size() - header;
  SNN_CHECK(available >= payload, path, ": truncated IDX file: the header promises ", payload,
            " data bytes but only ", available, " follow");
  SNN_CHECK(available == payload, path, ": ", available - payload,
            " unexpected bytes after the data the header promises (", payload, " bytes)");
  out.bytes = std::move(bytes);
  out.data_offset = header;
  return out;
}

IdxArray read_idx(const std::string& path, int expected_ndims) {
  return parse_idx(read_file_bytes(path), path, expected_ndims);
}

}  // namespace stablenn
