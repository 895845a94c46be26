#!/usr/bin/env bash
# scripts/run_tests.sh — the README's second command: installs what is missing, builds and runs the
# whole GoogleTest suite (ctest --output-on-failure). Exits non-zero when any test fails.
#
#   scripts/run_tests.sh               Release build in build/, all tests
#   scripts/run_tests.sh --sanitize    AddressSanitizer + UBSan build in build-asan/, all tests
#   scripts/run_tests.sh -L ch01       extra arguments go to ctest (here: chapter 1's tests only)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/sanitizer_env.sh
source "$ROOT/scripts/sanitizer_env.sh"

setup_args=()
ctest_args=()
build_dir="$ROOT/build"
if [[ "${1:-}" == "--sanitize" ]]; then
  shift
  setup_args+=(--sanitize)
  build_dir="$ROOT/build-asan"
  # Only what runs under the sanitizers (the tests, and the chapter programs .ci/run smoke-tests),
  # not the benchmarks: about a tenth less to compile. Target names mirror CMake's globs.
  for source in "$ROOT"/tests/ch*_*.cpp "$ROOT"/notebooks_cpp/ch*_*.cpp; do
    # *_gpu_test.cpp exist only in the CUDA build (tests/CMakeLists.txt), which this is not.
    if [[ -f "$source" && "$source" != *_gpu_test.cpp ]]; then
      setup_args+=(--target "$(basename "$source" .cpp)")
    fi
  done
  # The book tests (book_chNN) run each chapter program, then tools/update_book --check.
  setup_args+=(--target update_book)
  export_sanitizer_env
  ctest_args+=(-LE bench)  # book_bench runs the benchmarks, which this build does not have
fi
"$ROOT/scripts/setup.sh" "${setup_args[@]}"
jobs="$(nproc 2>/dev/null || echo 2)"
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error --timeout 300 -j "$jobs" \
  "${ctest_args[@]}" "$@"
