#!/usr/bin/env bash
# scripts/check_book.sh — the book quotes what its programs record (issue 16; ctest book_*).
#   scripts/check_book.sh PROGRAM UPDATE_BOOK BOOK_FILE OUT_DIR
#     runs the chapter program with --smoke into OUT_DIR (emptied first), then
#     `update_book --check --only chNN`: every chNN marker of BOOK_FILE must name a result of the run;
#   scripts/check_book.sh --bench BUILD_DIR UPDATE_BOOK OUT_DIR
#     runs our side of every benchmark with --quick (bench/run.sh --no-twins, bench/bench_load.sh,
#     bench/bench_gemm_efficiency.sh),
#     then `update_book --check --only bench` on every book: each bench.* marker must name a table
#     or result the benchmarks record.
# Exits non-zero, with the marker, file and line, when one does not.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage="usage: check_book.sh PROGRAM UPDATE_BOOK BOOK_FILE OUT_DIR | --bench BUILD_DIR UPDATE_BOOK OUT_DIR"
if [[ "${1:-}" == "--bench" && $# -eq 4 ]]; then
  build="$2" tool="$3" out="$4"
  rm -rf "$out"
  mkdir -p "$out"
  # The benchmarks' output goes to a log, shown only when they fail.
  if ! { "$ROOT/bench/run.sh" --quick --no-twins --build "$build" --out "$out" &&
         "$ROOT/bench/bench_load.sh" --quick --build "$build" --out "$out" &&
         "$ROOT/bench/bench_gemm_efficiency.sh" --quick --build "$build" --out "$out"; } > "$out/run.log" 2>&1; then
    cat "$out/run.log" >&2
    echo "check_book: the benchmarks failed with --quick (log above)" >&2
    exit 1
  fi
  "$tool" --check --only bench --results "$out" "$ROOT"/book/[0-9A-Z]*.md
  exit 0
fi
if [[ $# -ne 4 ]]; then
  echo "$usage" >&2
  exit 2
fi
program="$1" tool="$2" book="$3" out="$4"
rm -rf "$out"
mkdir -p "$out"
# The program's output goes to a log, shown only when it fails: the check's own lines matter.
if ! "$program" --smoke --out "$out" > "$out/run.log" 2>&1; then
  cat "$out/run.log" >&2
  echo "check_book: $program --smoke --out $out failed (log above)" >&2
  exit 1
fi
# Only this chapter's markers: the book's benchmark tables (bench.*) are checked by book_bench.
chapter="$(basename "$program")"
"$tool" --check --only "${chapter:0:4}" --results "$out" "$book"
