#!/usr/bin/env bash
# scripts/update_book.sh — copies the chapter programs' and the benchmarks' numbers into the book
# (issue 16). The book's quoted numbers sit between markers (tools/book_markers.h); this builds
# tools/update_book.cpp and fills the markers of book/NN-*.md from DIR/chNN_results.json, which
# the chapter programs write at the end of a run, and the bench.* markers from
# DIR/bench_results.json, which bench/run.sh writes (default DIR: out).
#
#   build/notebooks_cpp/ch03_training --out out    # a full run at the default thread count
#   bench/run.sh node                              # the benchmark tables (here: chapter 5's)
#   scripts/update_book.sh [--out DIR] [--check] [book/03-training.md ...]
#
# Without book files, every book with a results file in DIR is updated. --check writes
# nothing and only verifies that each marker has a result (ctest's book_* tests do this).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="out"
tool_args=()
books=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out)
      [[ $# -ge 2 ]] || { echo "update_book.sh: --out expects a folder" >&2; exit 2; }
      out="$2"; shift 2 ;;
    --check|--allow-smoke) tool_args+=("$1"); shift ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "update_book.sh: unknown flag '$1' (expected --out DIR, --check, --allow-smoke)" >&2; exit 2 ;;
    *) books+=("$1"); shift ;;
  esac
done
if [[ ! -d "$out" ]]; then
  echo "update_book.sh: --out: '$out' is not a folder (run a chapter program with --out $out first)" >&2
  exit 2
fi
if [[ ${#books[@]} -eq 0 ]]; then
  for results in "$out"/ch[0-9][0-9]_results.json; do
    [[ -f "$results" ]] || continue
    number="$(basename "$results")"; number="${number:2:2}"
    for book in "$ROOT"/book/"$number"-*.md; do [[ -f "$book" ]] && books+=("$book"); done
  done
  if [[ -f "$out/bench_results.json" ]]; then  # the books that quote a benchmark
    while IFS= read -r book; do
      [[ " ${books[*]:-} " == *" $book "* ]] || books+=("$book")
    done < <(grep -l -- '<!-- [a-z]* bench\.' "$ROOT"/book/*.md)
  fi
  if [[ ${#books[@]} -eq 0 ]]; then
    echo "update_book.sh: no chNN_results.json or bench_results.json in '$out' (run a chapter" \
      "program or bench/run.sh with --out $out)" >&2
    exit 2
  fi
fi

build="$ROOT/build"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$ROOT" -B "$build" -DCMAKE_BUILD_TYPE=Release > /dev/null
fi
cmake --build "$build" --target update_book > /dev/null
"$build/tools/update_book" --results "$out" "${tool_args[@]}" "${books[@]}"
