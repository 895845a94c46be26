// Chapter 8 tests: the chapter program end to end (--smoke): its results file, the certified <=
// strong check, and the adversarial examples it saves, re-verified here against its own checkpoint.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "io/safetensors.h"
#include "train/checkpoint.h"
#include "notebooks_cpp/ch08_models.h"

using namespace stablenn;
namespace fs = std::filesystem;

namespace {

// Runs the chapter program with --smoke into a fresh folder once per process; returns the folder.
// ctest runs each test in its own process, in parallel: the folder is named by the process id so
// that one test's fresh start cannot delete the files another is reading.
const fs::path& smoke_run() {
  static const fs::path out = [] {
    const fs::path dir = fs::path(testing::TempDir()) / ("ch08_program_test_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string cmd = std::string(STABLENN_BINARY_DIR) + "/notebooks_cpp/ch08_robustness --smoke --out " +
                            dir.string() + " --save-adversarial " + (dir / "adv.safetensors").string() +
                            " > " + (dir / "log.txt").string() + " 2>&1 < /dev/null";
    const int rc = std::system(cmd.c_str());
    EXPECT_EQ(rc, 0) << "the chapter program failed; its output is in " << (dir / "log.txt");
    return dir;
  }();
  return out;
}

std::vector<std::vector<std::string>> read_csv(const fs::path& path) {
  std::ifstream f(path);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(f, line);) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

}  // namespace

TEST(Ch08Program, ResultsFileHasTheSchemaAndCertifiedNeverExceedsStrong) {
  const auto rows = read_csv(smoke_run() / "ch08_results.csv");
  ASSERT_GE(rows.size(), 2u);
  const std::vector<std::string> header = {"eps", "resnet_chapter", "resnet_strong", "nonexpansive_chapter",
                                           "nonexpansive_strong", "certified"};
  EXPECT_EQ(rows[0], header);
  double previous_eps = -1;
  for (size_t r = 1; r < rows.size(); ++r) {
    ASSERT_EQ(rows[r].size(), header.size()) << "row " << r;
    std::vector<double> v;
    for (const std::string& cell : rows[r]) v.push_back(std::stod(cell));
    EXPECT_GT(v[0], previous_eps);
    previous_eps = v[0];
    for (size_t c = 1; c < v.size(); ++c) {
      EXPECT_GE(v[c], 0.0);
      EXPECT_LE(v[c], 1.0);
    }
    EXPECT_LE(v[5], v[4]) << "certified above the strong attack's accuracy at eps " << v[0];
    if (r > 1) {  // the strong curves are monotone by construction
      EXPECT_LE(v[2], std::stod(rows[r - 1][2]));
      EXPECT_LE(v[4], std::stod(rows[r - 1][4]));
    }
  }
}

TEST(Ch08Program, SavedAdversarialExamplesAreVerifiedByTheSavedModel) {
  const fs::path& dir = smoke_run();
  fs::path checkpoint;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("ch08_nonexpansive_", 0) == 0 && entry.path().extension() == ".safetensors") checkpoint = entry.path();
  }
  ASSERT_FALSE(checkpoint.empty()) << "no non-expansive checkpoint in " << dir;
  // the --smoke sizes of the program (notebooks_cpp/ch08_robustness.cpp)
  ch08::Setup s;
  s.width = 64;
  s.blocks = 2;
  Generator g(0);
  auto saved = ch08::make_nonexpansive(s, g);
  load_checkpoint(checkpoint.string(), *saved);
  const std::shared_ptr<Module> net = float64_copy(*saved, ch08::builder(ch08::Kind::kNonexpansive, s));
  const SafetensorsContent c = load_safetensors((dir / "adv_nonexpansive.safetensors").string());
  ASSERT_NE(c.find("adversarial"), nullptr);
  const std::vector<double> norms = c.find("min_norm")->to_vector();
  const std::vector<Verification> v = verify_adversarial(*net, *c.find("images"), *c.find("adversarial"),
                                                         *c.find("labels"), AttackNorm::L2, INFINITY, 0, 1);
  const std::vector<double> measured =
      per_example_norms(sub(c.find("adversarial")->to(DType::Float64), c.find("images")->to(DType::Float64)), AttackNorm::L2);
  int64_t found = 0;
  for (size_t i = 0; i < norms.size(); ++i) {
    if (!std::isfinite(norms[i])) continue;
    ++found;
    EXPECT_TRUE(v[i].ok) << "image " << i << ": " << v[i].reason;
    EXPECT_NEAR(measured[i], norms[i], 1e-9);
  }
  EXPECT_GT(found, 0);
}
