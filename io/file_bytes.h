// io/file_bytes.h — reading whole files, raw or gzip-compressed, and writing files atomically
// (chapter 3).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace stablenn {

// Chapter 3: the whole content of `path`, decompressed when it is a gzip file and read as-is
// otherwise (zlib's gzread does both). Throws stablenn::Error naming the file when it cannot be
// opened, or when the gzip stream is broken or cut short.
std::vector<uint8_t> read_file_bytes(const std::string& path);

// Chapter 3: writes `size` bytes to `path` through a temporary file in the same folder and a
// rename, so a reader never sees a half-written file. Throws naming the file on failure. Temporary
// files "<path>.tmp<PID>" of earlier writers that were killed mid-write are removed first. Every
// file the project writes whole goes through here (the CSV log, which grows row by row, does not).
void write_file_atomic(const std::string& path, const void* data, size_t size);
inline void write_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, text.data(), text.size());
}

// Chapter 3: true when `path` names an existing regular file.
bool file_exists(const std::string& path);

}  // namespace stablenn
