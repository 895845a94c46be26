#!/usr/bin/env bash
# scripts/check_book.sh — the book quotes what its chapter program records (issue 16; ctest book_chNN).
# Runs the program with --smoke into OUT_DIR (emptied first), then `update_book --check`: every
# <!-- result/table/run --> marker of BOOK_FILE must name a result of the run. Exits non-zero, with
# the marker, file and line, when one does not.
#   scripts/check_book.sh PROGRAM UPDATE_BOOK BOOK_FILE OUT_DIR
set -euo pipefail
if [[ $# -ne 4 ]]; then
  echo "usage: check_book.sh PROGRAM UPDATE_BOOK BOOK_FILE OUT_DIR" >&2
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
"$tool" --check --results "$out" "$book"
