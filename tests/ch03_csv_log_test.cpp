// tests/ch03_csv_log_test.cpp — the CSV metrics log (chapter 3): header from the first row, rows
// on disk as soon as they are written, mismatched rows rejected.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "train/csv_log.h"
#include "tests/ch03_datasets_util.h"

namespace stablenn {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(CsvLog, WritesHeaderAndRowsImmediately) {
  datasets_test::TempDir dir;
  const std::string path = dir.file("metrics.csv");
  CsvLog log(path);
  EXPECT_EQ(read_text(path), "");
  log.write({{"epoch", 1}, {"loss", 0.1}, {"accuracy", 1.0 / 3.0}});
  // Read while the log is still open: the row must already be on disk (flushed).
  EXPECT_EQ(read_text(path), "epoch,loss,accuracy\n1,0.1,0.333333333\n");
  log.write({{"epoch", 2}, {"loss", NAN}, {"accuracy", -INFINITY}});
  EXPECT_EQ(read_text(path), "epoch,loss,accuracy\n1,0.1,0.333333333\n2,nan,-inf\n");
  EXPECT_EQ(log.columns(), (std::vector<std::string>{"epoch", "loss", "accuracy"}));
  log.write({{"epoch", 3}, {"loss", 1234567890123.0}, {"accuracy", 1e-12}});
  EXPECT_NE(read_text(path).find("3,1.23456789e+12,1e-12\n"), std::string::npos);
}

TEST(CsvLog, RowsMustMatchTheHeader) {
  datasets_test::TempDir dir;
  const std::string path = dir.file("metrics.csv");
  CsvLog log(path);
  log.write({{"epoch", 1}, {"loss", 0.5}});
  try {
    log.write({{"loss", 0.4}, {"epoch", 2}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(
        std::string(e.what()).find("row has columns [loss, epoch], the file has [epoch, loss]"),
        std::string::npos)
        << e.what();
  }
  EXPECT_THROW(log.write({{"epoch", 2}}), Error);
  EXPECT_THROW(log.write({}), Error);
  EXPECT_EQ(read_text(path), "epoch,loss\n1,0.5\n");  // nothing half-written
}

TEST(CsvLog, BadNamesAndPathsAreReported) {
  datasets_test::TempDir dir;
  CsvLog log(dir.file("a.csv"));
  EXPECT_THROW(log.write({{"loss,train", 1}}), Error);
  EXPECT_THROW(log.write({{"", 1}}), Error);
  EXPECT_TRUE(log.columns().empty());  // a rejected first row does not fix the header
  log.write({{"ok", 1}});
  EXPECT_EQ(read_text(dir.file("a.csv")), "ok\n1\n");
  try {
    CsvLog missing(dir.file("no/such/folder/log.csv"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no/such/folder/log.csv"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace stablenn
