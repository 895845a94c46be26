// io/file_bytes.cpp — whole-file reads through zlib, atomic writes (chapter 3).
#include "io/file_bytes.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <signal.h>
#include <unistd.h>

#include "core/error.h"

namespace stablenn {

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::error_code fs_error;
  SNN_CHECK(!std::filesystem::is_directory(path, fs_error), "cannot read ", path,
            ": it is a folder, a file was expected");
  errno = 0;
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    fail("cannot open ", path, ": ", errno != 0 ? std::strerror(errno) : "out of memory");
  }
  gzbuffer(file, 1 << 20);  // large reads: the datasets are tens of megabytes
  std::vector<uint8_t> bytes;
  size_t used = 0;
  size_t capacity = 1 << 20;
  for (;;) {
    if (bytes.size() < used + capacity) bytes.resize(used + capacity);
    const int got = gzread(file, bytes.data() + used, static_cast<unsigned>(capacity));
    if (got < 0) break;  // the error is reported below
    used += static_cast<size_t>(got);
    if (got == 0 || gzeof(file)) break;
    capacity = std::min<size_t>(bytes.size(), size_t(1) << 28);  // grow geometrically, at most 256 MiB
  }
  // gzread stops early on a broken or truncated stream; gzerror says which.
  int errnum = Z_OK;
  const char* message = gzerror(file, &errnum);
  const std::string reason = message ? message : "";
  const int read_errno = errno;  // gzclose may change it
  gzclose_r(file);
  if (errnum == Z_ERRNO) fail("cannot read ", path, ": ", std::strerror(read_errno));
  if (errnum == Z_BUF_ERROR) {
    fail(path, ": broken gzip stream: the compressed data ends early (truncated download?)");
  }
  if (errnum != Z_OK) {
    fail(path, ": broken gzip stream: ", reason, " (zlib error ", errnum, ")");
  }
  bytes.resize(used);
  bytes.shrink_to_fit();
  return bytes;
}

namespace {

// Removes "<file>.tmp<PID>" files left next to `path` by writers that were killed mid-write: those
// whose process no longer exists (a live writer's temporary file is left alone).
void remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const std::string prefix = target.filename().string() + ".tmp";
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code error;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive, or unknown
    std::error_code ignored;  // best effort: a file we cannot remove does not stop the write
    fs::remove(it->path(), ignored);
  }
}

}  // namespace

void write_file_atomic(const std::string& path, const void* data, size_t size) {
  remove_stale_temporaries(path);
  // The temporary name is unique per process, and in the same folder, so rename() is atomic.
  const std::string temporary = path + ".tmp" + std::to_string(static_cast<long long>(::getpid()));
  std::FILE* out = std::fopen(temporary.c_str(), "wb");
  if (out == nullptr) fail("cannot write ", path, ": ", std::strerror(errno));
  const size_t written = size == 0 ? 0 : std::fwrite(data, 1, size, out);
  const bool closed = std::fclose(out) == 0;
  if (written != size || !closed) {
    std::remove(temporary.c_str());
    fail("cannot write ", path, ": disk full or I/O error after ", written, " of ", size, " bytes");
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(temporary.c_str());
    fail("cannot write ", path, ": rename from temporary file failed: ", reason);
  }
}

bool file_exists(const std::string& path) {
  std::error_code error;
  return std::filesystem::is_regular_file(path, error);
}

}  // namespace stablenn
