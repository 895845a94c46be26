// datasets/data_dir.h — where the dataset files are looked for (chapter 3).
//
// Search order: the --data-dir value the program was given, then the environment variable
// STABLENN_DATA, then ./data and ../shared/data (from the working directory), then the source tree
// the program was built from (<source>/../shared/data, <source>/data), then the folders above the
// executable (<dir>/data, <dir>/../shared/data): a program finds the data from any working
// directory. Every root is named by its absolute path in messages. Inside each root a dataset lives in its own
// subfolder (mnist/, fashion-mnist/, cifar-10/, cifar-100/), and every file may be stored raw or
// gzip-compressed with ".gz" appended. scripts/download_data.sh fetches them.
#pragma once
#include <string>
#include <vector>

#include "core/error.h"

namespace stablenn {

// Chapter 3: a dataset whose files are absent (not: present but broken, which throws a plain
// Error). Programs fall back to synthetic data on this one only.
class DatasetMissing : public Error {
 public:
  explicit DatasetMissing(const std::string& what) : Error(what) {}
};

// Chapter 3: one place searched, with where it came from ("--data-dir", "STABLENN_DATA", ...).
struct DataRoot {
  std::string path;
  std::string origin;
};

// Chapter 3: the roots in search order; `data_dir_flag` may be empty (no flag given). Duplicates
// are dropped.
std::vector<DataRoot> data_search_roots(const std::string& data_dir_flag);

// Chapter 3: the default roots (after --data-dir and STABLENN_DATA) for a program built from
// `source_dir` and started as `executable` (either may be empty: unknown), absolute, duplicates
// dropped. The source-tree and executable roots are listed only when they exist.
std::vector<DataRoot> default_data_roots(const std::string& source_dir, const std::string& executable);

// Chapter 3: the source tree this library was built from (a compile definition), "" when unknown.
std::string built_source_dir();

// Chapter 3: where data_search_roots looks beyond the working directory: by default the source
// tree of built_source_dir() and the running executable (/proc/self/exe). A test that needs a data
// set to be absent points both elsewhere (empty strings: nowhere); restore_program_location() undoes it.
void set_program_location(const std::string& source_dir, const std::string& executable);
void restore_program_location();

// Chapter 3: `folder/name` when it exists, else `folder/name.gz` when that exists, else "".
std::string find_raw_or_gz(const std::string& folder, const std::string& name);

// Chapter 3: the first folder <root>/<subfolder> (roots in search order, then `subfolders` in
// order) that holds every one of `files` (raw or .gz). Throws DatasetMissing when none does; the
// message names the dataset, the files expected, every folder searched (and which files a folder
// lacks when it holds some), and how to get the data with scripts/download_data.sh.
std::string find_dataset_folder(const std::string& dataset, const std::vector<std::string>& subfolders,
                                const std::vector<std::string>& files,
                                const std::string& data_dir_flag);

}  // namespace stablenn
