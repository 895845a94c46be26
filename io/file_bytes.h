// io/file_bytes.h — reading whole files, raw or gzip-compressed, and writing files atomically
// (chapter 3).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace stablenn {

// Chapter 3: the most bytes read_file_bytes returns when the caller knows no tighter bound.
constexpr uint64_t kDefaultMaxFileBytes = uint64_t(1) << 30;  // 1 GiB

// Chapter 3: the whole content of `path`, decompressed when it is a gzip file (all its members, as
// `cat a.gz b.gz` makes them) and read as-is otherwise. The content may hold at most `max_bytes`:
// callers pass what the file's header says it must hold (plus a margin), so a small .gz that
// inflates to gigabytes is stopped after max_bytes + 1 bytes, not after inflating it all. Throws
// stablenn::Error naming the file when it cannot be opened, when the content is larger than
// max_bytes, when the gzip stream is broken or cut short, or when bytes follow the last member.
std::vector<uint8_t> read_file_bytes(const std::string& path,
                                     uint64_t max_bytes = kDefaultMaxFileBytes);

// Chapter 3: the first `count` bytes of the content (fewer when it is shorter), decompressed as by
// read_file_bytes but without reading further: for a header that says how large the rest must be.
std::vector<uint8_t> read_file_head(const std::string& path, size_t count);

// Chapter 3: the bytes of `path` exactly as stored (never decompressed), at most `max_bytes`.
std::vector<uint8_t> read_file_raw(const std::string& path,
                                   uint64_t max_bytes = kDefaultMaxFileBytes);

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
