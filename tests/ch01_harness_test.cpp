// tests/ch01_harness_test.cpp — the chapter programs' cell loop (notebooks_cpp/harness.h): --cell N
// shows only cell N but runs the cells before it first, since later cells build on their state.
#include <gtest/gtest.h>

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "notebooks_cpp/harness.h"

using stablenn::notebook::Cell;
using stablenn::notebook::Context;

namespace {

// Runs three cells that each append their number to `ran` and print a marker; returns the exit code
// and what reached std::cout.
int run_cells(std::vector<std::string> args, std::vector<int>& ran, std::string& printed) {
  std::vector<Cell> cells;
  for (int i = 1; i <= 3; ++i)
    cells.push_back({"cell " + std::to_string(i), "explains " + std::to_string(i), [i, &ran](Context&) {
                       ran.push_back(i);
                       std::cout << "output of cell " << i << "\n";
                     }});
  args.insert(args.begin(), "ch00_test");
  args.push_back("--out");
  args.push_back(::testing::TempDir());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  std::ostringstream captured;
  std::streambuf* saved = std::cout.rdbuf(captured.rdbuf());
  const int rc = stablenn::notebook::run_chapter(static_cast<int>(argv.size()), argv.data(),
                                                 {0, "test", "book/none.md"}, cells);
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

}  // namespace
