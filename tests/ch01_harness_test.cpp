// tests/ch01_harness_test.cpp — the chapter programs' cell loop (notebooks_cpp/harness.h): --cell N
// shows only cell N but runs the cells before it first, since later cells build on their state.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "datasets/data_dir.h"
#include "datasets/fallback.h"
#include "notebooks_cpp/harness.h"

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

}  // namespace
