// tests/ch01_args_test.cpp — the one flag parser of the chapter programs and benchmarks (io/args.h):
// whole-string, range-checked numbers, and messages that name the flag, what was expected and what
// was given (never a bare "stoll").
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/args.h"

using namespace stablenn;

namespace {

// The message of the UsageError `f` throws; fails the test when it throws nothing.
template <class F>
std::string usage_error(F f) {
  try {
    f();
  } catch (const args::UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no UsageError";
  return "";
}

std::vector<args::GivenFlag> split(std::vector<std::string> words, const std::vector<args::FlagSpec>& known) {
  words.insert(words.begin(), "program");
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  return args::split_flags(static_cast<int>(argv.size()), argv.data(), known);
}

TEST(Args, WholeNumbersAreParsedExactly) {
  EXPECT_EQ(args::parse_int("--cell", "3", 1, 9), 3);
  EXPECT_EQ(args::parse_int("--n", "-5"), -5);
  EXPECT_EQ(args::parse_int("--n", "9223372036854775807"), INT64_MAX);
  EXPECT_EQ(args::parse_uint("--seed", "18446744073709551615"), UINT64_MAX);
  EXPECT_DOUBLE_EQ(args::parse_double("--lr", "1e-3", 0, 1), 1e-3);
  EXPECT_DOUBLE_EQ(args::parse_double("--lr", ".5"), 0.5);
}

TEST(Args, CellBeyondTheRangeIsRefusedNotWrapped) {
  // 4294967297 = 2^32 + 1: a cast to int would make it cell 1.
  const std::string m = usage_error([] { args::parse_int("--cell", "4294967297", 1, 9); });
  EXPECT_EQ(m, "--cell expects a whole number from 1 to 9, got '4294967297'");
  EXPECT_NE(usage_error([] { args::parse_int("--n", "9223372036854775808"); }).find("got '9223372036854775808'"),
            std::string::npos);
}

TEST(Args, TrailingCharactersAreRefused) {
  EXPECT_EQ(usage_error([] { args::parse_int("--epochs", "1xyz", 1); }),
            "--epochs expects a whole number >= 1, got '1xyz'");
  EXPECT_EQ(usage_error([] { args::parse_int("--epochs", "abc", 1); }),
            "--epochs expects a whole number >= 1, got 'abc'");
  EXPECT_NE(usage_error([] { args::parse_int("--epochs", " 3", 1); }), "");
  EXPECT_NE(usage_error([] { args::parse_int("--epochs", "+3", 1); }), "");
  EXPECT_NE(usage_error([] { args::parse_int("--epochs", "", 1); }), "");
  EXPECT_NE(usage_error([] { args::parse_uint("--seed", "-1"); }).find("non-negative"), std::string::npos);
  EXPECT_NE(usage_error([] { args::parse_double("--lr", "0.1x"); }).find("--lr expects a finite number"),
            std::string::npos);
}

TEST(Args, ZeroEpochsIsBelowTheRange) {
  EXPECT_EQ(usage_error([] { args::whole_number(1, 100)("--epochs", "0"); }),
            "--epochs expects a whole number from 1 to 100, got '0'");
}

TEST(Args, DoublesMustBeFiniteAndInRange) {
  for (const char* bad : {"nan", "inf", "-inf", "1e999", " 1", "0x1p3"})
    EXPECT_NE(usage_error([&] { args::parse_double("--lr", bad); }), "") << bad;
  EXPECT_EQ(usage_error([] { args::number(0, 1)("--lr", "2"); }), "--lr expects a finite number from 0 to 1, got '2'");
}

TEST(Args, ListOfWidths) {
  EXPECT_EQ(args::parse_int_list("--widths", "32,64,128", 3, 1, 4096), (std::vector<int64_t>{32, 64, 128}));
  EXPECT_EQ(usage_error([] { args::parse_int_list("--widths", "a,b,c", 3, 1, 4096); }),
            "--widths expects 3 whole numbers from 1 to 4096 separated by commas ('a' is not one), got 'a,b,c'");
  EXPECT_NE(usage_error([] { args::parse_int_list("--widths", "32,64", 3, 1, 4096); }).find("got '32,64'"),
            std::string::npos);
  EXPECT_NE(usage_error([] { args::parse_int_list("--widths", "32,,64", 3, 1, 4096); }).find("'' is not one"),
            std::string::npos);
  EXPECT_NE(usage_error([] { args::parse_int_list("--widths", "32,64,0", 3, 1, 4096); }).find("'0' is not one"),
            std::string::npos);
}

TEST(Args, ChoicesAreSpelledOut) {
  EXPECT_EQ(args::parse_choice_list("--models", "resnet,flexible", {"resnet", "prescribed", "flexible"}),
            (std::vector<std::string>{"resnet", "flexible"}));
  EXPECT_EQ(usage_error([] { args::some_of({"resnet", "prescribed", "flexible"})("--models", "foo"); }),
            "--models expects a comma-separated list of resnet, prescribed or flexible ('foo' is not one), "
            "got 'foo'");
  EXPECT_EQ(usage_error([] { args::one_of({"strong", "chapter", "both"})("--attack", "weak"); }),
            "--attack expects strong, chapter or both, got 'weak'");
}

TEST(Args, SplitsFlagsWithSpaceOrEquals) {
  const std::vector<args::FlagSpec> known = {{"smoke", false}, {"cell", true}, {"out", true}};
  const auto given = split({"--smoke", "--cell", "3", "--out=dir"}, known);
  ASSERT_EQ(given.size(), 3u);
  EXPECT_EQ(given[0].name, "smoke");
  EXPECT_EQ(given[1].name, "cell");
  EXPECT_EQ(given[1].value, "3");
  EXPECT_EQ(given[2].value, "dir");
}

TEST(Args, SplitRefusesWhatItDoesNotKnow) {
  const std::vector<args::FlagSpec> known = {{"smoke", false}, {"cell", true}};
  EXPECT_EQ(usage_error([&] { split({"--bogus"}, known); }), "unknown option '--bogus'");
  EXPECT_EQ(usage_error([&] { split({"--cell"}, known); }), "--cell expects a value");
  EXPECT_EQ(usage_error([&] { split({"--smoke=1"}, known); }), "--smoke takes no value");
  EXPECT_NE(usage_error([&] { split({"cell"}, known); }).find("unexpected argument 'cell'"), std::string::npos);
}

}  // namespace
