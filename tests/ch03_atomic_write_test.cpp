// tests/ch03_atomic_write_test.cpp — the one atomic writer (io/file_bytes.h): the content arrives
// whole, and the temporary files of writers killed mid-write ("<file>.tmp<PID>") are removed at the
// next write of the same file, while a live writer's temporary file and other files stay.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "io/file_bytes.h"

namespace fs = std::filesystem;

namespace {

// The id of a process that has just exited (its temporary file is "stale").
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

void touch(const fs::path& path) { std::ofstream(path) << "half a write"; }

std::string read(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(AtomicWrite, RemovesStaleTemporariesOfTheSameFileOnly) {
  const fs::path dir = fs::path(testing::TempDir()) / ("atomic_write_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path target = dir / "model.safetensors";
  const fs::path stale = dir / ("model.safetensors.tmp" + std::to_string(dead_pid()));
  const fs::path live = dir / ("model.safetensors.tmp" + std::to_string(::getppid()));  // a running process
  const fs::path other = dir / ("other.safetensors.tmp" + std::to_string(dead_pid()));
  const fs::path not_ours = dir / "model.safetensors.tmpfile";
  for (const fs::path& p : {stale, live, other, not_ours}) touch(p);

  stablenn::write_file_atomic(target.string(), std::string("new content"));

  EXPECT_EQ(read(target), "new content");
  EXPECT_FALSE(fs::exists(stale)) << "the temporary file of a killed writer is left behind";
  EXPECT_TRUE(fs::exists(live)) << "a live writer's temporary file was removed";
  EXPECT_TRUE(fs::exists(other)) << "another file's temporary file was removed";
  EXPECT_TRUE(fs::exists(not_ours));
  fs::remove_all(dir);
}

TEST(AtomicWrite, FailureNamesTheFileAndLeavesNoTemporary) {
  const fs::path dir = fs::path(testing::TempDir()) / ("atomic_fail_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "target_is_a_folder");
  try {
    stablenn::write_file_atomic((dir / "target_is_a_folder").string(), std::string("x"));
    ADD_FAILURE() << "renaming over a folder succeeded";
  } catch (const stablenn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("target_is_a_folder"), std::string::npos) << e.what();
  }
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename(), "target_is_a_folder") << "left behind: " << entry.path();
  fs::remove_all(dir);
}

}  // namespace
