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

// Checks the magic number and the sizes at the start of `bytes`; returns the dimensions and the
// number of data bytes they promise. Needs only the header (4 + 4 * ndims bytes).
size_t parse_header(const std::vector<uint8_t>& bytes, const std::string& path, int expected_ndims,
                    std::vector<int64_t>& dims) {
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
  size_t payload = 1;
  dims.clear();
  for (int d = 0; d < expected_ndims; ++d) {
    const uint32_t size = read_big_endian(bytes.data() + 4 + 4 * d);
    // Products checked against 2^62, so header + payload + margin never overflows either.
    SNN_CHECK(size <= 0x7FFFFFFFu && (size == 0 || payload <= (size_t(1) << 62) / size), path,
              ": size ", size, " of dimension ", d, " is not plausible (corrupt header?)");
    dims.push_back(size);
    payload *= size;
  }
  return payload;
}

}  // namespace

IdxArray parse_idx(std::vector<uint8_t> bytes, const std::string& path, int expected_ndims) {
  IdxArray out;
  const size_t payload = parse_header(bytes, path, expected_ndims, out.dims);
  const size_t header = 4 + 4 * static_cast<size_t>(expected_ndims);
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
  // The header first, then no more than it promises (plus a margin, so a few stray bytes get
  // parse_idx's precise message): a gzip bomb is stopped at that size.
  const size_t header = 4 + 4 * static_cast<size_t>(expected_ndims);
  std::vector<int64_t> dims;
  const size_t payload = parse_header(read_file_head(path, header), path, expected_ndims, dims);
  return parse_idx(read_file_bytes(path, header + payload + kIdxSizeMargin), path, expected_ndims);
}

}  // namespace stablenn
