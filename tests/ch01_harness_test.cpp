// tests/ch01_harness_test.cpp — the chapter programs' cell loop (notebooks_cpp/harness.h): --cell N
// shows only cell N but runs the cells before it first, since later cells build on their state.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <iomanip>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

#include "datasets/data_dir.h"
#include "datasets/fallback.h"
#include "layers/activations.h"
#include "layers/linear.h"
#include "notebooks_cpp/harness.h"
#include "train/trainer.h"

using stablenn::notebook::Cell;
using stablenn::notebook::Context;

namespace {

// Runs three cells that each append their number to `ran` and print a marker; returns the exit code
// and what reached std::cout. The chapter has the flags of `info` (--out is added unless given).
int run_cells(std::vector<std::string> args, std::vector<int>& ran, std::string& printed,
              const stablenn::notebook::ChapterInfo& info = {0, "test", "book/none.md"},
              const std::function<void(Context&)>& first_cell = nullptr) {
  std::vector<Cell> cells;
  for (int i = 1; i <= 3; ++i)
    cells.push_back({"cell " + std::to_string(i), "explains " + std::to_string(i), [i, &ran, first_cell](Context& ctx) {
                       ran.push_back(i);
                       std::cout << "output of cell " << i << "\n";
                       if (i == 1 && first_cell) first_cell(ctx);
                     }});
  args.insert(args.begin(), "ch00_test");
  bool has_out = false;
  for (const std::string& a : args) has_out = has_out || a == "--out";
  if (!has_out) {
    args.push_back("--out");
    args.push_back(::testing::TempDir());
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  std::ostringstream captured;
  std::streambuf* saved = std::cout.rdbuf(captured.rdbuf());
  const int rc = stablenn::notebook::run_chapter(static_cast<int>(argv.size()), argv.data(), info, cells);
  std::cout.rdbuf(saved);
  printed = captured.str();
  return rc;
}

TEST(Harness, AllCellsRunInOrder) {
  std::vector<int> ran;
  std::string out;
  EXPECT_EQ(run_cells({}, ran, out), 0);
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
  EXPECT_NE(out.find("output of cell 1"), std::string::npos);
  EXPECT_NE(out.find("output of cell 3"), std::string::npos);
}

TEST(Harness, CellRunsItsPredecessorsQuietly) {
  std::vector<int> ran;
  std::string out;
  EXPECT_EQ(run_cells({"--cell", "2"}, ran, out), 0);
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));  // cell 3 does not run
  EXPECT_EQ(out.find("output of cell 1"), std::string::npos) << out;  // hidden
  EXPECT_EQ(out.find("explains 1"), std::string::npos) << out;
  EXPECT_NE(out.find("output of cell 2"), std::string::npos) << out;
  EXPECT_NE(out.find("cells 1-1 run first"), std::string::npos) << out;
  EXPECT_TRUE(std::cout.good());  // the stream works again after the hidden cells
}

TEST(Harness, CellOutOfRangeIsAUsageError) {
  std::vector<int> ran;
  std::string out;
  EXPECT_EQ(run_cells({"--cell", "4"}, ran, out), 2);
  EXPECT_TRUE(ran.empty());
}

// ---- flags are checked before any cell runs (exit status 2) ----

// A chapter with the kinds of flags the programs declare.
stablenn::notebook::ChapterInfo chapter_with_flags() {
  namespace args = stablenn::args;
  return {0, "test", "book/none.md",
          {{"epochs", true, "epochs", args::whole_number(1, 1000)},
           {"models", true, "models", args::some_of({"resnet", "prescribed"})},
           {"widths", true, "widths", args::whole_numbers(3, 1, 4096)},
           {"retrain", false, "retrain"}}};
}

// Runs the chapter with `args`, capturing standard error; expects exit 2, no cell run, and an error
// message containing `expected`.
void expect_usage_error(const std::vector<std::string>& args, const std::string& expected) {
  std::vector<int> ran;
  std::string out;
  testing::internal::CaptureStderr();
  const int rc = run_cells(args, ran, out, chapter_with_flags());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 2) << err;
  EXPECT_TRUE(ran.empty()) << "a cell ran before the bad flag was reported";
  EXPECT_NE(err.find(expected), std::string::npos) << err;
}

TEST(HarnessFlags, BadValuesStopBeforeTheFirstCell) {
  expect_usage_error({"--cell", "4294967297"}, "--cell expects a whole number from 1 to 3, got '4294967297'");
  expect_usage_error({"--epochs", "0"}, "--epochs expects a whole number from 1 to 1000, got '0'");
  expect_usage_error({"--epochs", "1xyz"}, "--epochs expects a whole number from 1 to 1000, got '1xyz'");
  expect_usage_error({"--models", "foo"}, "--models expects a comma-separated list of resnet or prescribed");
  expect_usage_error({"--widths", "a,b,c"}, "--widths expects 3 whole numbers");
  expect_usage_error({"--threads", "0"}, "--threads expects a whole number");
  expect_usage_error({"--seed", "-3"}, "--seed expects a non-negative whole number, got '-3'");
  expect_usage_error({"--retrain=yes"}, "--retrain takes no value");
}

TEST(HarnessFlags, OutFolderMustBeWritableBeforeTheFirstCell) {
  expect_usage_error({"--out", "/proc/stablenn_no_such_folder"}, "--out: cannot create the folder '/proc/");
}

TEST(HarnessFlags, DataDirThatDoesNotExistIsAnError) {
  expect_usage_error({"--data-dir", "/nonexistent/stablenn_data"},
                     "--data-dir: '/nonexistent/stablenn_data' does not exist");
}

TEST(HarnessFlags, GoodValuesReachTheCells) {
  std::vector<int> ran;
  std::string out;
  std::string epochs, widths;
  const int rc = run_cells({"--epochs=7", "--widths", "4,8,16", "--smoke"}, ran, out, chapter_with_flags(),
                           [&](Context& ctx) {
                             epochs = std::to_string(ctx.int_flag("epochs", 1));
                             widths = ctx.flag("widths");
                           });
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(epochs, "7");
  EXPECT_EQ(widths, "4,8,16");
}

// ---- data: missing means the synthetic stand-in, broken means an error ----

// A fresh folder for data files.
std::filesystem::path data_folder(const std::string& name) {
  const auto dir = std::filesystem::path(testing::TempDir()) / (name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(HarnessData, MissingFilesGiveTheSyntheticStandInLoudly) {
  const std::string dir = data_folder("harness_missing").string();
  std::ostringstream captured;
  std::streambuf* saved = std::cout.rdbuf(captured.rdbuf());
  const stablenn::TrainTestData data = stablenn::notebook::real_or_synthetic(
      "No-Such-Set",
      [&] {
        stablenn::find_dataset_folder("no-such-set", {"no-such-set"}, {"a.bin"}, dir);
        return stablenn::TrainTestData{};
      },
      [] { return stablenn::shapes_stand_in(20, 10, 0); });
  std::cout.rdbuf(saved);
  EXPECT_TRUE(data.synthetic);
  EXPECT_EQ(data.train.size(), 20);
  EXPECT_EQ(data.test.size(), 10);
  EXPECT_NE(captured.str().find("No-Such-Set was not found, so this run uses SYNTHETIC data"), std::string::npos)
      << captured.str();
  EXPECT_NE(captured.str().find(dir), std::string::npos) << "the folders searched are not named";
  EXPECT_EQ(data.note.find("  No-Such-Set was not found"), 0u);
}

// Fashion-MNIST's four files in <root>/fashion-mnist/, the training images cut short: a header that
// promises 60,000 images of 28x28, then 100 bytes.
std::string truncated_fashion_mnist() {
  const auto root = data_folder("harness_truncated");
  const auto folder = root / "fashion-mnist";
  std::filesystem::create_directories(folder);
  auto write = [&](const std::string& name, std::vector<unsigned char> bytes) {
    std::ofstream(folder / name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                          static_cast<std::streamsize>(bytes.size()));
  };
  std::vector<unsigned char> images = {0, 0, 8, 3, 0, 0, 0xEA, 0x60, 0, 0, 0, 28, 0, 0, 0, 28};
  images.resize(images.size() + 100, 0);
  write("train-images-idx3-ubyte", images);
  for (const char* name : {"train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    write(name, {0, 0, 8, 1, 0, 0, 0, 0});
  return root.string();
}

TEST(HarnessData, PresentButTruncatedFileIsAnErrorNotSyntheticData) {
  const std::string root = truncated_fashion_mnist();
  bool synthesised = false;
  try {
    stablenn::notebook::real_or_synthetic(
        "Fashion-MNIST", [&] { return stablenn::load_fashion_mnist_subsets(root, 0, 0, 0); },
        [&] {
          synthesised = true;
          return stablenn::shapes_stand_in(20, 10, 0);
        });
    ADD_FAILURE() << "a truncated data file was accepted";
  } catch (const stablenn::notebook::DataError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("train-images-idx3-ubyte"), std::string::npos) << message;
    EXPECT_NE(message.find("cannot be read"), std::string::npos) << message;
  }
  EXPECT_FALSE(synthesised);
}

TEST(HarnessData, BrokenDataStopsTheProgramWithStatus2) {
  const std::string root = truncated_fashion_mnist();
  std::vector<int> ran;
  std::string out;
  testing::internal::CaptureStderr();
  const int rc = run_cells({"--data-dir", root}, ran, out, {0, "test", "book/none.md"}, [](Context& ctx) {
    stablenn::notebook::real_or_synthetic(
        "Fashion-MNIST", [&] { return stablenn::load_fashion_mnist_subsets(ctx.data_dir, 0, 0, 0); },
        [] { return stablenn::shapes_stand_in(20, 10, 0); });
  });
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 2) << err;
  EXPECT_EQ(ran, (std::vector<int>{1}));  // stopped in the cell that reads the data
  EXPECT_NE(err.find("train-images-idx3-ubyte"), std::string::npos) << err;
}

// ---- a trained model: load the checkpoint when it exists and fits, train otherwise ----

TEST(HarnessCheckpoint, LoadsWhenPresentTrainsWhenAbsentOrUnfit) {
  const auto dir = data_folder("harness_checkpoint");
  const std::string checkpoint = (dir / "model.safetensors").string();
  int loads = 0, trainings = 0;
  std::ostringstream captured;
  std::streambuf* saved = std::cout.rdbuf(captured.rdbuf());
  // absent: trains
  EXPECT_FALSE(stablenn::notebook::load_or_train(checkpoint, [&] { ++loads; }, [&] { ++trainings; }));
  EXPECT_EQ(loads, 0);
  EXPECT_EQ(trainings, 1);
  // present and fitting: loads, no training
  std::ofstream(checkpoint) << "weights";
  EXPECT_TRUE(stablenn::notebook::load_or_train(checkpoint, [&] { ++loads; }, [&] { ++trainings; }));
  EXPECT_EQ(loads, 1);
  EXPECT_EQ(trainings, 1);
  // present but not fitting the model: reported, then trained
  EXPECT_FALSE(stablenn::notebook::load_or_train(
      checkpoint, [&] { stablenn::fail("tensor 'w' has shape [2] in the file, [3] in the model"); },
      [&] { ++trainings; }));
  std::cout.rdbuf(saved);
  EXPECT_EQ(trainings, 2);
  EXPECT_NE(captured.str().find("does not fit: tensor 'w'"), std::string::npos) << captured.str();
}

// ---- --cell N: hidden cells are silent whatever prints, and reuse checkpoints ----

// Runs `body` with file descriptor 1 pointing at a temporary file; returns what reached it.
std::string capture_fd1(const std::function<void()>& body) {
  const std::string path = (std::filesystem::path(testing::TempDir()) /
                            ("fd1_" + std::to_string(::getpid()) + ".txt")).string();
  std::cout.flush();
  std::fflush(stdout);
  const int saved = ::dup(STDOUT_FILENO);
  const int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  EXPECT_GE(file, 0);
  ::dup2(file, STDOUT_FILENO);
  ::close(file);
  body();
  std::cout.flush();
  std::fflush(stdout);
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::remove(path);
  return text.str();
}

TEST(HarnessHidden, HiddenCellsPrintNothingEvenThroughPrintf) {
  std::vector<int> ran;
  std::string out;
  testing::internal::CaptureStderr();
  const std::string fd1 = capture_fd1([&] {
    EXPECT_EQ(run_cells({"--cell", "2"}, ran, out, {0, "test", "book/none.md"}, [](Context& ctx) {
                std::printf("printf from a hidden cell\n");
                std::puts("puts from a hidden cell");
                const char raw[] = "write(1) from a hidden cell\n";
                EXPECT_EQ(::write(STDOUT_FILENO, raw, sizeof raw - 1), static_cast<ssize_t>(sizeof raw - 1));
                std::fprintf(stderr, "stderr from a hidden cell\n");
                stablenn::notebook::notice("notice from a hidden cell");
                std::cout << std::setw(12) << "padded";  // fails on the null buffer, width unused
                EXPECT_TRUE(ctx.hidden);
              }),
              0);
    std::printf("printf after the run\n");  // fd 1 works again
  });
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
  EXPECT_EQ(fd1.find("printf from a hidden cell"), std::string::npos) << fd1;
  EXPECT_EQ(fd1.find("puts from a hidden cell"), std::string::npos) << fd1;
  EXPECT_EQ(fd1.find("write(1) from a hidden cell"), std::string::npos) << fd1;
  EXPECT_NE(fd1.find("notice from a hidden cell"), std::string::npos) << fd1;  // meant to be seen
  EXPECT_NE(fd1.find("printf after the run"), std::string::npos) << fd1;
  EXPECT_NE(err.find("stderr from a hidden cell"), std::string::npos) << err;  // errors stay visible
  EXPECT_EQ(out.find("output of cell 1"), std::string::npos) << out;
  EXPECT_NE(out.find("output of cell 2"), std::string::npos) << out;
  EXPECT_NE(out.find("\n[2/3] cell 2"), std::string::npos) << out;  // not padded by the hidden setw
}

TEST(HarnessHidden, OutputComesBackWhenAHiddenCellThrows) {
  std::vector<Cell> cells = {
      {"fails", "", [](Context&) { throw stablenn::Error("broken on purpose"); }},
      {"shown", "", [](Context&) {}}};
  std::string arg0 = "ch00_test", cell = "--cell", two = "2", out = "--out", dir = testing::TempDir();
  std::vector<char*> argv = {arg0.data(), cell.data(), two.data(), out.data(), dir.data()};
  int rc = 0;
  testing::internal::CaptureStderr();
  const std::string fd1 = capture_fd1([&] {
    rc = stablenn::notebook::run_chapter(5, argv.data(), {0, "test", "book/none.md"}, cells);
    std::printf("printf after the failure\n");
  });
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 1);
  EXPECT_NE(err.find("broken on purpose"), std::string::npos) << err;
  EXPECT_NE(fd1.find("printf after the failure"), std::string::npos) << fd1;
  EXPECT_TRUE(std::cout.good());
}

// A chapter whose cell 1 "trains" (counts, writes a checkpoint into --out) and cell 2 uses it.
int run_training_chapter(const std::string& out_dir, int& trainings, std::string& printed) {
  std::vector<Cell> cells = {
      {"train", "", [&trainings](Context& ctx) {
         const std::string checkpoint = ctx.out_path("model.ckpt");
         stablenn::notebook::load_or_train(checkpoint, [] {}, [&] {
           ++trainings;
           std::ofstream(checkpoint) << "weights";
         });
       }},
      {"use", "", [](Context&) { std::cout << "using the model\n"; }}};
  std::string arg0 = "ch00_test", cell = "--cell", two = "2", out = "--out", dir = out_dir;
  std::vector<char*> argv = {arg0.data(), cell.data(), two.data(), out.data(), dir.data()};
  int rc = 0;
  std::ostringstream cout_text;
  printed = capture_fd1([&] {
    std::streambuf* saved = std::cout.rdbuf(cout_text.rdbuf());
    rc = stablenn::notebook::run_chapter(5, argv.data(), {0, "test", "book/none.md"}, cells);
    std::cout.rdbuf(saved);
  });
  printed += cout_text.str();
  return rc;
}

TEST(HarnessCheckpoint, CellNTrainsOnlyWithoutACheckpointAndSaysWhere) {
  const auto dir = data_folder("harness_cell_checkpoint");
  int trainings = 0;
  std::string printed;
  ASSERT_EQ(run_training_chapter(dir.string(), trainings, printed), 0);
  EXPECT_EQ(trainings, 1);  // absent: trains, and says so with the absolute path
  EXPECT_NE(printed.find("no checkpoint at " + (dir / "model.ckpt").string()), std::string::npos) << printed;
  ASSERT_EQ(run_training_chapter(dir.string(), trainings, printed), 0);
  EXPECT_EQ(trainings, 1);  // present: reused
  EXPECT_NE(printed.find("using the model saved in " + (dir / "model.ckpt").string()), std::string::npos)
      << printed;
  EXPECT_NE(printed.find("using the model\n"), std::string::npos) << printed;
  std::filesystem::remove(dir / "model.ckpt");
  ASSERT_EQ(run_training_chapter(dir.string(), trainings, printed), 0);
  EXPECT_EQ(trainings, 2);  // absent again: trains again
}

TEST(HarnessCheckpoint, NameDependsOnTheConfiguration) {
  Context ctx;
  ctx.out_dir = data_folder("harness_names").string();
  const std::string a = stablenn::notebook::checkpoint_for(ctx, "m", "epochs 10 seed 0");
  EXPECT_EQ(a, stablenn::notebook::checkpoint_for(ctx, "m", "epochs 10 seed 0"));
  EXPECT_NE(a, stablenn::notebook::checkpoint_for(ctx, "m", "epochs 2 seed 0"));
  EXPECT_EQ(std::filesystem::path(a).parent_path(), std::filesystem::path(ctx.out_dir));
  EXPECT_EQ(std::filesystem::path(a).filename().string().rfind("m_", 0), 0u) << a;
}

// fit_or_resume with a real Trainer: a finished run is reused, an interrupted one resumes, and the
// history of the earlier epochs comes back from the CSV log.
TEST(HarnessCheckpoint, FitOrResumeReusesAndResumes) {
  using namespace stablenn;
  const auto dir = data_folder("harness_resume");
  Context ctx;
  ctx.out_dir = dir.string();
  const TrainTestData data = shapes_stand_in(32, 16, 0);
  LoaderOptions lo;
  lo.batch_size = 16;
  const DataLoader train(data.train, lo), test(data.test, lo);
  int epochs_trained = 0;
  const auto run = [&](int64_t epochs) {
    Generator g(0);
    Sequential model({std::make_shared<Flatten>(), std::make_shared<Linear>(784, 10, true, g)});
    Adam adam(model.parameters(), 1e-3);
    Trainer trainer(model, adam);
    trainer.options.epochs = epochs;
    trainer.options.out = nullptr;
    trainer.options.checkpoint_path = (dir / "m.safetensors").string();
    trainer.options.csv_path = (dir / "m.csv").string();
    trainer.options.on_epoch_end = [&](const EpochResult&) { ++epochs_trained; };
    std::ostringstream captured;
    std::streambuf* saved = std::cout.rdbuf(captured.rdbuf());
    const TrainResult r = notebook::fit_or_resume(ctx, trainer, train, &test);
    std::cout.rdbuf(saved);
    return std::make_pair(r, captured.str());
  };
  auto [first, said1] = run(1);  // "interrupted" after epoch 1 of what becomes a 3-epoch run
  EXPECT_EQ(epochs_trained, 1);
  EXPECT_NE(said1.find("no checkpoint at"), std::string::npos) << said1;
  auto [second, said2] = run(3);
  EXPECT_EQ(epochs_trained, 3);  // epochs 2 and 3 only
  EXPECT_NE(said2.find("resuming the run stopped after epoch 1 of 3"), std::string::npos) << said2;
  ASSERT_EQ(second.history.size(), 3u);
  EXPECT_EQ(second.history[0].epoch, 1);
  EXPECT_NEAR(second.history[0].train_loss, first.history[0].train_loss, 1e-6);
  auto [third, said3] = run(3);
  EXPECT_EQ(epochs_trained, 3);  // finished: nothing trained
  EXPECT_NE(said3.find("using the model saved in"), std::string::npos) << said3;
  ASSERT_EQ(third.history.size(), 3u);
  EXPECT_EQ(third.history[2].epoch, 3);
  ctx.flags["retrain"] = "1";
  run(3);
  EXPECT_EQ(epochs_trained, 6);  // --retrain: all three again
}

// ---- data: found from any working directory ----

// Changes the working directory while alive.
class ScopedChdir {
 public:
  explicit ScopedChdir(const std::filesystem::path& to) : saved_(std::filesystem::current_path()) {
    std::filesystem::current_path(to);
  }
  ~ScopedChdir() { std::filesystem::current_path(saved_); }

 private:
  std::filesystem::path saved_;
};

// Compared as canonical paths: the search drops a folder that another candidate already names
// through a link (e.g. /tmp/shared -> /work/shared), keeping the first spelling.
bool has_root(const std::vector<stablenn::DataRoot>& roots, const std::filesystem::path& path) {
  std::error_code error;
  const auto wanted = std::filesystem::weakly_canonical(path, error);
  for (const auto& r : roots) {
    std::error_code error2;
    if (std::filesystem::path(r.path) == path.lexically_normal() ||
        (!error && std::filesystem::weakly_canonical(r.path, error2) == wanted && !error2))
      return true;
  }
  return false;
}

TEST(HarnessData, SourceTreeAndExecutableFoldersAreFoundFromAnyDirectory) {
  const auto tree = data_folder("harness_tree");
  std::filesystem::create_directories(tree / "checkout" / "build" / "notebooks_cpp");
  std::filesystem::create_directories(tree / "shared" / "data" / "no-such-set");
  std::ofstream(tree / "shared" / "data" / "no-such-set" / "a.bin") << "x";
  const auto elsewhere = data_folder("harness_elsewhere");
  ScopedChdir in(elsewhere);
  // from the source tree: <source>/../shared/data
  const auto roots = stablenn::default_data_roots((tree / "checkout").string(), "");
  EXPECT_TRUE(has_root(roots, tree / "shared" / "data"));
  EXPECT_TRUE(has_root(roots, elsewhere / "data"));  // ./data, absolute
  // from the executable: build/notebooks_cpp/program -> the checkout -> ../shared/data
  const auto exe_roots =
      stablenn::default_data_roots("", (tree / "checkout" / "build" / "notebooks_cpp" / "program").string());
  EXPECT_TRUE(has_root(exe_roots, tree / "shared" / "data"));
  // The program itself knows its source tree, and searches it from here too.
  const std::string source = stablenn::built_source_dir();
  ASSERT_FALSE(source.empty());
  const auto search = stablenn::data_search_roots("");
  const std::filesystem::path shared = std::filesystem::path(source) / ".." / "shared" / "data";
  if (std::filesystem::is_directory(shared)) {
    EXPECT_TRUE(has_root(search, shared)) << shared;
  }
  // and the "not found" message names the folders by absolute path and the script by its own
  try {
    stablenn::find_dataset_folder("no-such-set-2", {"no-such-set-2"}, {"a.bin"}, "");
    ADD_FAILURE() << "found a dataset that does not exist";
  } catch (const stablenn::DatasetMissing& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find((elsewhere / "data" / "no-such-set-2").string()), std::string::npos) << message;
    EXPECT_NE(message.find(source + "/scripts/download_data.sh"), std::string::npos) << message;
  }
}

// ---- explanations wrapped to the terminal ----

TEST(HarnessWrap, SplitsAtWordsWithinTheWidthKeepingParagraphs) {
  const std::string text =
      "A tensor is a view on a flat buffer with\nshape and strides.\n\nSecond paragraph: "
      "an_unbreakable_word_longer_than_the_width stays whole.";
  const std::string wrapped = stablenn::notebook::wrap_text(text, 24, "  ");
  std::istringstream lines(wrapped);
  std::string line, words_seen;
  int blank = 0;
  for (int n = 0; std::getline(lines, line); ++n) {
    if (line.empty()) {
      ++blank;
      continue;
    }
    EXPECT_EQ(line.rfind("  ", 0), 0u) << line;
    if (line.find("unbreakable") == std::string::npos) {
      EXPECT_LE(line.size(), 24u) << line;
    }
    EXPECT_NE(line.back(), ' ') << line;
    words_seen += line.substr(2) + " ";
  }
  EXPECT_EQ(blank, 1) << wrapped;  // the paragraph break, and no other
  // every word intact, in order: the text with its line breaks read as spaces
  std::istringstream a(text), b(words_seen);
  std::vector<std::string> wa, wb;
  for (std::string w; a >> w;) wa.push_back(w);
  for (std::string w; b >> w;) wb.push_back(w);
  EXPECT_EQ(wa, wb);
  EXPECT_NE(wrapped.find("  A tensor is a view on\n"), std::string::npos) << wrapped;  // filled up to 24
}

}  // namespace
