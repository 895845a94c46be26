// datasets/data_dir.cpp — the data-folder search and its error message (chapter 3).
#include "datasets/data_dir.h"

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "io/file_bytes.h"

namespace stablenn {

namespace {

// The absolute form of `path` for messages and comparisons ("./data" run from /tmp: /tmp/data).
std::string absolute(const std::string& path) {
  std::error_code error;
  const std::filesystem::path p = std::filesystem::absolute(path, error);
  return error ? path : p.lexically_normal().string();
}

bool is_folder(const std::string& path) {
  std::error_code error;
  return std::filesystem::is_directory(path, error);
}

// `candidates` in order, the same folder reached twice (say STABLENN_DATA=./data) kept once.
std::vector<DataRoot> without_duplicates(const std::vector<DataRoot>& candidates) {
  std::vector<DataRoot> roots;
  for (const DataRoot& candidate : candidates) {
    std::error_code error;
    const std::filesystem::path canonical = std::filesystem::weakly_canonical(candidate.path, error);
    bool seen = false;
    for (const DataRoot& root : roots) {
      std::error_code error2;
      if (!error && std::filesystem::weakly_canonical(root.path, error2) == canonical && !error2) seen = true;
    }
    if (!seen) roots.push_back(candidate);
  }
  return roots;
}

// The running program's file (Linux: /proc/self/exe), "" when unknown.
std::string this_executable() {
  std::error_code error;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? "" : exe.string();
}

// set_program_location's values while set.
bool location_overridden = false;
std::string overridden_source, overridden_executable;

}  // namespace

void set_program_location(const std::string& source_dir, const std::string& executable) {
  location_overridden = true;
  overridden_source = source_dir;
  overridden_executable = executable;
}

void restore_program_location() { location_overridden = false; }

std::string built_source_dir() {
#ifdef STABLENN_SOURCE_DIR
  return STABLENN_SOURCE_DIR;
#else
  return "";
#endif
}

std::vector<DataRoot> default_data_roots(const std::string& source_dir, const std::string& executable) {
  std::vector<DataRoot> candidates = {{absolute("./data"), "default"},
                                      {absolute("../shared/data"), "default"}};
  // Absent folders of the source tree and around the executable are not worth a line each in the
  // "not found" message; the working directory's are always listed, being where downloads go.
  const auto add_if_folder = [&](const std::filesystem::path& path, const std::string& origin) {
    const std::string abs = absolute(path.string());
    if (is_folder(abs)) candidates.push_back({abs, origin});
  };
  if (!source_dir.empty()) {
    add_if_folder(std::filesystem::path(source_dir) / ".." / "shared" / "data", "source tree");
    add_if_folder(std::filesystem::path(source_dir) / "data", "source tree");
  }
  if (!executable.empty()) {
    // build/notebooks_cpp/ch03_training: its folder and the two above it (build/, the checkout).
    std::filesystem::path dir = std::filesystem::path(absolute(executable)).parent_path();
    for (int up = 0; up < 3 && !dir.empty(); ++up, dir = dir.parent_path()) {
      add_if_folder(dir / "data", "next to the executable");
      add_if_folder(dir / ".." / "shared" / "data", "next to the executable");
      if (dir == dir.root_path()) break;
    }
  }
  return without_duplicates(candidates);
}

std::vector<DataRoot> data_search_roots(const std::string& data_dir_flag) {
  std::vector<DataRoot> candidates;
  if (!data_dir_flag.empty()) candidates.push_back({absolute(data_dir_flag), "--data-dir"});
  const char* env = std::getenv("STABLENN_DATA");
  if (env != nullptr && env[0] != '\0') candidates.push_back({absolute(env), "STABLENN_DATA"});
  const std::vector<DataRoot> defaults =
      location_overridden ? default_data_roots(overridden_source, overridden_executable)
                          : default_data_roots(built_source_dir(), this_executable());
  for (const DataRoot& root : defaults) candidates.push_back(root);
  return without_duplicates(candidates);
}

std::string find_raw_or_gz(const std::string& folder, const std::string& name) {
  const std::string raw = folder + "/" + name;
  if (file_exists(raw)) return raw;
  if (file_exists(raw + ".gz")) return raw + ".gz";
  return "";
}

std::string find_dataset_folder(const std::string& dataset, const std::vector<std::string>& subfolders,
                                const std::vector<std::string>& files,
                                const std::string& data_dir_flag) {
  std::ostringstream searched;
  for (const DataRoot& root : data_search_roots(data_dir_flag)) {
    for (const std::string& subfolder : subfolders) {
      const std::string folder = root.path + "/" + subfolder;
      std::vector<std::string> missing;
      for (const std::string& file : files) {
        if (find_raw_or_gz(folder, file).empty()) missing.push_back(file);
      }
      if (missing.empty()) return folder;
      searched << "\n  " << folder << "  (" << root.origin;
      if (missing.size() < files.size()) {
        searched << "; has some files but lacks";
        for (const std::string& file : missing) searched << " " << file;
      } else {
        std::error_code error;
        searched << (std::filesystem::is_directory(folder, error) ? "; files absent"
                                                                   : "; no such folder");
      }
      searched << ")";
    }
  }
  std::ostringstream expected;
  for (const std::string& file : files) expected << "\n  " << file << "  (or " << file << ".gz)";
  // The download command with absolute paths, so that it works from wherever it is pasted; into the
  // source tree's data/ when known (searched from anywhere), else ./data.
  const std::string source = built_source_dir();
  const std::string script =
      source.empty() ? "scripts/download_data.sh" : absolute(source + "/scripts/download_data.sh");
  const std::string destination = absolute(source.empty() ? "./data" : source + "/data");
  std::ostringstream message;
  message << dataset << ": dataset not found. Expected the files" << expected.str()
          << "\nin one of the folders searched:" << searched.str()
          << "\nTo get it (needs internet access): " << script << " " << destination << " " << dataset
          << "\nor point --data-dir or the environment variable STABLENN_DATA at a folder holding "
          << subfolders.front() << "/.";
  throw DatasetMissing(message.str());
}

}  // namespace stablenn
