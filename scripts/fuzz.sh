#!/usr/bin/env bash
# scripts/fuzz.sh — builds the libFuzzer targets (fuzz/) with clang, AddressSanitizer and UBSan in
# build-fuzz/, then runs each one for a while on its seed corpus (written at build time by
# fuzz/make_seeds with stablenn's own writers). Exits non-zero when a target finds a crash.
#
#   scripts/fuzz.sh --seconds 20       each target 20 s (what .ci/run does)
#   scripts/fuzz.sh --minutes 10       each target 10 minutes
#   options: --target NAME (repeatable: idx, cifar, checkpoint, image, json, args; default all),
#            --jobs N (build jobs, default nproc), --build-dir DIR (default build-fuzz)
# Findings land in build-fuzz/fuzz/findings/<target>/ (crash-*, leak-*, timeout-*): turn each
# into a regression test in tests/ (see tests/ch03_io_untrusted_test.cpp) before fixing it.
# New interesting inputs are kept in build-fuzz/fuzz/corpus/<target>/, so later runs start there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds=""
targets=()
jobs="$(nproc 2>/dev/null || echo 2)"
build_dir="$ROOT/build-fuzz"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds|--minutes)
      [[ "${2:-}" =~ ^[1-9][0-9]{0,5}$ ]] ||
        { echo "fuzz.sh: $1 needs a whole number from 1 to 999999, got '${2:-}'" >&2; exit 2; }
      if [[ "$1" == --minutes ]]; then seconds=$(($2 * 60)); else seconds=$2; fi
      shift ;;
    --target)
      case "${2:-}" in
        idx|cifar|checkpoint|image|json|args) targets+=("$2") ;;
        *) echo "fuzz.sh: unknown --target '${2:-}' (known: idx cifar checkpoint image json args)" >&2; exit 2 ;;
      esac
      shift ;;
    --jobs)
      [[ "${2:-}" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "fuzz.sh: --jobs needs a positive number, got '${2:-}'" >&2; exit 2; }
      jobs=$2; shift ;;
    --build-dir) build_dir="${2:?fuzz.sh: --build-dir needs a folder}"; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -n "$seconds" ]] || { echo "fuzz.sh: say how long: --seconds N or --minutes N" >&2; exit 2; }
[[ ${#targets[@]} -gt 0 ]] || targets=(idx cifar checkpoint image json args)

"$ROOT/scripts/setup.sh" --fuzz --no-build
launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache); fi
cmake -S "$ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DSTABLENN_FUZZ=ON -DSTABLENN_TESTS=OFF "${launcher[@]}" >/dev/null
cmake --build "$build_dir" -j "$jobs" --target fuzz_targets

# Findings stop a target: crashes, sanitizer reports, leaks, and allocations beyond -rss_limit_mb.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
fuzz_dir="$build_dir/fuzz"
failed=()
summary=()
for target in "${targets[@]}"; do
  corpus="$fuzz_dir/corpus/$target"
  findings="$fuzz_dir/findings/$target"
  mkdir -p "$corpus" "$findings"
  log="$fuzz_dir/fuzz_$target.log"
  echo "---- fuzz_$target for $seconds s (log: $log)"
  status=0
  # -timeout: one input may take at most 10 s (a hang is a finding); -rss_limit_mb: memory too.
  "$fuzz_dir/fuzz_$target" "$corpus" "$fuzz_dir/seeds/$target" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2560 -max_len=65536 -artifact_prefix="$findings/" \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  summary+=("fuzz_$target: ${runs:-?} executions, ${rate:-?}/s, exit status $status")
  if [[ $status -ne 0 ]]; then
    failed+=("$target")
    tail -n 40 "$log" >&2
  fi
done
echo ""
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: findings in: ${failed[*]} (inputs under $fuzz_dir/findings/)" >&2
  exit 1
fi
echo "fuzz.sh: no findings"
