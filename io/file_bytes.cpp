// io/file_bytes.cpp — whole-file reads through zlib, atomic writes (chapter 3).
#include "io/file_bytes.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include <signal.h>
#include <unistd.h>

#include "core/error.h"

namespace stablenn {

namespace {

// Reads and first allocations in 64 KiB steps: large enough for tens of megabytes of data, small
// enough that a tiny file costs no megabyte of zeroed memory (the fuzzers read millions of them).
constexpr size_t kChunk = size_t(1) << 16;

// Owns a FILE*; closes it on every path out.
struct OpenFile {
  std::FILE* file = nullptr;
  explicit OpenFile(const std::string& path) {
    std::error_code fs_error;
    SNN_CHECK(!std::filesystem::is_directory(path, fs_error), "cannot read ", path,
              ": it is a folder, a file was expected");
    errno = 0;
    file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) {
      fail("cannot open ", path, ": ", errno != 0 ? std::strerror(errno) : "out of memory");
    }
  }
  ~OpenFile() { std::fclose(file); }
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  // Up to `n` bytes; 0 at the end of the file. Throws on a read error.
  size_t read(uint8_t* dst, size_t n, const std::string& path) {
    const size_t got = std::fread(dst, 1, n, file);
    if (got < n && std::ferror(file)) fail("cannot read ", path, ": ", std::strerror(errno));
    return got;
  }
};

// Owns a z_stream set up for gzip (not raw deflate or zlib) input.
struct GzipStream {
  z_stream z{};
  explicit GzipStream(const std::string& path) {
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) fail("cannot read ", path, ": out of memory");
  }
  ~GzipStream() { inflateEnd(&z); }
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;
};

[[noreturn]] void too_large(const std::string& path, uint64_t max_bytes, bool compressed) {
  fail(path, compressed ? ": inflates to" : ": holds", " more than ", max_bytes,
       " bytes, more than its header says it holds (a damaged file, a decompression bomb, or not "
       "the expected file)");
}

// The content of `path`, at most `max_bytes`. `head`: stop quietly at max_bytes instead of
// failing when there is more (read_file_head).
std::vector<uint8_t> read_content(const std::string& path, uint64_t max_bytes, bool head) {
  OpenFile file(path);
  const std::unique_ptr<uint8_t[]> input(new uint8_t[kChunk]);  // not zeroed: read into first
  uint8_t* in = input.get();
  size_t in_size = file.read(in, 2, path);
  const bool gzip = in_size == 2 && in[0] == 0x1f && in[1] == 0x8b;
  // Room for one byte more than allowed: its arrival is how a too-large content is noticed.
  const uint64_t cap = head ? max_bytes : max_bytes + 1;
  std::vector<uint8_t> out;
  size_t used = 0;
  // Grows `out` geometrically (never past `cap`): a header's promise is not trusted for memory.
  auto room = [&]() -> size_t {
    if (used == out.size()) {
      const uint64_t grown = std::min<uint64_t>(cap, std::max<uint64_t>(kChunk, 2 * out.size()));
      out.resize(static_cast<size_t>(grown));
    }
    return out.size() - used;
  };

  if (!gzip) {
    for (size_t k = 0; k < in_size && used < cap; ++k) {
      room();
      out[used++] = in[k];
    }
    while (used < cap) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(room(), kChunk));
      const size_t got = file.read(out.data() + used, want, path);
      used += got;
      if (got == 0) break;
    }
    if (used > max_bytes) too_large(path, max_bytes, false);
    out.resize(used);
    return out;
  }

  GzipStream stream(path);
  z_stream& z = stream.z;
  z.next_in = in;
  z.avail_in = static_cast<uInt>(in_size);
  bool member_ended = false;  // the last inflate finished a member (and its CRC checked out)
  for (;;) {
    if (z.avail_in == 0) {
      in_size = file.read(in, kChunk, path);
      if (in_size == 0) break;
      z.next_in = in;
      z.avail_in = static_cast<uInt>(in_size);
    }
    if (member_ended) {
      // Another member may follow; anything else after the last member is an error.
      if (z.next_in[0] != 0x1f) {
        size_t trailing = z.avail_in;
        while ((in_size = file.read(in, kChunk, path)) > 0) trailing += in_size;
        fail(path, ": ", trailing, " unexpected byte", trailing == 1 ? "" : "s",
             " after the end of the gzip stream (a damaged or appended file)");
      }
      inflateReset(&z);
      member_ended = false;
    }
    if (used == cap) {
      if (head) break;
      too_large(path, max_bytes, true);
    }
    const size_t space = std::min<size_t>(room(), size_t(1) << 30);
    z.next_out = out.data() + used;
    z.avail_out = static_cast<uInt>(space);
    const int status = inflate(&z, Z_NO_FLUSH);
    used += space - z.avail_out;
    if (status == Z_STREAM_END) {
      member_ended = true;
    } else if (status == Z_DATA_ERROR || status == Z_NEED_DICT) {
      fail(path, ": broken gzip stream: ", z.msg ? z.msg : "invalid data", " (zlib error ", status,
           ")");
    } else if (status == Z_MEM_ERROR) {
      fail("cannot read ", path, ": out of memory while decompressing");
    }
    // Z_OK or Z_BUF_ERROR: more input or more room is needed; the loop provides either.
  }
  // Exactly one byte over the limit can also arrive with the end of the stream.
  if (!head && used > max_bytes) too_large(path, max_bytes, true);
  if (!member_ended && !(head && used == cap)) {
    fail(path, ": broken gzip stream: the compressed data ends early (truncated download?)");
  }
  out.resize(used);
  return out;
}

}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path, uint64_t max_bytes) {
  std::vector<uint8_t> bytes = read_content(path, max_bytes, /*head=*/false);
  bytes.shrink_to_fit();
  return bytes;
}

std::vector<uint8_t> read_file_head(const std::string& path, size_t count) {
  return read_content(path, count, /*head=*/true);
}

std::vector<uint8_t> read_file_raw(const std::string& path, uint64_t max_bytes) {
  OpenFile file(path);
  std::vector<uint8_t> out;
  size_t used = 0;
  for (;;) {
    if (used == out.size()) {
      if (used > max_bytes) too_large(path, max_bytes, false);
      out.resize(static_cast<size_t>(
          std::min<uint64_t>(max_bytes + 1, std::max<uint64_t>(kChunk, 2 * out.size()))));
    }
    const size_t got = file.read(out.data() + used, out.size() - used, path);
    used += got;
    if (got == 0) break;
  }
  if (used > max_bytes) too_large(path, max_bytes, false);
  out.resize(used);
  return out;
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
