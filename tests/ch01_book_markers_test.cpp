// tests/ch01_book_markers_test.cpp — the book quotes the programs (issue 16): the chapter
// programs' results files (notebooks_cpp/results.h) fill the book's markers (tools/book_markers.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <unistd.h>

#include "core/error.h"
#include "io/file_bytes.h"
#include "notebooks_cpp/harness.h"
#include "notebooks_cpp/results.h"
#include "tools/book_markers.h"

using stablenn::book::ChapterResults;
using stablenn::book::fill_markers;
using stablenn::book::FillReport;
using stablenn::book::load_chapter_results;

namespace {

const std::string kFixtures = std::string(STABLENN_SOURCE_DIR) + "/tests/fixtures/book";

std::string read_text(const std::string& path) {
  const std::vector<uint8_t> bytes = stablenn::read_file_raw(path);
  return std::string(bytes.begin(), bytes.end());
}

// The fixture book filled from the fixture results (results of chapter 7 only).
FillReport fill_fixture(const std::string& text, bool check_only) {
  const ChapterResults results = load_chapter_results(kFixtures, "ch07");
  return fill_markers(text, "07-fixture.md",
                      [&](const std::string& chapter) -> const ChapterResults* {
                        if (chapter != "ch07") throw stablenn::Error("no results for " + chapter);
                        return &results;
                      },
                      check_only);
}

TEST(BookMarkers, FillsResultsTablesAndTheRunLine) {
  const FillReport report = fill_fixture(read_text(kFixtures + "/07-fixture.md"), false);
  ASSERT_TRUE(report.errors.empty()) << report.errors.front();
  EXPECT_EQ(report.markers, 4);
  EXPECT_EQ(report.changed, 4);
  const std::string& text = report.text;
  EXPECT_NE(text.find("<!-- result ch07.accuracy -->91.7<!-- /result -->% with a bound of\n"
                      "<!-- result ch07.bound -->0.99999<!-- /result -->."),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("<!-- table ch07.epochs -->\n| epoch | loss |\n|---|---|\n| 1 | 0.52 |\n"
                      "| 2 | 0.31 |\n<!-- /table -->\n"),
            std::string::npos)
      << text;
  // The stale run line now names the run: program, threads (the default), seed, machine, commit.
  EXPECT_EQ(text.find("stale run"), std::string::npos);
  EXPECT_NE(text.find("<!-- run ch07 -->Numbers from a full run of `ch07_lipschitz`: 2 threads "
                      "(the default), seed 0, Test CPU @ 1.00GHz (2 cores), 2025-01-02, commit "
                      "abc1234.<!-- /run -->"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("<!-- a plain comment stays -->"), std::string::npos);
  // Filling again changes nothing: the markers hold what the results say.
  const FillReport again = fill_fixture(text, false);
  EXPECT_EQ(again.text, text);
  EXPECT_EQ(again.changed, 0);
}

TEST(BookMarkers, AMissingKeyFailsNamingTheMarkerAndFile) {
  const std::string text = "line one\nSee <!-- result ch07.renamed_key -->5<!-- /result -->.\n";
  for (bool check_only : {false, true}) {
    const FillReport report = fill_fixture(text, check_only);
    ASSERT_EQ(report.errors.size(), 1u);
    const std::string& error = report.errors[0];
    EXPECT_NE(error.find("07-fixture.md:2:"), std::string::npos) << error;
    EXPECT_NE(error.find("<!-- result ch07.renamed_key -->"), std::string::npos) << error;
    EXPECT_NE(error.find("ch07_results.json has no result \"renamed_key\""), std::string::npos)
        << error;
    EXPECT_EQ(report.text, text);  // the marker keeps its old content
  }
  // A table name is looked up among the tables, not the results.
  const FillReport table = fill_fixture("<!-- table ch07.accuracy -->\n<!-- /table -->\n", true);
  ASSERT_EQ(table.errors.size(), 1u);
  EXPECT_NE(table.errors[0].find("has no table \"accuracy\""), std::string::npos);
}

TEST(BookMarkers, CheckModeReportsButDoesNotRewrite) {
  const std::string text = read_text(kFixtures + "/07-fixture.md");
  const FillReport report = fill_fixture(text, true);
  EXPECT_TRUE(report.errors.empty());
  EXPECT_EQ(report.text, text);
  EXPECT_EQ(report.changed, 4);  // it still counts what an update would change
}

TEST(BookMarkers, MalformedMarkersAndMissingChaptersAreErrors) {
  FillReport unclosed = fill_fixture("a\n<!-- result ch07.accuracy -->91.7 and no end\n", false);
  ASSERT_EQ(unclosed.errors.size(), 1u);
  EXPECT_NE(unclosed.errors[0].find("07-fixture.md:2: <!-- result ch07.accuracy --> has no "
                                    "<!-- /result -->"),
            std::string::npos)
      << unclosed.errors[0];
  EXPECT_EQ(unclosed.text, "a\n<!-- result ch07.accuracy -->91.7 and no end\n");

  FillReport no_key = fill_fixture("<!-- result ch07 -->1<!-- /result -->", false);
  ASSERT_EQ(no_key.errors.size(), 1u);
  EXPECT_NE(no_key.errors[0].find("expected chapter.key"), std::string::npos);

  // Another chapter's marker with no results file: one error, at its first marker.
  FillReport other = fill_fixture(
      "<!-- result ch03.loss -->1<!-- /result --> <!-- result ch03.acc -->2<!-- /result -->", false);
  ASSERT_EQ(other.errors.size(), 1u);
  EXPECT_NE(other.errors[0].find("no results for ch03"), std::string::npos);
}

// The benchmark tables (source "bench", bench/run.sh) sit beside the chapter's numbers: --only
// picks one source and leaves the other's markers as they are; a source whose results are absent
// (lookup returns nullptr: update_book without --check) is kept, not an error.
TEST(BookMarkers, OnlyOneSourceAndAbsentSourcesAreLeftAlone) {
  const ChapterResults chapter = load_chapter_results(kFixtures, "ch07");
  ChapterResults bench;
  bench.path = "out/bench_results.json";
  bench.tables["node"] = "| workload | ratio |\n|---|---|\n| rk4 | 0.61 |";
  const std::string text =
      "<!-- result ch07.accuracy -->old<!-- /result -->\n<!-- table bench.node -->\nold\n<!-- /table -->\n";
  auto with_bench = [&](const std::string& source) -> const ChapterResults* {
    return source == "bench" ? &bench : &chapter;
  };
  const FillReport only_bench = fill_markers(text, "08.md", with_bench, false, "bench");
  EXPECT_TRUE(only_bench.errors.empty());
  EXPECT_EQ(only_bench.markers, 2);
  EXPECT_EQ(only_bench.kept, 1);
  EXPECT_EQ(only_bench.text,
            "<!-- result ch07.accuracy -->old<!-- /result -->\n<!-- table bench.node -->\n"
            "| workload | ratio |\n|---|---|\n| rk4 | 0.61 |\n<!-- /table -->\n");
  const FillReport only_chapter = fill_markers(text, "08.md", with_bench, false, "ch07");
  EXPECT_EQ(only_chapter.kept, 1);
  EXPECT_EQ(only_chapter.text.substr(0, 50), "<!-- result ch07.accuracy -->91.7<!-- /result -->\n");

  auto bench_absent = [&](const std::string& source) -> const ChapterResults* {
    return source == "bench" ? nullptr : &chapter;
  };
  const FillReport absent = fill_markers(text, "08.md", bench_absent, false);
  EXPECT_TRUE(absent.errors.empty());
  EXPECT_EQ(absent.kept, 1);
  EXPECT_NE(absent.text.find("<!-- table bench.node -->\nold\n<!-- /table -->"), std::string::npos);
  // "bench" is the only source name besides chNN.
  const FillReport unknown =
      fill_markers("<!-- table benches.node -->\n<!-- /table -->", "08.md", with_bench, true);
  ASSERT_EQ(unknown.errors.size(), 1u);
  EXPECT_NE(unknown.errors[0].find("expected chapter.key"), std::string::npos);
}

TEST(BookMarkers, ResultsFileErrorsNameTheFile) {
  try {
    load_chapter_results(kFixtures, "ch99");
    FAIL() << "a missing results file must throw";
  } catch (const stablenn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("ch99_results.json: no such file"), std::string::npos);
  }
  const std::string dir = ::testing::TempDir() + "book_markers_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  stablenn::write_file_atomic(dir + "/ch05_results.json", "{\"results\": {}}");
  try {
    load_chapter_results(dir, "ch05");
    FAIL() << "a results file without \"run\" must throw";
  } catch (const stablenn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("ch05_results.json: no \"run\""), std::string::npos)
        << e.what();
  }
  std::filesystem::remove_all(dir);
}

// The harness's side: what a cell records is what the book gets, formatted as asked.
TEST(BookMarkers, HarnessResultsRoundTrip) {
  stablenn::notebook::Context ctx;
  ctx.out_dir = ::testing::TempDir() + "book_results_" + std::to_string(::getpid());
  ctx.result("clean_accuracy.resnet", 88.2549, "%.1f");
  ctx.result_text("wrong", "1,042");
  ctx.result_table("epochs", "| a |\n|---|\n| \"q\" |\n\n");
  EXPECT_THROW(ctx.result("Bad Key", 1.0, "%g"), stablenn::Error);
  EXPECT_THROW(ctx.result_text("x", "two\nlines"), stablenn::Error);

  stablenn::notebook::RunDescription run;
  run.chapter = 8;
  run.program = "ch08_robustness";
  run.smoke = true;
  run.threads = 2;
  stablenn::notebook::describe_machine(run);
  EXPECT_FALSE(run.cpu.empty());
  EXPECT_GT(run.cores, 0);
  EXPECT_EQ(run.date.size(), 20u);  // 2025-01-02T03:04:05Z
  EXPECT_EQ(stablenn::notebook::write_results(run, ctx), ctx.out_dir + "/ch08_results.json");

  const ChapterResults loaded = load_chapter_results(ctx.out_dir, "ch08");
  EXPECT_TRUE(loaded.smoke);
  EXPECT_EQ(loaded.results.at("clean_accuracy.resnet"), "88.3");
  EXPECT_EQ(loaded.results.at("wrong"), "1,042");
  EXPECT_EQ(loaded.tables.at("epochs"), "| a |\n|---|\n| \"q\" |");
  EXPECT_NE(loaded.run_line.find("--smoke run of `ch08_robustness`: 2 threads (the default)"),
            std::string::npos)
      << loaded.run_line;
  std::filesystem::remove_all(ctx.out_dir);
}

}  // namespace
