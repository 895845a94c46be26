// datasets/data_dir.cpp — the data-folder search and its error message (chapter 3).
#include "datasets/data_dir.h"

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "io/file_bytes.h"

namespace stablenn {

std::vector<DataRoot> data_search_roots(const std::string& data_dir_flag) {
  std::vector<DataRoot> candidates;
  if (!data_dir_flag.empty()) candidates.push_back({data_dir_flag, "--data-dir"});
  const char* env = std::getenv("STABLENN_DATA");
  if (env != nullptr && env[0] != '\0') candidates.push_back({env, "STABLENN_DATA"});
  candidates.push_back({"./data", "default"});
  candidates.push_back({"../shared/data", "default"});
  // The same folder reached twice (say STABLENN_DATA=./data) is searched once.
  std::vector<DataRoot> roots;
  for (const DataRoot& candidate : candidates) {
    std::error_code error;
    const std::filesystem::path canonical =
        std::filesystem::weakly_canonical(candidate.path, error);
    bool seen = false;
    for (const DataRoot& root : roots) {
      std::error_code error2;
      if (!error && std::filesystem::weakly_canonical(root.path, error2) == canonical && !error2) {
        seen = true;
      }
    }
    if (!seen) roots.push_back(candidate);
  }
  return roots;
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
  std::ostringstream message;
  message << dataset << ": dataset not found. Expected the files" << expected.str()
          << "\nin one of the folders searched:" << searched.str()
          << "\nTo get it (needs internet access): scripts/download_data.sh ./data " << dataset
          << "\nor point --data-dir or the environment variable STABLENN_DATA at a folder holding "
          << subfolders.front() << "/.";
  throw DatasetMissing(message.str());
}

}  // namespace stablenn
