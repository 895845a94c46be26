// tests/ch03_datasets_util.h — helpers shared by the datasets tests (chapter 3): temporary folders,
// writing raw and gzip files, finding the real data.
#pragma once
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/error.h"

namespace datasets_test {

// A fresh folder under the system temp folder, removed when the object goes.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    const std::string name = "stablenn_datasets_" + std::to_string(::getpid()) + "_" +
                             std::to_string(counter++);
    path_ = (std::filesystem::temp_directory_path() / name).string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code error;
    std::filesystem::remove_all(path_, error);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_raw(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

inline void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
  ASSERT_EQ(gzclose(file), Z_OK);
}

inline std::vector<uint8_t> read_raw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The decompressed content of a .gz file, read with zlib directly (independent of the library).
inline std::vector<uint8_t> gunzip_file(const std::string& path) {
  std::vector<uint8_t> out;
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return out;
  std::vector<uint8_t> chunk(1 << 20);
  int got = 0;
  while ((got = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()))) > 0) {
    out.insert(out.end(), chunk.begin(), chunk.begin() + got);
  }
  gzclose(file);
  return out;
}

// The folder with the real datasets: $STABLENN_DATA, else <source>/../shared/data.
inline std::string real_data_root() {
  const char* env = std::getenv("STABLENN_DATA");
  if (env != nullptr && env[0] != '\0') return env;
  return std::string(STABLENN_SOURCE_DIR) + "/../shared/data";
}

// The message of the stablenn::Error thrown by fn, or "" (and a test failure) when none is.
template <class F>
std::string error_message(F&& fn) {
  try {
    fn();
  } catch (const stablenn::Error& error) {
    return error.what();
  } catch (const std::exception& other) {
    ADD_FAILURE() << "expected stablenn::Error, got another exception: " << other.what();
    return other.what();
  }
  ADD_FAILURE() << "expected stablenn::Error, nothing was thrown";
  return "";
}

}  // namespace datasets_test
